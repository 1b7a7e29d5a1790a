"""The authorization server: Authlib's, with our grants, token generator, revocation and
introspection endpoints and Bearer resource protection, answering with Starlette responses
(Authlib's (status, body, headers) turned into one)."""

from typing import Any

from authlib.common.security import generate_token
from authlib.oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2.rfc6749 import (
    InvalidRequestError,
    OAuth2Request,
    TokenMixin,
)
from authlib.oauth2.rfc6750 import BearerTokenGenerator, BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from fastapi.responses import JSONResponse, Response

from controller.oidc.adapter import OidcRequest
from controller.oidc.grants import (
    AuthorizationRequestRules,
    CodeGrant,
    FaceAuthOpenIDCode,
    RefreshGrant,
    S256Only,
)
from controller.oidc.models import Client, Code, Refresh, Token
from face_auth.business_val.oidc.rules import ENDPOINT_AUTH_METHODS, SUPPORTED_SCOPES, OidcService
from face_auth.business_val.oidc.signing_keys import SigningKeys


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

    CLIENT_AUTH_METHODS = list(ENDPOINT_AUTH_METHODS["revocation"])  # noqa: RUF012 - Authlib's
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

    CLIENT_AUTH_METHODS = list(ENDPOINT_AUTH_METHODS["introspection"])  # noqa: RUF012 - Authlib's
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
        lifetime = oidc.policy.access_token_seconds
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
