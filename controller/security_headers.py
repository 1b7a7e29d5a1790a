"""Security headers on every response (OWASP ASVS V3.4; the camera only for this site), and
no caching of anything answered to an authenticated request (ASVS V14.3)."""

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from face_auth.constant import ACCESS_COOKIE

# No inline script or style anywhere: the pages' JavaScript and CSS are static files.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=(), payment=(), usb=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"
# A response to a signed-in browser or a bearer token may show personal data: neither the
# browser (its Back button after logout) nor a shared cache may keep it.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# Static files are the same for everyone: cacheable even when the browser sends its cookie.
PUBLIC_PREFIXES = ("/static/",)


def is_authenticated(scope: Scope) -> bool:
    """The request carries credentials: the access-token cookie or an Authorization header."""
    if scope["path"].startswith(PUBLIC_PREFIXES):
        return False
    headers = Headers(scope=scope)
    if "authorization" in headers:
        return True
    return any(ACCESS_COOKIE in cookie_parser(value) for value in headers.getlist("cookie"))


class SecurityHeaders:
    """ASGI middleware. HSTS only on https (as uvicorn reports the scheme behind a trusted
    proxy): over plain http a browser ignores it, and on localhost it would be a trap."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        secure = scope.get("scheme") == "https"
        private = is_authenticated(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
                if secure:
                    headers.setdefault("Strict-Transport-Security", HSTS)
                if private:
                    headers.update(NO_STORE)
            await send(message)

        await self.app(scope, receive, send_with_headers)
