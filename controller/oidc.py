"""OpenID Connect provider: the protocol, with Authlib's server components.

Authlib has no FastAPI integration, so this module is one: `OidcRequest` adapts a Starlette
request (its body read first, since Authlib is synchronous) the way authlib's Flask and Django
integrations adapt theirs, and `FaceAuthServer` turns Authlib's (status, body, headers) into
responses. The grant is Authlib's authorization code grant with its PKCE (S256 only) and
OpenID Connect extensions, client authentication by client_secret_basic, client_secret_post
or none (public clients); what is stored or decided (clients, codes, tokens, consent, which
client may authenticate how, revocation) is face_auth.business_val.oidc's.

Endpoints: /.well-known/openid-configuration, /oauth2/jwks, /oauth2/authorize (GET or POST:
the request), /oauth2/authorize/decision (the consent form), /oauth2/token, /oauth2/userinfo;
and the account page's "revoke" for an application.
"""

import re
import time
from collections import defaultdict
from collections.abc import Iterable
from typing import Annotated, Any
from urllib.parse import quote, urlencode, urlsplit

from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2.rfc6749 import (
    AccessDeniedError,
    ClientMixin,
    InsecureTransportError,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Error,
    OAuth2Payload,
    OAuth2Request,
    TokenMixin,
    scope_to_list,
)
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant, RefreshTokenGrant
from authlib.oauth2.rfc6750 import BearerTokenGenerator, BearerTokenValidator, InvalidTokenError
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oidc.core import AuthorizationCodeMixin as OidcAuthorizationCodeMixin
from authlib.oidc.core import OpenIDCode, UserInfo
from authlib.oidc.core.errors import (
    ConsentRequiredError,
    LoginRequiredError,
    RequestNotSupportedError,
    RequestURINotSupportedError,
)
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from controller.cookies import CookiesDep, CookieTransport
from controller.deps import AccountsDep, ClaimsDep, OptionalClaimsDep
from controller.rendering import render
from controller.security_headers import CONTENT_SECURITY_POLICY
from face_auth.business_val.oidc import (
    ACR_MULTI_FACTOR,
    AUTHORIZE_PATH,
    ID_TOKEN_ALGORITHMS,
    OFFLINE_ACCESS,
    PKCE_METHOD,
    SCOPE_DESCRIPTIONS,
    SECRET_AUTH_METHODS,
    SUPPORTED_SCOPES,
    TOKEN_ENDPOINT_AUTH_METHODS,
    AuthorizedUser,
    LogoutRequest,
    OidcService,
    must_sign_in_again,
    parse_max_age,
    scopes_of,
    state_problem,
)
from face_auth.business_val.signing_keys import SigningKeys
from face_auth.config import Settings
from face_auth.entity import SessionClaims, User
from face_auth.entity.oidc import AccessToken, AuthorizationCode, OAuthClient, RefreshToken
from face_auth.exception import InvalidInput
from face_auth.utils import utc_now

router = APIRouter(tags=["openid connect"])

TOKEN_PATH = "/oauth2/token"  # noqa: S105 - a path
GRANT_TYPES = ("authorization_code", "refresh_token")
USERINFO_PATH = "/oauth2/userinfo"
JWKS_PATH = "/oauth2/jwks"
LOGOUT_PATH = "/oauth2/logout"
LOGOUT_CONFIRM_PATH = LOGOUT_PATH + "/confirm"
REVOCATION_PATH = "/oauth2/revoke"
INTROSPECTION_PATH = "/oauth2/introspect"
DISCOVERY_PATH = "/.well-known/openid-configuration"
# The consent page's form posts the user's decision here (CSRF-protected); the authorization
# endpoint itself takes requests by GET and by POST (OpenID Connect Core 3.1.2.1).
CONSENT_PATH = AUTHORIZE_PATH + "/decision"
# Added to an authorization request we sent the user to sign in again for (prompt=login,
# max_age): the time we did, which a sign-in made since satisfies.
REAUTH_PARAMETER = "fa_reauth"
# Claims the ID token and userinfo may carry (discovery's claims_supported).
CLAIMS = ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "amr", "acr", "at_hash",
          "name", "preferred_username", "email", "email_verified"]  # fmt: skip
_ORIGIN = re.compile(
    r"https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?|https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?"
)


# --- Requests: Starlette to Authlib --------------------------------------------------------


class OidcPayload(OAuth2Payload):
    """Parameters from one source (the query for /authorize, the form body for /token)."""

    def __init__(self, items: Iterable[tuple[str, str]]) -> None:
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in items:
            self._datalist[key].append(value)
        self._data = {key: values[0] for key, values in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class OidcRequest(OAuth2Request):
    """An Authlib request built from a Starlette one whose body has been read. Raises
    InsecureTransportError for plain http off the loopback interface (behind a proxy, set
    FORWARDED_ALLOW_IPS so that uvicorn reports https)."""

    def __init__(self, request: Request, items: list[tuple[str, str]], issuer: str) -> None:
        super().__init__(method=request.method, uri=str(request.url), headers=request.headers)
        self.payload = OidcPayload(items)
        self._query = dict(request.query_params)
        self._form = dict(items) if request.method == "POST" else {}
        self.issuer = issuer

    @property
    def args(self) -> dict[str, str]:
        return self._query

    @property
    def form(self) -> dict[str, str]:
        return self._form


def issuer_of(request: Request, settings: Settings) -> str:
    """From configuration only: a Host header never names the issuer (cache poisoning)."""
    return settings.issuer


def query_request(request: Request) -> OidcRequest:
    settings: Settings = request.app.state.settings
    return OidcRequest(
        request, list(request.query_params.multi_items()), issuer_of(request, settings)
    )


async def form_request(request: Request) -> OidcRequest:
    settings: Settings = request.app.state.settings
    form = await request.form(max_files=0, max_fields=50)
    items = [(key, value) for key, value in form.multi_items() if isinstance(value, str)]
    return OidcRequest(request, items, issuer_of(request, settings))


# --- Models: our entities as Authlib's mixins ------------------------------------------------


class Client(ClientMixin):
    def __init__(self, client: OAuthClient, oidc: OidcService) -> None:
        self.client = client
        self.client_id = client.client_id
        self._oidc = oidc

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        return None  # redirect_uri is required: OpenID Connect Core 3.1.2.1

    def get_allowed_scope(self, scope: str | None) -> str:
        return " ".join(scopes_of(scope))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.client.redirect_uris  # exact string match

    def check_client_secret(self, client_secret: str) -> bool:
        return self._oidc.check_client_secret(self.client, client_secret)

    def check_endpoint_auth_method(self, method: str, _endpoint: str) -> bool:
        """The same methods at every endpoint that authenticates clients."""
        return self._oidc.may_authenticate_with(self.client, method)

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in GRANT_TYPES


class Code(OidcAuthorizationCodeMixin):
    def __init__(self, code: AuthorizationCode) -> None:
        self.record = code
        self.user_id = code.user_id
        self.code_challenge = code.code_challenge
        self.code_challenge_method = code.code_challenge_method

    def get_redirect_uri(self) -> str:
        return self.record.redirect_uri

    def get_scope(self) -> str:
        return self.record.scope

    def get_nonce(self) -> str | None:
        return self.record.nonce

    def get_auth_time(self) -> int:
        return int(self.record.auth_time.timestamp())

    def get_acr(self) -> str:
        return self.record.acr

    def get_amr(self) -> list[str]:
        return list(self.record.amr)


class _StoredToken(TokenMixin):
    """A stored access or refresh token for Authlib: live when found (the repositories look
    up only unexpired, unrevoked ones)."""

    def __init__(self, token: AccessToken | RefreshToken) -> None:
        self.record = token

    def check_client(self, client: ClientMixin) -> bool:
        return client.get_client_id() == self.record.client_id

    def get_scope(self) -> str:
        return self.record.scope

    def get_expires_in(self) -> int:
        return int((self.record.expires_at - self.record.issued_at).total_seconds())

    def is_expired(self) -> bool:
        return False

    def is_revoked(self) -> bool:
        return False


class Token(_StoredToken):
    def __init__(self, token: AccessToken) -> None:
        super().__init__(token)
        self.record: AccessToken = token
        self.issuer = ""


class Refresh(_StoredToken):
    """A refresh token record (rotated on use by the rules layer)."""

    def __init__(self, token: RefreshToken) -> None:
        super().__init__(token)
        self.record: RefreshToken = token


# --- The grant and its extensions ------------------------------------------------------------


class CodeGrant(AuthorizationCodeGrant):
    """Authlib's authorization code grant; codes are stored (hashed) through the rules layer,
    which marks a code used in the same atomic update that finds it."""

    TOKEN_ENDPOINT_AUTH_METHODS = list(TOKEN_ENDPOINT_AUTH_METHODS)  # noqa: RUF012 - Authlib's
    server: "FaceAuthServer"

    def generate_token(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """A refresh token only for scope offline_access (OpenID Connect Core 11)."""
        scope = kwargs.get("scope") or ""
        if OFFLINE_ACCESS not in scope_to_list(scope):
            kwargs["include_refresh_token"] = False
        return super().generate_token(*args, **kwargs)

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        data = request.payload.data
        self.server.oidc.save_code(
            code,
            client_id=request.client.get_client_id(),
            authorized=request.user,
            redirect_uri=request.payload.redirect_uri,
            scope=request.scope,
            nonce=data.get("nonce"),
            code_challenge=data["code_challenge"],
            code_challenge_method=data["code_challenge_method"],
        )

    def query_authorization_code(self, code: str, client: Client) -> Code | None:
        record = self.server.oidc.redeem_code(code, client.get_client_id())
        return Code(record) if record else None

    def delete_authorization_code(self, authorization_code: Code) -> None:
        """Nothing to delete: the code was marked used when it was redeemed, and its record
        stays (until its TTL) so that a second use revokes what the first obtained."""

    def authenticate_user(self, authorization_code: Code) -> User | None:
        return self.server.oidc.user(authorization_code.user_id)


class RefreshGrant(RefreshTokenGrant):
    """Authlib's refresh token grant with rotation: each use returns a new refresh token, and the
    used one is marked in the same atomic update that finds it; reusing it revokes the family
    (business_val.oidc.rotate_refresh_token)."""

    TOKEN_ENDPOINT_AUTH_METHODS = list(TOKEN_ENDPOINT_AUTH_METHODS)  # noqa: RUF012 - Authlib's
    INCLUDE_NEW_REFRESH_TOKEN = True
    server: "FaceAuthServer"

    def _validate_request_token(self, client: Client) -> Refresh:
        value = self.request.form.get("refresh_token")
        if value is None:
            raise InvalidRequestError("Missing 'refresh_token' in request.")
        record = self.server.oidc.rotate_refresh_token(value, client.get_client_id())
        if record is None:
            raise InvalidGrantError("Invalid 'refresh_token' in request.")
        return Refresh(record)

    def authenticate_user(self, refresh_token: Refresh) -> User | None:
        return self.server.oidc.user(refresh_token.record.user_id)

    def revoke_old_credential(self, refresh_token: Refresh) -> None:
        """Nothing more: it was marked used when it was found."""


class S256Only(CodeChallenge):
    """PKCE required of every client, with S256 only (RFC 9700 2.1.1: no "plain")."""

    DEFAULT_CODE_CHALLENGE_METHOD = PKCE_METHOD
    SUPPORTED_CODE_CHALLENGE_METHOD = [PKCE_METHOD]  # noqa: RUF012 - Authlib's

    def validate_code_challenge(self, grant: CodeGrant, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send a 'code_challenge' (S256).")
        if data.get("code_challenge_method") != PKCE_METHOD:
            raise InvalidRequestError("'code_challenge_method' must be S256.")
        super().validate_code_challenge(grant, redirect_uri)


class AuthorizationRequestRules:
    """Our own rules on the authorization request: `state` unless PKCE S256 protects the
    client's callback (business_val.oidc.state_problem); no request objects (discovery says
    so: request_not_supported, request_uri_not_supported); a well-formed `max_age`; and this is
    an OpenID Connect provider: `openid` is required."""

    def __call__(self, grant: CodeGrant) -> None:
        grant.register_hook("after_validate_authorization_request_payload", self.validate)

    @staticmethod
    def validate(grant: CodeGrant, redirect_uri: str) -> None:
        payload = grant.request.payload
        data = payload.data
        if "request" in data:
            raise RequestNotSupportedError("Request objects ('request') are not supported.")
        if "request_uri" in data:
            raise RequestURINotSupportedError("'request_uri' is not supported.")
        problem = state_problem(payload.state, data.get("code_challenge_method"))
        if problem:
            raise InvalidRequestError(problem)
        try:
            parse_max_age(data.get("max_age"))
        except ValueError as error:
            raise InvalidRequestError(str(error)) from error
        if "openid" not in (scope_to_list(payload.scope) or []):
            raise InvalidScopeError("The 'openid' scope is required.")


class FaceAuthOpenIDCode(OpenIDCode):
    """ID tokens: signed with the client's algorithm (RS256 unless registered with ES256) by
    the key ring's current key for it (its kid in the header), with the claims of the code
    (nonce, auth_time, acr, amr) and of the scopes."""

    def __init__(self, oidc: OidcService, keys: SigningKeys) -> None:
        super().__init__(require_nonce=False)
        self._oidc = oidc
        self._keys = keys

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        return False  # the relying party checks its nonce; a code is good for one use anyway

    def resolve_client_private_key(self, client: Client) -> Any:
        return self._keys.signing_set(self.get_client_algorithm(client))

    def get_client_algorithm(self, client: Client) -> str:
        return client.client.id_token_signed_response_alg

    def get_encode_header(self, client: Client) -> dict[str, str]:
        # joserfc adds the signing key's kid
        return {"alg": self.get_client_algorithm(client), "typ": "JWT"}

    def get_compatible_claims(self, request: OAuth2Request) -> dict[str, Any]:
        now = int(time.time())
        lifetime = int(self._oidc.policy.id_token_lifetime.total_seconds())
        assert isinstance(request, OidcRequest)
        return {
            "iss": request.issuer,
            "aud": request.client.get_client_id(),
            "iat": now,
            "exp": now + lifetime,
        }

    def generate_user_info(self, user: User, scope: str) -> UserInfo:
        return UserInfo(self._oidc.user_claims(user, scope))


class AccessTokens(BearerTokenValidator):
    def __init__(self, oidc: OidcService) -> None:
        super().__init__()
        self._oidc = oidc

    def authenticate_token(self, token_string: str) -> Token | None:
        record = self._oidc.access_token(token_string)
        return Token(record) if record else None


class Revocation(RevocationEndpoint):
    """RFC 7009: a client ends one of its access or refresh tokens (a refresh token with its
    family's access tokens). Client authentication as at the token endpoint; an unknown or dead
    token is answered 200 all the same (2.2)."""

    CLIENT_AUTH_METHODS = list(TOKEN_ENDPOINT_AUTH_METHODS)  # noqa: RUF012 - Authlib's
    SUPPORTED_TOKEN_TYPES = ("access_token", "refresh_token")
    server: "FaceAuthServer"

    def query_token(self, token_string: str, _token_type_hint: str | None) -> TokenMixin | None:
        access = self.server.oidc.access_token(token_string)
        if access is not None:
            return Token(access)
        refresh = self.server.oidc.live_refresh_token(token_string)
        return Refresh(refresh) if refresh else None

    def revoke_token(self, token: TokenMixin, request: OAuth2Request) -> None:
        client_id = request.client.get_client_id()
        if isinstance(token, Refresh):
            self.server.oidc.revoke_refresh_token(token.record, client_id)
        elif isinstance(token, Token):
            self.server.oidc.revoke_access_token(token.record, client_id)


class Introspection(IntrospectionEndpoint):
    """RFC 7662: a confidential client (or its resource server, with its credentials) asks what
    one of its own access tokens is; anything else is `{"active": false}`."""

    CLIENT_AUTH_METHODS = list(SECRET_AUTH_METHODS)  # noqa: RUF012 - Authlib's
    SUPPORTED_TOKEN_TYPES = ("access_token",)
    server: "FaceAuthServer"

    def query_token(self, token_string: str, _token_type_hint: str | None) -> Token | None:
        record = self.server.oidc.access_token(token_string)
        return Token(record) if record else None

    def check_permission(self, token: Token, client: Client, request: OAuth2Request) -> bool:
        return token.check_client(client)

    def authenticate_token(self, request: OAuth2Request, client: Client) -> Token | None:
        token = super().authenticate_token(request, client)
        if token is not None:
            assert isinstance(request, OidcRequest)
            token.issuer = request.issuer  # this request's, for `iss`
        return token

    def introspect_token(self, token: Token) -> dict[str, object]:
        return self.server.oidc.introspection(token.record, token.issuer)


class BearerResources(ResourceProtector):
    """Bearer tokens in the Authorization header (RFC 6750 2.1) and, on a form-encoded POST,
    in the `access_token` body parameter (2.2), as pyoidc sends it. Never in the query (2.3:
    it ends up in logs), and never two ways at once (2: invalid_request)."""

    def parse_request_authorization(self, request: OAuth2Request) -> tuple[Any, str]:
        form_token = request.form.get("access_token") if _is_form(request) else None
        if form_token is None:
            return super().parse_request_authorization(request)
        if request.headers.get("Authorization"):
            raise InvalidRequestError("Send the access token in one way only.")
        return self.get_token_validator(BearerTokenValidator.TOKEN_TYPE), form_token


def _is_form(request: OAuth2Request) -> bool:
    content_type = request.headers.get("Content-Type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    return request.method == "POST" and media_type == "application/x-www-form-urlencoded"


class FaceAuthServer(AuthorizationServer):
    def __init__(self, oidc: OidcService, keys: SigningKeys) -> None:
        super().__init__(scopes_supported=list(SUPPORTED_SCOPES))
        self.oidc = oidc
        self.keys = keys
        lifetime = int(oidc.policy.access_token_lifetime.total_seconds())
        self.register_token_generator(
            "default",
            BearerTokenGenerator(
                access_token_generator=lambda **_: generate_token(48),
                refresh_token_generator=lambda **_: generate_token(48),
                expires_generator=lambda client, grant_type: lifetime,
            ),
        )
        self.register_grant(
            CodeGrant,
            [
                AuthorizationRequestRules(),
                S256Only(required=True),
                FaceAuthOpenIDCode(oidc, keys),
            ],
        )
        self.register_grant(RefreshGrant)
        self.register_endpoint(Revocation)
        self.register_endpoint(Introspection)
        self.resources = BearerResources()
        self.resources.register_token_validator(AccessTokens(oidc))

    def query_client(self, client_id: str) -> Client | None:
        client = self.oidc.client(client_id)
        return Client(client, self.oidc) if client else None

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        code = request.authorization_code
        rotated = (
            request.refresh_token.record if isinstance(request.refresh_token, Refresh) else None
        )
        if isinstance(code, Code):
            session_id = code.record.session_id
        else:
            session_id = rotated.session_id if rotated else None
        self.oidc.save_tokens(
            token["access_token"],
            token.get("refresh_token"),
            client_id=request.client.get_client_id(),
            user_id=request.user.id,
            scope=token.get("scope", ""),
            code_id=code.record.code_id if isinstance(code, Code) else None,
            session_id=session_id,
            rotated=rotated,
            auth_method=request.auth_method,
        )

    def create_oauth2_request(self, request: OAuth2Request) -> OAuth2Request:
        return request  # adapted by the route, which has read the body

    def handle_response(self, status_code: int, payload: Any, headers: Any) -> Response:
        header_map = dict(headers or [])
        if isinstance(payload, dict):
            return JSONResponse(payload, status_code=status_code, headers=header_map)
        return Response(payload or "", status_code=status_code, headers=header_map)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """No signals: the rules layer audits what matters."""


# --- Dependencies -----------------------------------------------------------------------------


def get_oidc(request: Request) -> OidcService:
    return request.app.state.oidc


def get_oauth_server(request: Request) -> FaceAuthServer:
    return request.app.state.oauth_server


OidcDep = Annotated[OidcService, Depends(get_oidc)]
ServerDep = Annotated[FaceAuthServer, Depends(get_oauth_server)]


def authorized_user(oidc: OidcService, claims: SessionClaims | None) -> AuthorizedUser | None:
    """The user the authorization endpoint may act for: a full (password and face) session."""
    if claims is None or not claims.is_full:
        return None
    user = oidc.user(claims.sub)
    if user is None:
        return None
    return AuthorizedUser(user=user, auth_time=claims.iat, amr=claims.amr, session_id=claims.jti)


# --- CORS: what pages of other origins may read ---------------------------------------------------

# Discovery and the keys are public documents, read without credentials.
PUBLIC_CORS = {"Access-Control-Allow-Origin": "*"}


def with_cors(
    response: Response, request: Request, oidc: OidcService, client: OAuthClient | None
) -> Response:
    """Let a page of the request's Origin read the response when the client allows that origin
    (business_val.oidc: its registered allowed origins)."""
    origin = request.headers.get("origin")
    if origin is not None and oidc.cors_allowed(origin, client):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = "WWW-Authenticate"
    response.headers.add_vary_header("Origin")
    return response


@router.options(TOKEN_PATH)
@router.options(USERINFO_PATH)
def preflight(request: Request, oidc: OidcDep) -> Response:
    """The browser's CORS preflight for the token and userinfo endpoints (a request with an
    Authorization header): allowed for an origin some client registered."""
    response = Response(status_code=204)
    origin = request.headers.get("origin")
    if origin is not None and oidc.cors_allowed(origin, None):
        methods = "POST" if request.url.path == TOKEN_PATH else "GET, POST"
        response.headers.update(
            {
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Methods": methods,
                "Access-Control-Allow-Headers": "Authorization, Content-Type",
                "Access-Control-Max-Age": "600",
            }
        )
    response.headers.add_vary_header("Origin")
    return response


# --- Discovery and keys ------------------------------------------------------------------------


@router.api_route(DISCOVERY_PATH, methods=["GET", "HEAD"])
def discovery(request: Request) -> JSONResponse:
    issuer = issuer_of(request, request.app.state.settings)
    metadata = {
        "issuer": issuer,
        "authorization_endpoint": issuer + AUTHORIZE_PATH,
        "token_endpoint": issuer + TOKEN_PATH,
        "userinfo_endpoint": issuer + USERINFO_PATH,
        "end_session_endpoint": issuer + LOGOUT_PATH,
        "revocation_endpoint": issuer + REVOCATION_PATH,
        "revocation_endpoint_auth_methods_supported": list(TOKEN_ENDPOINT_AUTH_METHODS),
        "introspection_endpoint": issuer + INTROSPECTION_PATH,
        "introspection_endpoint_auth_methods_supported": list(SECRET_AUTH_METHODS),
        "jwks_uri": issuer + JWKS_PATH,
        "scopes_supported": list(SUPPORTED_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": list(GRANT_TYPES),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": list(ID_TOKEN_ALGORITHMS),
        "token_endpoint_auth_methods_supported": list(TOKEN_ENDPOINT_AUTH_METHODS),
        "code_challenge_methods_supported": [PKCE_METHOD],
        "claims_supported": CLAIMS,
        "acr_values_supported": [ACR_MULTI_FACTOR],
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
    }
    headers = {"Cache-Control": "public, max-age=300", **PUBLIC_CORS}
    return JSONResponse(metadata, headers=headers)


@router.api_route(JWKS_PATH, methods=["GET", "HEAD"])
def jwks(server: ServerDep) -> JSONResponse:
    # Short cache: a rotated key must reach relying parties well within a token's lifetime.
    headers = {"Cache-Control": "public, max-age=300", **PUBLIC_CORS}
    return JSONResponse(server.keys.jwks(), headers=headers)


# --- Authorization endpoint ------------------------------------------------------------------


def authorize_error(request: Request, server: FaceAuthServer, error: OAuth2Error) -> Response:
    """RFC 6749 4.1.2.1: back to the client only when its redirect URI was validated; else
    (unknown client, missing or unregistered redirect URI) tell the user on our own page."""
    if error.redirect_uri:
        return server.handle_error_response(None, error)
    message = f"This sign-in request is not valid ({error.error}"
    message += f": {error.description})." if error.description else ")."
    context = {"title": "Invalid sign-in request", "message": message, "status_code": 400}
    return render(request, "error.html", context, status_code=400)


def consent_page(
    request: Request, client: OAuthClient, redirect_uri: str, scopes: tuple[str, ...]
) -> Response:
    context = {
        "client_name": client.name,
        "redirect_host": urlsplit(redirect_uri).netloc,
        "scopes": [(name, SCOPE_DESCRIPTIONS[name]) for name in scopes],
        "form_action": f"{CONSENT_PATH}?{request.url.query}",
    }
    response = render(request, "consent.html", context)
    # The consent form posts here and is answered with a redirect to the client. Chromium
    # applies form-action to that redirect too: allow the client's registered origin, on this
    # page only (the origin of a redirect URI that matched a registered one exactly).
    parts = urlsplit(redirect_uri)
    origin = f"{parts.scheme}://{parts.netloc}"
    if _ORIGIN.fullmatch(origin):
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
            "form-action 'self'", f"form-action 'self' {origin}"
        )
    return response


def _prompts(oauth_request: OidcRequest) -> set[str]:
    return set((oauth_request.payload.data.get("prompt") or "").split())


def _sign_in_redirect(request: Request) -> RedirectResponse:
    """To the password page, and back to this authorization request after the face step,
    without `prompt=login` and with the time we sent the user (REAUTH_PARAMETER), which the
    new sign-in satisfies (else prompt=login or max_age=0 would send them round again)."""
    items = [(k, v) for k, v in request.query_params.multi_items() if k != REAUTH_PARAMETER]
    items = [(k, _without_login(v) if k == "prompt" else v) for k, v in items]
    items = [(k, v) for k, v in items if k != "prompt" or v]
    items.append((REAUTH_PARAMETER, str(int(utc_now().timestamp()))))
    target = f"{AUTHORIZE_PATH}?{urlencode(items)}"
    return RedirectResponse(f"/auth/login?next={quote(target, safe='')}", status_code=303)


def _without_login(prompt: str) -> str:
    return " ".join(value for value in prompt.split() if value != "login")


def _reauthentication(
    request: Request,
    server: FaceAuthServer,
    oauth_request: OidcRequest,
    grant: CodeGrant,
    end_user: AuthorizedUser,
) -> Response | None:
    """prompt=login and max_age: a fresh password and face step first (or login_required for
    prompt=none); None when the current sign-in will do."""
    prompts = _prompts(oauth_request)
    if not must_sign_in_again(
        prompts=prompts,
        max_age=parse_max_age(oauth_request.payload.data.get("max_age")),  # validated
        auth_time=end_user.auth_time,
        sent_to_sign_in_at=oauth_request.payload.data.get(REAUTH_PARAMETER),
        now=utc_now(),
    ):
        return None
    if "none" in prompts:
        error = LoginRequiredError(redirect_uri=grant.redirect_uri)
        error.state = oauth_request.payload.state
        return server.handle_error_response(oauth_request, error)
    return _sign_in_redirect(request)


@router.get(AUTHORIZE_PATH)
def authorize(
    request: Request, server: ServerDep, oidc: OidcDep, claims: OptionalClaimsDep
) -> Response:
    """Validate the request; without a full session (or for prompt=login, or a sign-in older
    than max_age), sign in (password, then face) and come back here; on the first sign-in to
    this client, ask for consent; then redirect to the client with a code."""
    end_user = authorized_user(oidc, claims)
    try:
        oauth_request = query_request(request)
        grant = server.get_consent_grant(oauth_request, end_user)
    except OAuth2Error as error:
        return authorize_error(request, server, error)
    if end_user is None:
        return _sign_in_redirect(request)
    again = _reauthentication(request, server, oauth_request, grant, end_user)
    if again is not None:
        return again
    client: Client = oauth_request.client
    scopes = scopes_of(oauth_request.scope)
    prompts = _prompts(oauth_request)
    if "consent" not in prompts and not oidc.consent_page_needed(
        end_user.user.id, client.client_id, scopes
    ):
        return server.create_authorization_response(oauth_request, end_user, grant)
    if "none" in prompts:
        error = ConsentRequiredError(redirect_uri=grant.redirect_uri)
        error.state = oauth_request.payload.state
        return server.handle_error_response(oauth_request, error)
    return consent_page(request, client.client, grant.redirect_uri, scopes)


@router.post(AUTHORIZE_PATH)
async def authorize_by_post(request: Request) -> Response:
    """The authorization request sent as a form (OpenID Connect Core 3.1.2.1): the same request
    by GET, through a redirect. It changes nothing, so it is exempt from the CSRF check (a
    relying party's page posts it, cross-site)."""
    form = await request.form(max_files=0, max_fields=50)
    items = [(key, value) for key, value in form.multi_items() if isinstance(value, str)]
    return RedirectResponse(f"{AUTHORIZE_PATH}?{urlencode(items)}", status_code=303)


@router.post(CONSENT_PATH)
def authorize_decision(
    request: Request,
    server: ServerDep,
    oidc: OidcDep,
    accounts: AccountsDep,
    claims: ClaimsDep,
    decision: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """The consent form: the request is in the query string again and is validated again.
    Granting a new consent is a sensitive change: it needs a recent sign-in (step-up)."""
    accounts.require_recent_auth(claims)
    end_user = authorized_user(oidc, claims)
    try:
        oauth_request = query_request(request)
        grant = server.get_consent_grant(oauth_request, end_user)
    except OAuth2Error as error:
        return authorize_error(request, server, error)
    if end_user is None or decision != "allow":
        error = AccessDeniedError(redirect_uri=grant.redirect_uri)
        error.state = oauth_request.payload.state
        return server.handle_error_response(oauth_request, error)
    again = _reauthentication(request, server, oauth_request, grant, end_user)
    if again is not None:
        return again
    client: Client = oauth_request.client
    oidc.grant_consent(end_user.user.id, client.client, scopes_of(oauth_request.scope))
    return server.create_authorization_response(oauth_request, end_user, grant)


# --- Token and userinfo endpoints ------------------------------------------------------------


@router.post(TOKEN_PATH)
async def token(request: Request, server: ServerDep, oidc: OidcDep) -> Response:
    """Server to server, or from a page of a client's allowed origin (CORS), with client
    authentication (client_secret_basic or client_secret_post; none + PKCE for public
    clients); exempt from the CSRF check (controller/csrf.py). Errors: RFC 6749 5.2."""
    try:
        oauth_request = await form_request(request)
    except InsecureTransportError as error:
        return server.handle_error_response(None, error)
    response = server.create_token_response(oauth_request)
    client = getattr(oauth_request, "client", None)
    return with_cors(response, request, oidc, client.client if isinstance(client, Client) else None)


@router.post(REVOCATION_PATH)
async def revoke(request: Request, server: ServerDep) -> Response:
    """RFC 7009, server to server (exempt from the CSRF check, like the token endpoint)."""
    try:
        oauth_request = await form_request(request)
    except InsecureTransportError as error:
        return server.handle_error_response(None, error)
    return server.create_endpoint_response(Revocation.ENDPOINT_NAME, oauth_request)


@router.post(INTROSPECTION_PATH)
async def introspect(request: Request, server: ServerDep) -> Response:
    """RFC 7662, server to server (exempt from the CSRF check, like the token endpoint)."""
    try:
        oauth_request = await form_request(request)
    except InsecureTransportError as error:
        return server.handle_error_response(None, error)
    response = server.create_endpoint_response(Introspection.ENDPOINT_NAME, oauth_request)
    response.headers["Cache-Control"] = "no-store"
    return response


async def _userinfo(request: Request, server: FaceAuthServer, oidc: OidcService) -> Response:
    """The claims of the token's scopes, for a Bearer access token (OpenID Connect Core 5.3):
    in the Authorization header, or in a form-encoded POST body."""
    try:
        if request.method == "POST":
            oauth_request = await form_request(request)
        else:
            oauth_request = query_request(request)
    except InsecureTransportError as error:
        return server.handle_error_response(None, error)
    try:
        access = server.resources.validate_request(["openid"], oauth_request)
        user = oidc.user(access.record.user_id)
        if user is None:  # the account was deleted
            raise InvalidTokenError()
    except OAuth2Error as error:  # 401 or 403 with WWW-Authenticate (RFC 6750 3)
        return with_cors(server.handle_error_response(oauth_request, error), request, oidc, None)
    claims = oidc.user_claims(user, access.get_scope())
    response = JSONResponse(claims, headers={"Cache-Control": "no-store"})
    return with_cors(response, request, oidc, oidc.client(access.record.client_id))


@router.get(USERINFO_PATH)
async def userinfo(request: Request, server: ServerDep, oidc: OidcDep) -> Response:
    """The signed-in user's claims, for the Bearer access token in the Authorization header."""
    return await _userinfo(request, server, oidc)


@router.post(USERINFO_PATH)
async def userinfo_post(request: Request, server: ServerDep, oidc: OidcDep) -> Response:
    """The same by POST (OpenID Connect Core 5.3.1), the token in the Authorization header or
    the form body (RFC 6750 2.2); exempt from the CSRF check."""
    return await _userinfo(request, server, oidc)


# --- RP-initiated logout ------------------------------------------------------------------------


def _logout_request(
    request: Request, server: FaceAuthServer, oidc: OidcService, params: dict[str, str]
) -> LogoutRequest | Response:
    """The logout request, or the error page (never a redirect to an unregistered URI)."""
    hint = params.get("id_token_hint")
    claims = None
    if hint:
        claims = server.keys.read_own_token(hint, issuer_of(request, request.app.state.settings))
        if claims is None:
            return _logout_error(request, "The ID token hint is not one face_auth issued.")
    try:
        return oidc.logout_request(
            claims, params.get("client_id"), params.get("post_logout_redirect_uri")
        )
    except InvalidInput as error:
        return _logout_error(request, " ".join(error.fields.values()))


def _logout_error(request: Request, message: str) -> Response:
    context = {"title": "Invalid sign-out request", "message": message, "status_code": 400}
    return render(request, "error.html", context, status_code=400)


def _logged_out(
    request: Request,
    logout: LogoutRequest,
    state: str | None,
    cookies: CookieTransport,
    ended: bool,
) -> Response:
    """Back to the client's registered URI with its state, or our "signed out" page."""
    response: Response
    if logout.redirect_uri:
        params = [("state", state)] if state else []
        response = RedirectResponse(add_params_to_uri(logout.redirect_uri, params), 303)
    else:
        name = logout.client.name if logout.client else None
        response = render(request, "logout.html", {"client_name": name, "form_action": None})
    if ended:
        cookies.clear_access(response, request)
    return response


async def _logout_params(request: Request) -> dict[str, str]:
    if request.method == "POST":
        form = await request.form(max_files=0, max_fields=20)
        return {key: value for key, value in form.items() if isinstance(value, str)}
    return dict(request.query_params)


@router.api_route(LOGOUT_PATH, methods=["GET", "POST"])
async def end_session(
    request: Request,
    server: ServerDep,
    oidc: OidcDep,
    accounts: AccountsDep,
    cookies: CookiesDep,
    claims: OptionalClaimsDep,
) -> Response:
    """OpenID Connect RP-Initiated Logout 1.0, by GET or POST (a relying party's page posts it,
    cross-site: exempt from the CSRF check). With an ID token hint of the signed-in user, the
    face_auth session ends at once (and with it the tokens it obtained for applications);
    otherwise the user is asked first. Then back to the registered post_logout_redirect_uri."""
    params = await _logout_params(request)
    logout = _logout_request(request, server, oidc, params)
    if isinstance(logout, Response):
        return logout
    state = params.get("state")
    if claims is None:
        return _logged_out(request, logout, state, cookies, ended=False)
    if logout.subject == claims.sub:
        accounts.logout(claims)
        return _logged_out(request, logout, state, cookies, ended=True)
    context = {
        "client_name": logout.client.name if logout.client else None,
        "form_action": f"{LOGOUT_CONFIRM_PATH}?{urlencode(list(params.items()))}",
    }
    return render(request, "logout.html", context)


@router.post(LOGOUT_CONFIRM_PATH)
def end_session_confirmed(
    request: Request,
    server: ServerDep,
    oidc: OidcDep,
    accounts: AccountsDep,
    cookies: CookiesDep,
    claims: OptionalClaimsDep,
    decision: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """The user's answer on the sign-out page (CSRF-protected); the request is validated again."""
    params = dict(request.query_params)
    logout = _logout_request(request, server, oidc, params)
    if isinstance(logout, Response):
        return logout
    ended = claims is not None and decision == "logout"
    if claims is not None and ended:
        accounts.logout(claims)
    return _logged_out(request, logout, params.get("state"), cookies, ended=ended)


# --- The account page's list of applications ---------------------------------------------------


@router.post("/application/applications/revoke")
def revoke_application(
    oidc: OidcDep,
    accounts: AccountsDep,
    claims: ClaimsDep,
    client_id: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    accounts.require_full_session(claims)
    oidc.revoke_application(claims.sub, client_id)
    return RedirectResponse("/application/?application_revoked=1", status_code=303)


def applications_of(request: Request, claims: SessionClaims) -> list[dict[str, object]]:
    """What the account page lists: each application the user granted, and what it gets."""
    oidc: OidcService = request.app.state.oidc
    return [
        {
            "client_id": grant.client_id,
            "name": grant.client_name,
            "scopes": list(grant.scopes),
            "granted_at": grant.granted_at,
        }
        for grant in oidc.granted_applications(claims.sub)
    ]
