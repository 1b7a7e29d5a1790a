"""The rules of the OpenID Connect provider: which clients and redirect URIs are allowed, how
clients authenticate, single-use codes, access tokens, consent, where a sign-in may return to,
and how the end of a face_auth session ends what it delegated to applications.

The protocol machinery (request parsing, grants, ID-token encoding) is Authlib's, driven from
the controller/oidc package; the protocol's rules read here once: which grants and response
types, which client authentication each endpoint accepts, PKCE (S256 only), when `state` is
required, what an authorization request may carry, and the lifetimes of codes and tokens.
Everything the provider stores or decides goes through here.
"""

import hashlib
import ipaddress
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from face_auth.business_val.oidc.signing_keys import ALGORITHMS, DEFAULT_ALGORITHM
from face_auth.data_access import AuditRepository, UserRepository
from face_auth.data_access.oidc_repository import (
    AccessTokenRepository,
    AuthorizationCodeRepository,
    ConsentRepository,
    OAuthClientRepository,
    RefreshTokenRepository,
)
from face_auth.entity import User
from face_auth.entity.oidc import (
    AccessToken,
    AuthorizationCode,
    ConsentGrant,
    OAuthClient,
    RefreshToken,
)
from face_auth.exception import InvalidInput, NotFound
from face_auth.logger import get_logger, log_event
from face_auth.utils import constant_time_equals, utc_now

logger = get_logger(__name__)

AUTHORIZE_PATH = "/oauth2/authorize"
OFFLINE_ACCESS = "offline_access"
SUPPORTED_SCOPES = ("openid", "profile", "email", OFFLINE_ACCESS)
# What the consent page says each scope gives the application.
SCOPE_DESCRIPTIONS = {
    "openid": "that you signed in with your password and your face, and a stable account id",
    "profile": "your name and username",
    "email": "your email address",
    OFFLINE_ACCESS: "access to these while you are signed out (until you revoke it here, sign "
    "out of the device you signed in on, or change your password)",
}
# The acr of every sign-in here: two factors (password, face). The PAPE multi-factor policy
# URI is the value relying parties commonly check for.
ACR_MULTI_FACTOR = "http://schemas.openid.net/pape/policies/2007/06/multi-factor"
PKCE_METHOD = "S256"
# How clients authenticate at the token endpoint (RFC 6749 2.3.1, OpenID Connect Core 9): a
# confidential client with its secret, in the Authorization header or in the form body; a
# public client does not authenticate (`none`) and is held to PKCE instead.
SECRET_AUTH_METHODS = ("client_secret_basic", "client_secret_post")
PUBLIC_AUTH_METHOD = "none"
TOKEN_ENDPOINT_AUTH_METHODS = (*SECRET_AUTH_METHODS, PUBLIC_AUTH_METHOD)
# Each endpoint that authenticates clients, and how (discovery publishes the same lists):
# revocation as the token endpoint; introspection for confidential clients only.
ENDPOINT_AUTH_METHODS: Mapping[str, tuple[str, ...]] = {
    "token": TOKEN_ENDPOINT_AUTH_METHODS,
    "revocation": TOKEN_ENDPOINT_AUTH_METHODS,
    "introspection": SECRET_AUTH_METHODS,
}
RESPONSE_TYPE = "code"
GRANT_TYPES = ("authorization_code", "refresh_token")
ID_TOKEN_ALGORITHMS = ALGORITHMS
MAX_NAME_CHARS = 100
MAX_URI_CHARS = 2000
MAX_RETURN_TO_CHARS = 4096
MAX_SECONDS_DIGITS = 10


def token_hash(value: str) -> str:
    """How codes, access tokens and client secrets are stored: all are 256-bit random values,
    so a fast hash suffices (there is nothing to brute-force)."""
    return hashlib.sha256(value.encode()).hexdigest()


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# Whitespace and control characters, and the backslash browsers read as a slash.
_UNSAFE_CHARS = frozenset([chr(code) for code in range(0x21)] + ["\x7f", "\\"])


def _has_unsafe_char(value: str) -> bool:
    return any(char in _UNSAFE_CHARS for char in value)


def redirect_uri_problem(uri: str) -> str | None:
    """Why a redirect URI cannot be registered, or None: absolute https, or http on the
    loopback interface only (RFC 8252 7.3); no fragment, no user info."""
    if not uri or len(uri) > MAX_URI_CHARS or _has_unsafe_char(uri):
        return "must be an absolute URI without spaces"
    try:
        parts = urlsplit(uri)
        host = parts.hostname
    except ValueError:
        return "is not a valid URI"
    problems = [
        (parts.scheme not in ("https", "http") or not host, "must be an absolute https URI"),
        (
            parts.scheme == "http" and not is_loopback_host(host),
            "must use https (http only on the loopback interface: localhost, 127.0.0.1, ::1)",
        ),
        (bool(parts.fragment) or "#" in uri, "must not have a fragment"),
        (parts.username is not None or parts.password is not None, "must not have user info"),
    ]
    return next((problem for failed, problem in problems if failed), None)


def origin_problem(origin: str) -> str | None:
    """Why a web origin cannot be allowed for CORS, or None: `scheme://host[:port]` exactly,
    https, or http on the loopback interface."""
    problem = redirect_uri_problem(origin)
    if problem:
        return problem
    parts = urlsplit(origin)
    if parts.path or parts.query or origin.endswith(("?", "/")) or origin != origin.lower():
        return "must be an origin: scheme://host[:port], lower case, nothing after"
    return None


def safe_return_to(value: str | None) -> str | None:
    """Where the sign-in pages may send the user after both factors: a relative path to the
    authorization endpoint, with its query, and nothing else (no scheme, host, `//`,
    backslash or control character that a browser could read as another site)."""
    if not value or len(value) > MAX_RETURN_TO_CHARS or _has_unsafe_char(value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme or parts.netloc or parts.fragment or parts.path != AUTHORIZE_PATH:
        return None
    return value


def client_auth_methods(client: OAuthClient) -> tuple[str, ...]:
    """The ways this client may authenticate at the token endpoint."""
    return (PUBLIC_AUTH_METHOD,) if client.public else SECRET_AUTH_METHODS


def state_problem(state: str | None, code_challenge_method: str | None) -> str | None:
    """Why an authorization request's `state` is not acceptable, or None. The client's callback
    needs protection from forged responses: PKCE S256 gives it (OAuth 2.1 4.1.1, RFC 9700
    2.1), so `state` is then optional (and echoed when sent); without PKCE it is required."""
    if state or code_challenge_method == PKCE_METHOD:
        return None
    return "The 'state' parameter is required without PKCE (S256)."


def pkce_problem(code_challenge: str | None, code_challenge_method: str | None) -> str | None:
    """Why an authorization request's PKCE is not acceptable, or None: every client sends a
    code challenge, by S256 only (RFC 9700 2.1.1: no "plain")."""
    if not code_challenge:
        return "PKCE is required: send a 'code_challenge' (S256)."
    if code_challenge_method != PKCE_METHOD:
        return "'code_challenge_method' must be S256."
    return None


@dataclass(frozen=True)
class RequestProblem:
    """Why an authorization request is refused: the OAuth error code, and what to tell."""

    error: str
    message: str


def authorization_request_problem(params: Mapping[str, str]) -> RequestProblem | None:
    """Our own rules on an authorization request's parameters, or None when it passes: no
    request objects (discovery says so), `state` unless PKCE S256 protects the callback
    (state_problem), a well-formed `max_age`, and `openid` among the scopes (this is an
    OpenID Connect provider)."""
    if "request" in params:
        return RequestProblem(
            "request_not_supported", "Request objects ('request') are not supported."
        )
    if "request_uri" in params:
        return RequestProblem("request_uri_not_supported", "'request_uri' is not supported.")
    problem = state_problem(params.get("state"), params.get("code_challenge_method"))
    if problem:
        return RequestProblem("invalid_request", problem)
    try:
        parse_max_age(params.get("max_age"))
    except ValueError as error:
        return RequestProblem("invalid_request", str(error))
    if "openid" not in (params.get("scope") or "").split():
        return RequestProblem("invalid_scope", "The 'openid' scope is required.")
    return None


def parse_max_age(value: str | None) -> int | None:
    """The request's `max_age` (OpenID Connect Core 3.1.2.1): seconds, 0 or more; ValueError
    when it is not such a number."""
    if value is None or value == "":
        return None
    if not value.isascii() or not value.isdigit() or len(value) > MAX_SECONDS_DIGITS:
        raise ValueError("'max_age' must be a number of seconds.")
    return int(value)


def must_sign_in_again(
    *,
    prompts: set[str],
    max_age: int | None,
    auth_time: datetime,
    sent_to_sign_in_at: str | None,
    now: datetime,
) -> bool:
    """Whether the user must authenticate again (password and face) before this authorization
    request is answered: `prompt=login`, or a sign-in older than `max_age` (OpenID Connect Core
    3.1.2.1). When this request already sent the user to sign in (`sent_to_sign_in_at`, Unix
    seconds), a sign-in since then answers both, and only such a sign-in does. The ID token's
    auth_time is always the sign-in's own time."""
    try:
        sent_at = parse_max_age(sent_to_sign_in_at)
    except ValueError:
        sent_at = None
    if sent_at is not None:
        return int(auth_time.timestamp()) < sent_at
    if "login" in prompts:
        return True
    return max_age is not None and (now - auth_time).total_seconds() > max_age


def scopes_of(scope: str | None) -> tuple[str, ...]:
    """The requested scopes we know, in our order (unknown ones are refused before this)."""
    requested = set((scope or "").split())
    return tuple(name for name in SUPPORTED_SCOPES if name in requested)


@dataclass(frozen=True)
class OidcPolicy:
    code_lifetime: timedelta
    access_token_lifetime: timedelta
    id_token_lifetime: timedelta
    refresh_token_lifetime: timedelta

    @property
    def access_token_seconds(self) -> int:
        """The access token's `expires_in` (and its stored end, from the same lifetime)."""
        return int(self.access_token_lifetime.total_seconds())

    def id_token_expiry(self, issued_at: int) -> int:
        """An ID token's `exp`, for its `iat` (Unix seconds)."""
        return issued_at + int(self.id_token_lifetime.total_seconds())


@dataclass(frozen=True)
class NewClient:
    client: OAuthClient
    secret: str | None  # shown once; only its hash is kept


@dataclass(frozen=True)
class LogoutRequest:
    """A valid RP-initiated logout: which client asked, where to send the user back (None:
    stay on face_auth), and whose ID token it presented (None: the user must confirm)."""

    client: OAuthClient | None
    redirect_uri: str | None
    subject: str | None


@dataclass(frozen=True)
class AuthorizedUser:
    """The signed-in user the authorization endpoint acts for, with when and how they
    authenticated (the full session's issue time and factors)."""

    user: User
    auth_time: datetime
    amr: tuple[str, ...]
    session_id: str


class OidcRevocation:
    """What ends with a user's face_auth sessions: the codes not yet exchanged and the access
    tokens that those sessions obtained for applications. Called by the session rules
    (TokenService) and by account erasure, so that logout, sign out everywhere, a password
    change, a face reset or deletion and account deletion reach OpenID Connect too."""

    def __init__(
        self,
        codes: AuthorizationCodeRepository,
        tokens: AccessTokenRepository,
        refresh_tokens: RefreshTokenRepository,
        audit: AuditRepository,
    ) -> None:
        self._codes = codes
        self._tokens = tokens
        self._refresh_tokens = refresh_tokens
        self._audit = audit

    def end_session(self, user_id: str, session_id: str) -> int:
        """What one session (a jti) obtained; returns how many codes and tokens ended."""
        return self._end(user_id, session_id)

    def end_all(self, user_id: str) -> int:
        """What every session of the user obtained."""
        return self._end(user_id, None)

    def _end(self, user_id: str, session_id: str | None) -> int:
        now = utc_now()
        codes = self._codes.delete_unused(user_id=user_id, session_id=session_id)
        tokens = self._tokens.revoke_for_user(user_id, now, session_id)
        tokens += self._refresh_tokens.revoke_for_user(user_id, now, session_id)
        if codes or tokens:
            self._audit.record("oidc_tokens_revoked", now, user_id,
                               codes_ended=codes, tokens_revoked=tokens)  # fmt: skip
            log_event(logger, "oidc_tokens_revoked", user_id=user_id, codes_ended=codes,
                      tokens_revoked=tokens)  # fmt: skip
        return codes + tokens


class OidcService:
    def __init__(
        self,
        *,
        clients: OAuthClientRepository,
        codes: AuthorizationCodeRepository,
        tokens: AccessTokenRepository,
        refresh_tokens: RefreshTokenRepository,
        consents: ConsentRepository,
        users: UserRepository,
        audit: AuditRepository,
        policy: OidcPolicy,
    ) -> None:
        self._clients = clients
        self._codes = codes
        self._tokens = tokens
        self._refresh_tokens = refresh_tokens
        self._consents = consents
        self._users = users
        self._audit = audit
        self.policy = policy

    # Clients (`face-auth clients ...`)

    def add_client(
        self,
        name: str,
        redirect_uris: list[str],
        public: bool,
        id_token_alg: str = DEFAULT_ALGORITHM,
        allowed_origins: list[str] | None = None,
        post_logout_redirect_uris: list[str] | None = None,
    ) -> NewClient:
        errors: dict[str, str] = {}
        clean_name = " ".join(name.split())
        if not clean_name or len(clean_name) > MAX_NAME_CHARS:
            errors["name"] = f"Give the client a name of 1 to {MAX_NAME_CHARS} characters."
        if not redirect_uris:
            errors["redirect_uri"] = "Register at least one redirect URI."
        for uri in redirect_uris:
            problem = redirect_uri_problem(uri)
            if problem:
                errors["redirect_uri"] = f"{uri!r} {problem}."
        for uri in post_logout_redirect_uris or []:
            problem = redirect_uri_problem(uri)
            if problem:
                errors["post_logout_redirect_uri"] = f"{uri!r} {problem}."
        for origin in allowed_origins or []:
            problem = origin_problem(origin)
            if problem:
                errors["allowed_origin"] = f"{origin!r} {problem}."
        if id_token_alg not in ID_TOKEN_ALGORITHMS:
            errors["id_token_alg"] = f"Sign ID tokens with one of {', '.join(ID_TOKEN_ALGORITHMS)}."
        if errors:
            raise InvalidInput(errors)
        secret = None if public else secrets.token_urlsafe(32)
        client = OAuthClient(
            # Hex: a client id never starts with "-", which a command line would take for a flag.
            client_id=secrets.token_hex(16),
            name=clean_name,
            redirect_uris=tuple(dict.fromkeys(redirect_uris)),
            public=public,
            secret_hash=token_hash(secret) if secret else None,
            created_at=utc_now(),
            id_token_signed_response_alg=id_token_alg,
            allowed_origins=tuple(dict.fromkeys(allowed_origins or [])),
            post_logout_redirect_uris=tuple(dict.fromkeys(post_logout_redirect_uris or [])),
        )
        self._clients.add(client)
        self._audit.record("oidc_client_added", utc_now(), client_id=client.client_id)
        log_event(logger, "oidc_client_added", client_id=client.client_id, public=public)
        return NewClient(client=client, secret=secret)

    def list_clients(self) -> list[OAuthClient]:
        return self._clients.list()

    def remove_client(self, client_id: str) -> None:
        """Remove the client with its codes, tokens and every user's consent to it."""
        if not self._clients.remove(client_id):
            raise NotFound(f"No client with id {client_id}.")
        self._codes.delete_for_client(client_id)
        self._tokens.delete_for_client(client_id)
        self._refresh_tokens.delete_for_client(client_id)
        self._consents.delete_for_client(client_id)
        self._audit.record("oidc_client_removed", utc_now(), client_id=client_id)
        log_event(logger, "oidc_client_removed", client_id=client_id)

    def client(self, client_id: str | None) -> OAuthClient | None:
        if not client_id or len(client_id) > MAX_NAME_CHARS:
            return None
        return self._clients.get(client_id)

    @staticmethod
    def check_client_secret(client: OAuthClient, secret: str) -> bool:
        if client.public or client.secret_hash is None or len(secret) > MAX_URI_CHARS:
            return False
        return constant_time_equals(token_hash(secret), client.secret_hash)

    def logout_request(
        self, hint_claims: dict[str, object] | None, client_id: str | None, redirect_uri: str | None
    ) -> "LogoutRequest":
        """RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0, 2 and 3): the client is
        the ID token hint's audience or `client_id` (the same one when both are sent); a
        `post_logout_redirect_uri` only if registered for it, exactly. InvalidInput otherwise:
        the user is then never redirected."""
        audience = hint_claims.get("aud") if hint_claims else None
        if isinstance(audience, list):
            audience = audience[0] if len(audience) == 1 else None
        if hint_claims is not None and not isinstance(audience, str):
            raise InvalidInput({"id_token_hint": "The ID token names no single audience."})
        if audience and client_id and audience != client_id:
            raise InvalidInput({"client_id": "The client is not the ID token's audience."})
        client = self.client(audience or client_id) if (audience or client_id) else None
        if (audience or client_id) and client is None:
            raise InvalidInput({"client_id": "No such client."})
        if redirect_uri and (
            client is None or redirect_uri not in client.post_logout_redirect_uris
        ):
            raise InvalidInput(
                {"post_logout_redirect_uri": "Not a registered post-logout redirect URI."}
            )
        subject = hint_claims.get("sub") if hint_claims else None
        return LogoutRequest(
            client=client,
            redirect_uri=redirect_uri or None,
            subject=subject if isinstance(subject, str) else None,
        )

    def cors_allowed(self, origin: str | None, client: OAuthClient | None) -> bool:
        """Whether a page of `origin` may read this response: the client's own allowed
        origins, or (when the request names no client yet, as a preflight) any client's."""
        if not origin or len(origin) > MAX_URI_CHARS:
            return False
        if client is not None:
            return origin in client.allowed_origins
        return self._clients.origin_registered(origin)

    @staticmethod
    def may_authenticate_with(client: OAuthClient, method: str) -> bool:
        return method in client_auth_methods(client)

    # Consent

    def consent_page_needed(self, user_id: str, client_id: str, scopes: tuple[str, ...]) -> bool:
        """Whether to ask the user: scopes not yet granted to this client, and offline access
        always (OpenID Connect Core 11: consent to a refresh token is always obtained)."""
        return OFFLINE_ACCESS in scopes or not self.has_consent(user_id, client_id, scopes)

    def has_consent(self, user_id: str, client_id: str, scopes: tuple[str, ...]) -> bool:
        grant = self._consents.get(user_id, client_id)
        return grant is not None and set(scopes) <= set(grant.scopes)

    def grant_consent(self, user_id: str, client: OAuthClient, scopes: tuple[str, ...]) -> None:
        previous = self._consents.get(user_id, client.client_id)
        granted = set(scopes) | set(previous.scopes if previous else ())
        self._consents.save(
            ConsentGrant(
                user_id=user_id,
                client_id=client.client_id,
                client_name=client.name,
                scopes=tuple(name for name in SUPPORTED_SCOPES if name in granted),
                granted_at=utc_now(),
            )
        )
        self._audit.record("oidc_consent_granted", utc_now(), user_id,
                           client_id=client.client_id, scopes=sorted(granted))  # fmt: skip
        log_event(logger, "oidc_consent_granted", user_id=user_id, client_id=client.client_id)

    def granted_applications(self, user_id: str) -> list[ConsentGrant]:
        return self._consents.list_for_user(user_id)

    def revoke_application(self, user_id: str, client_id: str) -> bool:
        """Withdraw the consent and end the application's codes and tokens for this user."""
        removed = self._consents.remove(user_id, client_id)
        self._codes.delete_unused(user_id=user_id, client_id=client_id)
        ended = self._tokens.revoke_for_user(user_id, utc_now(), client_id=client_id)
        ended += self._refresh_tokens.revoke_for_user(user_id, utc_now(), client_id=client_id)
        if removed:
            self._audit.record("oidc_consent_revoked", utc_now(), user_id,
                               client_id=client_id, tokens_revoked=ended)  # fmt: skip
            log_event(logger, "oidc_consent_revoked", user_id=user_id, client_id=client_id)
        return removed

    # Codes

    def save_code(
        self,
        code: str,
        *,
        client_id: str,
        authorized: AuthorizedUser,
        redirect_uri: str,
        scope: str,
        nonce: str | None,
        code_challenge: str,
        code_challenge_method: str,
    ) -> None:
        now = utc_now()
        record = AuthorizationCode(
            code_id=token_hash(code),
            client_id=client_id,
            user_id=authorized.user.id,
            redirect_uri=redirect_uri,
            scope=scope,
            nonce=nonce,
            code_challenge=code_challenge,
            code_challenge_method=code_challenge_method,
            auth_time=authorized.auth_time,
            amr=authorized.amr,
            acr=ACR_MULTI_FACTOR,
            code_expires_at=now + self.policy.code_lifetime,
            session_id=authorized.session_id,
        )
        # The record outlives the code while tokens it bought may live: a second use is then
        # recognised and revokes them.
        keep_until = record.code_expires_at + self.policy.access_token_lifetime
        self._codes.add(record, keep_until)
        self._audit.record("oidc_code_issued", now, authorized.user.id, client_id=client_id)

    def redeem_code(self, code: str, client_id: str) -> AuthorizationCode | None:
        """The code, marked used, when it is this client's, unused and unexpired; else None.
        The first presentation burns the code whoever makes it, so a code another client
        presented (it leaked) is dead for its own client too. A second use of a code revokes
        every token the first one obtained (RFC 6749 4.1.2)."""
        if not code or len(code) > MAX_URI_CHARS:
            return None
        code_id = token_hash(code)
        now = utc_now()
        redeemed = self._codes.redeem(code_id, now)
        if redeemed is not None:
            if redeemed.client_id == client_id:
                return redeemed
            self._audit.record("oidc_code_wrong_client", now, redeemed.user_id,
                               client_id=redeemed.client_id, presented_by=client_id)  # fmt: skip
            log_event(logger, "oidc_code_wrong_client", user_id=redeemed.user_id,
                      client_id=redeemed.client_id, presented_by=client_id)  # fmt: skip
            return None
        known = self._codes.find(code_id)
        if known is not None and known.used_at is not None:
            revoked = self._tokens.revoke_for_code(code_id, now)
            self._audit.record("oidc_code_reused", now, known.user_id,
                               client_id=known.client_id, presented_by=client_id,
                               tokens_revoked=revoked)  # fmt: skip
            log_event(logger, "oidc_code_reused", user_id=known.user_id, client_id=client_id,
                      tokens_revoked=revoked)  # fmt: skip
        return None

    # Access tokens

    def save_tokens(
        self,
        access_token: str,
        refresh_token: str | None,
        *,
        client_id: str,
        user_id: str,
        scope: str,
        code_id: str | None,
        session_id: str | None,
        rotated: RefreshToken | None,
        auth_method: str,
    ) -> None:
        """Store what the token endpoint issued. A refresh token starts a family at the code
        exchange, or continues the family of the one it rotated (same session and end)."""
        now = utc_now()
        family_id = rotated.family_id if rotated else None
        if refresh_token is not None:
            family_id = family_id or secrets.token_hex(16)
            self._refresh_tokens.add(
                RefreshToken(
                    token_id=token_hash(refresh_token),
                    family_id=family_id,
                    client_id=client_id,
                    user_id=user_id,
                    scope=scope,
                    session_id=session_id,
                    issued_at=now,
                    expires_at=rotated.expires_at
                    if rotated
                    else now + self.policy.refresh_token_lifetime,
                )
            )
        self._tokens.add(
            AccessToken(
                token_id=token_hash(access_token),
                client_id=client_id,
                user_id=user_id,
                scope=scope,
                code_id=code_id,
                issued_at=now,
                expires_at=now + self.policy.access_token_lifetime,
                session_id=session_id,
                family_id=family_id,
            )
        )
        self._audit.record("oidc_token_issued", now, user_id,
                           client_id=client_id, auth_method=auth_method)  # fmt: skip

    def access_token(self, access_token: str) -> AccessToken | None:
        if not access_token or len(access_token) > MAX_URI_CHARS:
            return None
        return self._tokens.find_live(token_hash(access_token), utc_now())

    def rotate_refresh_token(self, refresh_token: str, client_id: str) -> RefreshToken | None:
        """The refresh token, marked used, when it is this client's and live; else None. A
        used one presented again, or one presented by another client, has leaked: its whole
        family (refresh and access tokens) is revoked (RFC 9700 4.14.2)."""
        if not refresh_token or len(refresh_token) > MAX_URI_CHARS:
            return None
        token_id = token_hash(refresh_token)
        now = utc_now()
        rotated = self._refresh_tokens.rotate(token_id, now)
        if rotated is not None and rotated.client_id == client_id:
            return rotated
        known = rotated or self._refresh_tokens.find(token_id)
        if known is not None and (rotated is not None or known.used_at is not None):
            self._revoke_family(known.family_id, now)
            self._audit.record("oidc_refresh_token_reused", now, known.user_id,
                               client_id=known.client_id, presented_by=client_id)  # fmt: skip
            log_event(logger, "oidc_refresh_token_reused", user_id=known.user_id,
                      client_id=known.client_id, presented_by=client_id)  # fmt: skip
        return None

    def live_refresh_token(self, refresh_token: str) -> RefreshToken | None:
        if not refresh_token or len(refresh_token) > MAX_URI_CHARS:
            return None
        token = self._refresh_tokens.find(token_hash(refresh_token))
        live = token is not None and token.revoked_at is None and token.used_at is None
        return token if live and token.expires_at > utc_now() else None

    def revoke_refresh_token(self, token: RefreshToken, client_id: str) -> None:
        """RFC 7009 2.1: revoking a refresh token ends its family's access tokens too."""
        if token.client_id == client_id:
            self._revoke_family(token.family_id, utc_now())
            self._audit.record("oidc_token_revoked_by_client", utc_now(), token.user_id,
                               client_id=client_id, refresh_family=True)  # fmt: skip

    def _revoke_family(self, family_id: str, now: datetime) -> None:
        self._refresh_tokens.revoke_family(family_id, now)
        self._tokens.revoke_family(family_id, now)

    def revoke_access_token(self, token: AccessToken, client_id: str) -> None:
        """RFC 7009: the client that obtained the token ends it (the endpoint has checked that
        `client_id` is the token's)."""
        if token.client_id != client_id:
            return
        if self._tokens.revoke(token.token_id, utc_now()):
            self._audit.record("oidc_token_revoked_by_client", utc_now(), token.user_id,
                               client_id=client_id)  # fmt: skip

    def introspection(self, token: AccessToken, issuer: str) -> dict[str, object]:
        """RFC 7662 2.2: what a live token is, for the client it was issued to."""
        return {
            "active": True,
            "scope": token.scope,
            "client_id": token.client_id,
            "token_type": "Bearer",
            "exp": int(token.expires_at.timestamp()),
            "iat": int(token.issued_at.timestamp()),
            "sub": token.user_id,
            "iss": issuer,
        }

    # Users

    def user(self, user_id: str) -> User | None:
        return self._users.get_by_id(user_id)

    @staticmethod
    def user_claims(user: User, scope: str) -> dict[str, object]:
        """The claims a scope releases (OpenID Connect Core 5.4). Email addresses are not
        verified here, and the claim says so."""
        scopes = set(scope.split())
        claims: dict[str, object] = {"sub": user.id}
        if "profile" in scopes:
            claims["name"] = user.name
            claims["preferred_username"] = user.username
        if "email" in scopes:
            claims["email"] = user.email
            claims["email_verified"] = False
        return claims
