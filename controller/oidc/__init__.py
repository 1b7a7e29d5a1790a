"""The OpenID Connect provider, with Authlib's server components, as its own package:

- adapter: Starlette requests as Authlib's (Authlib has no FastAPI integration);
- models: our clients, codes and tokens as Authlib's mixins;
- grants: the authorization code grant (PKCE S256, OpenID Connect), refresh token rotation,
  ID tokens; server: the authorization server, revocation, introspection, Bearer resources;
- routes: discovery and keys, the authorization endpoint (and the return to it after
  sign-in), the token, revocation, introspection and userinfo endpoints, RP-initiated logout,
  the account page's applications.

The protocol's rules (grants, client authentication per endpoint, PKCE, state, lifetimes) and
everything stored or decided (clients, codes, tokens, consent, revocation) are
face_auth.business_val.oidc.rules's.
"""

from fastapi import APIRouter

from controller.oidc.routes import applications, authorize, logout, metadata, tokens
from controller.oidc.routes.applications import applications_of
from controller.oidc.routes.authorize import resume_authorization
from controller.oidc.server import FaceAuthServer

router = APIRouter(tags=["openid connect"])
for _part in (metadata, authorize, tokens, logout, applications):
    router.include_router(_part.router)

__all__ = ["FaceAuthServer", "applications_of", "resume_authorization", "router"]
