"""Request bodies are bounded before they are parsed, and malformed face JSON is a clear 4xx."""

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
    response = client.post("/auth/logout", data={"csrf_token": "planted"}, files=files)
    assert response.status_code == 413
    assert "64 KiB" in response.text


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
