"""Request bodies are bounded before anything parses them or writes them to disk."""

from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from face_auth.config import Settings

PAYLOAD_TOO_LARGE = 413


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(PAYLOAD_TOO_LARGE, f"The request body may be at most {limit // 1024} KiB.")


BASE64_GROWTH = 4 / 3
FACE_UPLOADS = frozenset({"/api/v1/face/enroll", "/api/v1/face/verify", "/api/v1/identify"})


def request_body_limits(settings: Settings) -> Callable[[str, str], int]:
    """Face uploads may carry every frame at its byte limit, base64-encoded, plus a little;
    every other request is a small form or JSON document."""
    small = settings.max_form_bytes
    frames = int(settings.face_frames * settings.face_max_frame_bytes * BASE64_GROWTH) + small

    def limit_for(method: str, path: str) -> int:
        return frames if method == "POST" and path in FACE_UPLOADS else small

    return limit_for


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


class BodySizeLimit:
    """ASGI middleware: each request's body may be at most `limit_for(method, path)` bytes.

    A larger Content-Length is refused on the first read of the body, and a body that streams
    past the limit is refused as soon as it does, so the multipart parser never spools more.
    The error is raised inside the app, where the error handlers turn it into a 413.
    """

    def __init__(self, app: ASGIApp, limit_for: Callable[[str, str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["method"], scope["path"])
        declared = _declared_length(scope)
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            if declared is not None and declared > limit:
                raise BodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, limited_receive, send)
