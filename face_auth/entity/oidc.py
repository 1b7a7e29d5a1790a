"""What the OpenID Connect provider stores: clients, authorization codes, access tokens and the
applications a user has consented to. Codes, tokens and client secrets are kept as hashes."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class OAuthClient(BaseModel):
    """A registered relying party. Public clients (native or browser apps) have no secret and
    must use PKCE; confidential ones authenticate with their secret (client_secret_basic or
    client_secret_post). ID tokens are signed with `id_token_signed_response_alg`."""

    model_config = ConfigDict(frozen=True)

    client_id: str
    name: str
    redirect_uris: tuple[str, ...]
    public: bool
    secret_hash: str | None
    created_at: datetime
    id_token_signed_response_alg: str = "RS256"  # noqa: S105 - an algorithm name
    # Web origins (scheme://host[:port]) whose pages may call the token and userinfo endpoints
    # from the browser (CORS): a single-page application's.
    allowed_origins: tuple[str, ...] = ()
    # Where RP-initiated logout may send the user back to (exact match), as registered.
    post_logout_redirect_uris: tuple[str, ...] = ()


class AuthorizationCode(BaseModel):
    """A code as stored (its id is the code's hash): what the user approved, for whom, and the
    PKCE challenge the token request must answer."""

    model_config = ConfigDict(frozen=True)

    code_id: str
    client_id: str
    user_id: str
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str
    code_challenge_method: str
    auth_time: datetime
    amr: tuple[str, ...]
    acr: str
    code_expires_at: datetime
    used_at: datetime | None = None
    # The face_auth session (its jti) the user authorized from: its end ends the code.
    session_id: str | None = None


class AccessToken(BaseModel):
    """An access token as stored (its id is the token's hash); it opens /oauth2/userinfo."""

    model_config = ConfigDict(frozen=True)

    token_id: str
    client_id: str
    user_id: str
    scope: str
    code_id: str | None
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
    session_id: str | None = None
    # The refresh token family it was obtained with (its first refresh token's code or
    # rotation): reusing a rotated refresh token revokes the whole family.
    family_id: str | None = None


class RefreshToken(BaseModel):
    """A refresh token as stored (its id is the token's hash). Each use rotates it: the next
    one has the same family, scope and `expires_at`; a used one presented again means it
    leaked, and its family is revoked."""

    model_config = ConfigDict(frozen=True)

    token_id: str
    family_id: str
    client_id: str
    user_id: str
    scope: str
    session_id: str | None
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    revoked_at: datetime | None = None


class ConsentGrant(BaseModel):
    """The scopes a user allowed an application, shown and revocable on the account page."""

    model_config = ConfigDict(frozen=True)

    user_id: str
    client_id: str
    client_name: str
    scopes: tuple[str, ...]
    granted_at: datetime
