from collections.abc import Awaitable, Callable

from fastapi import Request, Response

from controller.deps import cookie_is_secure
from face_auth.constant import CSRF_COOKIE
from face_auth.utils import new_csrf_token


async def ensure_csrf_cookie(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Give every visitor a CSRF token (cookie) that pages embed in their forms."""
    existing = request.cookies.get(CSRF_COOKIE)
    request.state.csrf_token = existing or new_csrf_token()
    response = await call_next(request)
    if not existing:
        response.set_cookie(
            CSRF_COOKIE,
            request.state.csrf_token,
            httponly=False,  # the page's script sends it back in the X-CSRF-Token header
            samesite="strict",
            secure=cookie_is_secure(request, request.app.state.settings),
            path="/",
        )
    return response
