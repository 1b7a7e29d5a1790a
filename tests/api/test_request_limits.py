"""Request bodies are bounded before they are parsed, and malformed face JSON is a clear 4xx."""

import asyncio
import json

import pytest
from fastapi.testclient import TestClient

from face_auth.config import Settings
from face_auth.constant import CSRF_COOKIE
from tests.api.test_login import create_user, login
from tests.support import PASSWORD, csrf_headers


def signed_in(client: TestClient, suffix: str) -> None:
    user = create_user(client, suffix)
    assert login(client, user["email"], PASSWORD).status_code == 200


def test_big_multipart_to_a_small_form_is_refused_before_parsing(client: TestClient) -> None:
    # A planted csrf cookie and field, as an attacker would send with a 1 GiB upload.
    client.cookies.set(CSRF_COOKIE, "planted")
    files = {"junk": ("junk.bin", b"x" * (256 * 1024), "application/octet-stream")}
    response = client.post("/auth/login", data={"csrf_token": "planted"}, files=files)
    assert response.status_code == 413
    assert "64 KiB" in response.text


def post_streamed(app: object, path: str, headers: dict[str, str], size: int) -> tuple[int, int]:
    """POST a multipart upload of one `size`-byte frame to the ASGI app in 64 KiB messages, as
    a client streams it; returns the status and how many bytes the app pulled."""
    part = b'--b\r\nContent-Disposition: form-data; name="frames"; filename="f.jpg"\r\n\r\n'
    chunk = b"x" * (64 * 1024)
    pulled = 0
    status = 0

    async def receive() -> dict[str, object]:
        nonlocal pulled
        if pulled >= size:
            return {"type": "http.request", "body": b"\r\n--b--\r\n", "more_body": False}
        body = part + chunk if pulled == 0 else chunk
        pulled += len(body)
        return {"type": "http.request", "body": body, "more_body": True}

    async def send(message: dict[str, object]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])  # type: ignore[call-overload]

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "server": ("testserver", 80), "client": ("127.0.0.1", 5000),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }  # fmt: skip
    asyncio.run(app(scope, receive, send))  # type: ignore[operator]
    return status, pulled


@pytest.mark.parametrize("path", ["/api/v1/face/enroll", "/api/v1/face/verify", "/auth/logout"])
def test_an_anonymous_multipart_upload_is_refused_before_it_is_read(
    client: TestClient, path: str
) -> None:
    """No X-CSRF-Token header: refused before any of the 50 MiB is read (a form's token
    field is looked for only in url-encoded page forms, never in a multipart upload)."""
    size = 50 * 1024 * 1024
    headers = {"host": "testserver", "content-type": "multipart/form-data; boundary=b",
               "content-length": str(size), "cookie": f"{CSRF_COOKIE}=planted"}  # fmt: skip
    status, pulled = post_streamed(client.app, path, headers, size)
    assert status == 403
    assert pulled < 1024 * 1024


def test_declared_length_over_the_limit_is_refused_on_the_api(client: TestClient) -> None:
    headers = {**csrf_headers(client), "Content-Type": "application/json"}
    body = json.dumps({"email": "a@example.com", "password": "x" * (100 * 1024)})
    response = client.post("/api/v1/sessions", content=body, headers=headers)
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"


def test_face_upload_may_be_larger_than_a_form_but_is_bounded(
    client: TestClient, settings: Settings
) -> None:
    signed_in(client, "facelimit")
    headers = {**csrf_headers(client), "Content-Type": "application/json"}
    frame_limit = settings.face_max_frame_bytes
    # Over 64 KiB but well inside the face limit: it reaches the parser (then 422, not 413).
    under = json.dumps({"images": ["@" * (200 * 1024)]})
    response = client.post("/api/v1/face/enroll", content=under, headers=headers)
    assert response.status_code == 422
    over = json.dumps({"images": ["A" * frame_limit] * (2 * settings.face_frames)})
    response = client.post("/api/v1/face/enroll", content=over, headers=headers)
    assert response.status_code == 413


@pytest.mark.parametrize(
    "body",
    [
        '{"images": ["data:image/jpeg;base64"]}',  # a data URL with no comma
        '{"images": ["data:image/jpeg,AAAA"]}',  # not base64
        "[" * 50_000 + "]" * 50_000,  # deep nesting
        '{"images": [1, 2]}',
        '{"images": "nope"}',
        "not json",
    ],
)
def test_malformed_face_json_is_a_clear_422(client: TestClient, body: str) -> None:
    signed_in(client, "badjson")
    headers = {**csrf_headers(client), "Content-Type": "application/json"}
    response = client.post("/api/v1/face/enroll", content=body, headers=headers)
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_input"


def test_small_face_routes_keep_the_small_limit(client: TestClient) -> None:
    signed_in(client, "smallface")
    headers = {**csrf_headers(client), "Content-Type": "application/json"}
    body = json.dumps({"code": "x" * (100 * 1024)})
    response = client.post("/api/v1/face/recovery", content=body, headers=headers)
    assert response.status_code == 413
