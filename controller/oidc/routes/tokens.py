"""The endpoints clients call server to server (or from a page of an allowed origin): token,
revocation (RFC 7009), introspection (RFC 7662) and userinfo."""

from authlib.oauth2.rfc6749 import InsecureTransportError, OAuth2Error
from authlib.oauth2.rfc6750 import InvalidTokenError
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from controller.oidc.adapter import form_request, query_request
from controller.oidc.deps import OidcDep, ServerDep, with_cors
from controller.oidc.models import Client
from controller.oidc.paths import INTROSPECTION_PATH, REVOCATION_PATH, TOKEN_PATH, USERINFO_PATH
from controller.oidc.server import FaceAuthServer, Introspection, Revocation
from face_auth.business_val.oidc.rules import OidcService

router = APIRouter()


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
