"""Our entities as Authlib's mixins: clients, authorization codes, access and refresh tokens."""

from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin
from authlib.oidc.core import AuthorizationCodeMixin as OidcAuthorizationCodeMixin

from face_auth.business_val.oidc.rules import GRANT_TYPES, RESPONSE_TYPE, OidcService, scopes_of
from face_auth.entity.oidc import AccessToken, AuthorizationCode, OAuthClient, RefreshToken


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
        return response_type == RESPONSE_TYPE

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
