"""OpenID Connect RP-Initiated Logout 1.0: the end of a face_auth session asked for by a
relying party, and back to its registered post-logout redirect URI."""

from typing import Annotated
from urllib.parse import urlencode

from authlib.common.urls import add_params_to_uri
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from controller.cookies import CookiesDep, CookieTransport
from controller.deps import AccountsDep, OptionalClaimsDep
from controller.oidc.adapter import issuer_of
from controller.oidc.deps import OidcDep, ServerDep
from controller.oidc.paths import LOGOUT_CONFIRM_PATH, LOGOUT_PATH
from controller.oidc.server import FaceAuthServer
from controller.rendering import render
from face_auth.business_val.oidc.rules import LogoutRequest, OidcService
from face_auth.exception import InvalidInput

router = APIRouter()


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


# OpenID Connect RP-Initiated Logout 1.0 allows both methods; each gets its own operation id.
@router.get(LOGOUT_PATH, operation_id="end_session")
@router.post(LOGOUT_PATH, operation_id="end_session_post")
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
