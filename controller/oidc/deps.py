"""What the provider's routes receive: the rules layer's OidcService and the Authlib server
(built by the lifespan), the end user the authorization endpoint acts for, and CORS."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response

from controller.oidc.server import FaceAuthServer
from face_auth.business_val.oidc.rules import AuthorizedUser, OidcService
from face_auth.entity import SessionClaims
from face_auth.entity.oidc import OAuthClient


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


# Discovery and the keys are public documents, read without credentials.
PUBLIC_CORS = {"Access-Control-Allow-Origin": "*"}


def with_cors(
    response: Response, request: Request, oidc: OidcService, client: OAuthClient | None
) -> Response:
    """Let a page of the request's Origin read the response when the client allows that origin
    (business_val.oidc.rules: its registered allowed origins)."""
    origin = request.headers.get("origin")
    if origin is not None and oidc.cors_allowed(origin, client):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = "WWW-Authenticate"
    response.headers.add_vary_header("Origin")
    return response
