"""The provider's endpoints (the authorization endpoint's path is the rules layer's: a sign-in
may return only there)."""

from face_auth.business_val.oidc.rules import AUTHORIZE_PATH

TOKEN_PATH = "/oauth2/token"  # noqa: S105 - a path
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
APPLICATION_REVOKE_PATH = "/application/applications/revoke"

__all__ = [
    "APPLICATION_REVOKE_PATH",
    "AUTHORIZE_PATH",
    "CONSENT_PATH",
    "DISCOVERY_PATH",
    "INTROSPECTION_PATH",
    "JWKS_PATH",
    "LOGOUT_CONFIRM_PATH",
    "LOGOUT_PATH",
    "REVOCATION_PATH",
    "TOKEN_PATH",
    "USERINFO_PATH",
]
