"""The grants and their extensions: Authlib's authorization code grant (codes stored hashed
through the rules layer), its refresh token grant with rotation, PKCE held to the rules
layer's S256-only rule, our own rules on the authorization request, and ID tokens."""

import time
from typing import TYPE_CHECKING, Any, ClassVar

from authlib.oauth2.rfc6749 import (
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Error,
    OAuth2Request,
    scope_to_list,
)
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant, RefreshTokenGrant
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import OpenIDCode, UserInfo
from authlib.oidc.core.errors import RequestNotSupportedError, RequestURINotSupportedError

from controller.oidc.adapter import OidcRequest
from controller.oidc.models import Client, Code, Refresh
from face_auth.business_val.oidc.rules import (
    ENDPOINT_AUTH_METHODS,
    OFFLINE_ACCESS,
    PKCE_METHOD,
    OidcService,
    authorization_request_problem,
    pkce_problem,
)
from face_auth.business_val.oidc.signing_keys import SigningKeys
from face_auth.entity import User

if TYPE_CHECKING:
    from controller.oidc.server import FaceAuthServer


class CodeGrant(AuthorizationCodeGrant):
    """Authlib's authorization code grant; codes are stored (hashed) through the rules layer,
    which marks a code used in the same atomic update that finds it."""

    TOKEN_ENDPOINT_AUTH_METHODS = list(ENDPOINT_AUTH_METHODS["token"])  # noqa: RUF012 - Authlib's
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
    (business_val.oidc.rules.rotate_refresh_token)."""

    TOKEN_ENDPOINT_AUTH_METHODS = list(ENDPOINT_AUTH_METHODS["token"])  # noqa: RUF012 - Authlib's
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
        problem = pkce_problem(data.get("code_challenge"), data.get("code_challenge_method"))
        if problem:
            raise InvalidRequestError(problem)
        super().validate_code_challenge(grant, redirect_uri)


class AuthorizationRequestRules:
    """The rules layer's rules on the authorization request (business_val.oidc.rules.
    authorization_request_problem), raised as the OAuth error each names."""

    ERRORS: ClassVar[dict[str, type[OAuth2Error]]] = {
        "request_not_supported": RequestNotSupportedError,
        "request_uri_not_supported": RequestURINotSupportedError,
        "invalid_request": InvalidRequestError,
        "invalid_scope": InvalidScopeError,
    }

    def __call__(self, grant: CodeGrant) -> None:
        grant.register_hook("after_validate_authorization_request_payload", self.validate)

    @classmethod
    def validate(cls, grant: CodeGrant, redirect_uri: str) -> None:
        problem = authorization_request_problem(grant.request.payload.data)
        if problem is not None:
            raise cls.ERRORS[problem.error](problem.message)


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
        assert isinstance(request, OidcRequest)
        return {
            "iss": request.issuer,
            "aud": request.client.get_client_id(),
            "iat": now,
            "exp": self._oidc.policy.id_token_expiry(now),
        }

    def generate_user_info(self, user: User, scope: str) -> UserInfo:
        return UserInfo(self._oidc.user_claims(user, scope))
