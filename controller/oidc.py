"""OpenID Connect provider: the protocol, with Authlib's server components.

Authlib has no FastAPI integration, so this module is one: `OidcRequest` adapts a Starlette
request (its body read first, since Authlib is synchronous) the way authlib's Flask and Django
integrations adapt theirs, and `FaceAuthServer` turns Authlib's (status, body, headers) into
responses. The grant is Authlib's authorization code grant with its PKCE (S256 only) and
OpenID Connect extensions; what is stored or decided (clients, codes, tokens, consent) is
face_auth.business_val.oidc's.

Endpoints: /.well-known/openid-configuration, /oauth2/jwks, /oauth2/authorize (GET: the
request; POST: the consent decision), /oauth2/token, /oauth2/userinfo; and the account page's
"revoke" for an application.
"""

import re
import time
from collections import defaultdict
from collections.abc import Iterable
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from authlib.common.security import generate_token
from authlib.oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2.rfc6749 import (
    AccessDeniedError,
    ClientMixin,
    InsecureTransportError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Error,
    OAuth2Payload,
    OAuth2Request,
    TokenMixin,
    scope_to_list,
)
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc6750 import BearerTokenGenerator, BearerTokenValidator, InvalidTokenError
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import AuthorizationCodeMixin as OidcAuthorizationCodeMixin
from authlib.oidc.core import OpenIDCode, UserInfo
from authlib.oidc.core.errors import ConsentRequiredError
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from controller.deps import AccountsDep, ClaimsDep, OptionalClaimsDep
from controller.rendering import render
from controller.security_headers import CONTENT_SECURITY_POLICY
from face_auth.business_val.oidc import (
    ACR_MULTI_FACTOR,
    AUTHORIZE_PATH,
    PKCE_METHOD,
    SCOPE_DESCRIPTIONS,
    SUPPORTED_SCOPES,
    AuthorizedUser,
    OidcService,
    scopes_of,
)
from face_auth.business_val.signing_keys import ALGORITHM, SigningKeys
from face_auth.config import Settings
from face_auth.entity import SessionClaims, User
from face_auth.entity.oidc import AccessToken, AuthorizationCode, OAuthClient

router = APIRouter(tags=["openid connect"])

TOKEN_PATH = "/oauth2/token"  # noqa: S105 - a path
USERINFO_PATH = "/oauth2/userinfo"
JWKS_PATH = "/oauth2/jwks"
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

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if endpoint != "token":
            return True
        return method == ("none" if self.client.public else "client_secret_basic")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


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


class Token(TokenMixin):
    def __init__(self, token: AccessToken) -> None:
        self.record = token

    def check_client(self, client: ClientMixin) -> bool:
        return client.get_client_id() == self.record.client_id

    def get_scope(self) -> str:
        return self.record.scope

    def get_expires_in(self) -> int:
        return int((self.record.expires_at - self.record.issued_at).total_seconds())

    def is_expired(self) -> bool:
        return False  # only live tokens are found

    def is_revoked(self) -> bool:
        return False


# --- The grant and its extensions ------------------------------------------------------------


class CodeGrant(AuthorizationCodeGrant):
    """Authlib's authorization code grant; codes are stored (hashed) through the rules layer,
    which marks a code used in the same atomic update that finds it."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "none"]  # noqa: RUF012 - Authlib's
    server: "FaceAuthServer"

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


class StateAndOpenIdRequired:
    """Our own rules on the authorization request: `state` is required (CSRF protection of
    the client's callback), and this is an OpenID Connect provider: `openid` is required."""

    def __call__(self, grant: CodeGrant) -> None:
        grant.register_hook("after_validate_authorization_request_payload", self.validate)

    @staticmethod
    def validate(grant: CodeGrant, redirect_uri: str) -> None:
        payload = grant.request.payload
        if not payload.state:
            raise InvalidRequestError("The 'state' parameter is required.")
        if "openid" not in (scope_to_list(payload.scope) or []):
            raise InvalidScopeError("The 'openid' scope is required.")


class FaceAuthOpenIDCode(OpenIDCode):
    """ID tokens: ES256 with the key ring's current key (its kid in the header), the claims of
    the code (nonce, auth_time, acr, amr) and of the scopes."""

    def __init__(self, oidc: OidcService, keys: SigningKeys) -> None:
        super().__init__(require_nonce=False)
        self._oidc = oidc
        self._keys = keys

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        return False  # the relying party checks its nonce; a code is good for one use anyway

    def resolve_client_private_key(self, client: Client) -> Any:
        return self._keys.signing_set()

    def get_client_algorithm(self, client: Client) -> str:
        return ALGORITHM

    def get_encode_header(self, client: Client) -> dict[str, str]:
        return {"alg": ALGORITHM, "typ": "JWT"}  # joserfc adds the signing key's kid

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
                expires_generator=lambda client, grant_type: lifetime,
            ),
        )
        self.register_grant(
            CodeGrant,
            [
                StateAndOpenIdRequired(),
                S256Only(required=True),
                FaceAuthOpenIDCode(oidc, keys),
            ],
        )
        self.resources = ResourceProtector()
        self.resources.register_token_validator(AccessTokens(oidc))

    def query_client(self, client_id: str) -> Client | None:
        client = self.oidc.client(client_id)
        return Client(client, self.oidc) if client else None

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        code = request.authorization_code
        self.oidc.save_access_token(
            token["access_token"],
            client_id=request.client.get_client_id(),
            user_id=request.user.id,
            scope=token.get("scope", ""),
            code_id=code.record.code_id if isinstance(code, Code) else None,
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
    return AuthorizedUser(user=user, auth_time=claims.iat, amr=claims.amr)


# --- Discovery and keys ------------------------------------------------------------------------


@router.get("/.well-known/openid-configuration")
def discovery(request: Request) -> JSONResponse:
    issuer = issuer_of(request, request.app.state.settings)
    metadata = {
        "issuer": issuer,
        "authorization_endpoint": issuer + AUTHORIZE_PATH,
        "token_endpoint": issuer + TOKEN_PATH,
        "userinfo_endpoint": issuer + USERINFO_PATH,
        "jwks_uri": issuer + JWKS_PATH,
        "scopes_supported": list(SUPPORTED_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [ALGORITHM],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "none"],
        "code_challenge_methods_supported": [PKCE_METHOD],
        "claims_supported": CLAIMS,
        "acr_values_supported": [ACR_MULTI_FACTOR],
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
    }
    return JSONResponse(metadata, headers={"Cache-Control": "public, max-age=300"})


@router.get(JWKS_PATH)
def jwks(server: ServerDep) -> JSONResponse:
    # Short cache: a rotated key must reach relying parties well within a token's lifetime.
    return JSONResponse(server.keys.jwks(), headers={"Cache-Control": "public, max-age=300"})


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
        "form_action": f"{AUTHORIZE_PATH}?{request.url.query}",
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


@router.get(AUTHORIZE_PATH)
def authorize(
    request: Request, server: ServerDep, oidc: OidcDep, claims: OptionalClaimsDep
) -> Response:
    """Validate the request; without a full session, sign in (password, then face) and come
    back here; on the first sign-in to this client, ask for consent; then redirect to the
    client with a code."""
    end_user = authorized_user(oidc, claims)
    try:
        oauth_request = query_request(request)
        grant = server.get_consent_grant(oauth_request, end_user)
    except OAuth2Error as error:
        return authorize_error(request, server, error)
    if end_user is None:
        target = f"{AUTHORIZE_PATH}?{request.url.query}"
        return RedirectResponse(f"/auth/login?next={quote(target, safe='')}", status_code=303)
    client: Client = oauth_request.client
    scopes = scopes_of(oauth_request.scope)
    prompts = _prompts(oauth_request)
    if "consent" not in prompts and oidc.has_consent(end_user.user.id, client.client_id, scopes):
        return server.create_authorization_response(oauth_request, end_user, grant)
    if "none" in prompts:
        error = ConsentRequiredError(redirect_uri=grant.redirect_uri)
        error.state = oauth_request.payload.state
        return server.handle_error_response(oauth_request, error)
    return consent_page(request, client.client, grant.redirect_uri, scopes)


@router.post(AUTHORIZE_PATH)
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
    client: Client = oauth_request.client
    oidc.grant_consent(end_user.user.id, client.client, scopes_of(oauth_request.scope))
    return server.create_authorization_response(oauth_request, end_user, grant)


# --- Token and userinfo endpoints ------------------------------------------------------------


@router.post(TOKEN_PATH)
async def token(request: Request, server: ServerDep) -> Response:
    """Server to server, with client authentication (client_secret_basic, or none + PKCE for
    public clients); exempt from the CSRF check (controller/csrf.py). Errors: RFC 6749 5.2."""
    try:
        oauth_request = await form_request(request)
    except InsecureTransportError as error:
        return server.handle_error_response(None, error)
    return server.create_token_response(oauth_request)


async def _userinfo(request: Request, server: FaceAuthServer, oidc: OidcService) -> Response:
    """The claims of the token's scopes, for a Bearer access token (OpenID Connect Core 5.3)."""
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
        return server.handle_error_response(oauth_request, error)
    claims = oidc.user_claims(user, access.get_scope())
    return JSONResponse(claims, headers={"Cache-Control": "no-store"})


@router.get(USERINFO_PATH)
async def userinfo(request: Request, server: ServerDep, oidc: OidcDep) -> Response:
    """The signed-in user's claims, for the Bearer access token in the Authorization header."""
    return await _userinfo(request, server, oidc)


@router.post(USERINFO_PATH)
async def userinfo_post(request: Request, server: ServerDep, oidc: OidcDep) -> Response:
    """The same by POST (OpenID Connect Core 5.3.1); exempt from the CSRF check."""
    return await _userinfo(request, server, oidc)


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
