"""The one module that writes cookies: the access token and the CSRF token.

Their attributes are fixed here (as fastapi-users' CookieTransport does); routes ask this
module to set or clear a cookie and never choose attributes themselves.
"""

from datetime import datetime
from typing import Annotated
from urllib.parse import quote, unquote

from fastapi import Depends, Request, Response

from face_auth.business_val import IssuedToken
from face_auth.config import Settings
from face_auth.constant import ACCESS_COOKIE, CSRF_COOKIE, RETURN_TO_COOKIE
from face_auth.utils import utc_now

# With Secure, the CSRF cookie takes the __Host- prefix: the browser then refuses it from a
# sibling subdomain or for another path, so it cannot be planted.
HOST_PREFIX = "__Host-"


class CookieTransport:
    def __init__(self, settings: Settings) -> None:
        self._secure_setting = settings.cookie_secure

    def is_secure(self, request: Request) -> bool:
        """The setting, or else: Secure exactly when the request came over https."""
        if self._secure_setting is not None:
            return self._secure_setting
        return request.url.scheme == "https"

    def csrf_cookie_name(self, request: Request) -> str:
        return HOST_PREFIX + CSRF_COOKIE if self.is_secure(request) else CSRF_COOKIE

    def read_access(self, request: Request) -> str | None:
        return request.cookies.get(ACCESS_COOKIE) or None

    def read_csrf(self, request: Request) -> str | None:
        return request.cookies.get(self.csrf_cookie_name(request)) or None

    def set_access(self, response: Response, request: Request, issued: IssuedToken) -> None:
        now: datetime = utc_now()
        response.set_cookie(
            ACCESS_COOKIE,
            issued.token,
            max_age=max(int((issued.claims.exp - now).total_seconds()), 0),
            httponly=True,
            samesite="lax",
            secure=self.is_secure(request),
            path="/",
        )

    def clear_access(self, response: Response, request: Request) -> None:
        response.delete_cookie(
            ACCESS_COOKIE, httponly=True, samesite="lax", secure=self.is_secure(request), path="/"
        )

    def read_return_to(self, request: Request) -> str | None:
        value = request.cookies.get(RETURN_TO_COOKIE)
        return unquote(value) if value else None

    def set_return_to(
        self, response: Response, request: Request, path: str, expires: datetime
    ) -> None:
        """Where the sign-in continues after the face step (checked by the caller: a relative
        path to the authorization endpoint); lives as long as the password session."""
        response.set_cookie(
            RETURN_TO_COOKIE,
            quote(path, safe=""),  # percent-encoded: only characters a cookie value may hold
            max_age=max(int((expires - utc_now()).total_seconds()), 0),
            httponly=True,
            samesite="lax",
            secure=self.is_secure(request),
            path="/",
        )

    def clear_return_to(self, response: Response, request: Request) -> None:
        response.delete_cookie(
            RETURN_TO_COOKIE,
            httponly=True,
            samesite="lax",
            secure=self.is_secure(request),
            path="/",
        )

    def set_csrf(self, response: Response, request: Request, token: str) -> None:
        response.set_cookie(
            self.csrf_cookie_name(request),
            token,
            httponly=True,  # pages carry the token in their forms; scripts read it from there
            samesite="strict",
            secure=self.is_secure(request),
            path="/",
        )


def get_cookies(request: Request) -> CookieTransport:
    return request.app.state.cookies


CookiesDep = Annotated[CookieTransport, Depends(get_cookies)]
