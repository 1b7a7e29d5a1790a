"""The face factor through the HTTP API, with real photos, the real models and database."""

import base64
import io
import re

import cv2
import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from pymongo import MongoClient

from face_auth.config import Settings
from face_auth.constant import ACCESS_COOKIE
from tests.api.test_login import create_user, login
from tests.face_data import FRAME_HEIGHT, FRAME_WIDTH, PersonFrames, jpeg
from tests.pipeline.helpers import gradient_image
from tests.support import PASSWORD, csrf_headers

pytestmark = pytest.mark.models


def post_frames(client: TestClient, step: str, frames: list[bytes]) -> httpx.Response:
    files = [("frames", (f"frame-{i}.jpg", data, "image/jpeg")) for i, data in enumerate(frames)]
    return client.post(f"/api/v1/face/{step}", files=files, headers=csrf_headers(client))


def signed_in(client: TestClient, suffix: str) -> dict[str, str]:
    user = create_user(client, suffix)
    assert login(client, user["email"], PASSWORD).status_code == 200
    return user


def no_face_frame() -> bytes:
    return jpeg(gradient_image(FRAME_WIDTH, FRAME_HEIGHT))


def decode(frame: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(frame)).convert("RGB"))


def two_face_frame(first: bytes, second: bytes) -> bytes:
    """Two people side by side in one 640x480 frame."""
    left, right = decode(first), decode(second)
    halves = [cv2.resize(image[:, 80:560], (320, 320)) for image in (left, right)]
    canvas = np.full((FRAME_HEIGHT, FRAME_WIDTH, 3), 120, dtype=np.uint8)
    canvas[80:400, :320], canvas[80:400, 320:] = halves
    return jpeg(canvas)


def stored_templates(mongo: MongoClient, settings: Settings) -> list[dict]:
    return list(mongo[settings.database_name]["embeddings"].find())


def test_full_flow_register_password_enroll_logout_password_verify(
    client: TestClient, alice: PersonFrames, mongo: MongoClient, settings: Settings
) -> None:
    user = signed_in(client, "flow")
    enrolled = post_frames(client, "enroll", alice.enroll)
    assert enrolled.status_code == 200, enrolled.text
    body = enrolled.json()
    assert body["accepted"] is True
    assert body["frames_used"] >= 6
    assert len(body["frames"]) == 8
    # The first enrollment shows the recovery codes, once; only their hashes are stored.
    codes = body["recovery_codes"]
    assert len(codes) == settings.recovery_codes == len(set(codes))
    assert all(re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){5}", code) for code in codes)
    stored = mongo[settings.database_name]["recovery_codes"].find_one()
    assert len(stored["codes"]) == len(codes)
    assert not set(codes) & set(stored["codes"])
    assert client.get("/api/v1/me").json()["factors"] == ["pwd", "face"]
    assert client.get("/api/v1/face").json()["recovery_codes_left"] == len(codes)
    assert client.get("/application/").status_code == 200

    [template] = stored_templates(mongo, settings)
    # Stored sealed (tests/api/test_biometric_data.py); the vectors read back through the app.
    assert "template" not in template and isinstance(template["sealed"], bytes)
    assert template["model_name"] == "Facenet"
    assert template["model_version"].startswith("facenet_keras-128d-sha256:")

    assert (
        client.delete("/api/v1/sessions/current", headers=csrf_headers(client)).status_code == 204
    )
    session = login(client, user["email"], PASSWORD)
    assert session.json()["next"] == "verify_face"
    password_token = client.cookies[ACCESS_COOKIE]
    assert client.get("/application/").headers["location"] == "/application/face/verify"

    verified = post_frames(client, "verify", alice.verify)
    assert verified.status_code == 200, verified.text
    result = verified.json()
    assert result["accepted"] is True
    assert "recovery_codes" not in result
    assert result["similarity"] >= result["threshold"] == settings.face_match_threshold
    assert client.cookies[ACCESS_COOKIE] != password_token
    assert client.get("/api/v1/application").status_code == 200
    assert client.get("/application/").status_code == 200

    # The password-only token was revoked when the full session replaced it.
    client.cookies.clear()
    client.cookies.set(ACCESS_COOKIE, password_token)
    assert client.get("/api/v1/me").status_code == 401


def test_other_person_is_refused_and_app_stays_closed(
    client: TestClient, alice: PersonFrames, bob: PersonFrames
) -> None:
    user = signed_in(client, "mismatch")
    assert post_frames(client, "enroll", alice.enroll).status_code == 200
    client.cookies.clear()
    login(client, user["email"], PASSWORD)

    refused = post_frames(client, "verify", bob.verify)
    assert refused.status_code == 401
    body = refused.json()
    assert body["error"] == "face_mismatch"
    assert body["result"]["accepted"] is False
    assert body["result"]["reason"] == "did not match"
    # A refusal carries no score: it would guide a search for an image that scores higher.
    assert "similarity" not in refused.text
    assert "threshold" not in refused.text
    assert client.get("/api/v1/application").status_code == 401
    assert client.get("/application/").headers["location"] == "/application/face/verify"


def test_repeated_mismatches_revoke_the_password_session(
    client: TestClient, alice: PersonFrames, bob: PersonFrames, settings: Settings
) -> None:
    user = signed_in(client, "lockout")
    assert post_frames(client, "enroll", alice.enroll).status_code == 200
    client.cookies.clear()
    login(client, user["email"], PASSWORD)
    statuses = [
        post_frames(client, "verify", bob.enroll).json()["error"]
        for _ in range(settings.face_max_failures)
    ]
    assert statuses[:-1] == ["face_mismatch"] * (settings.face_max_failures - 1)
    assert statuses[-1] == "face_tries_spent"
    # Even the right face is now refused: the password step must be done again.
    assert post_frames(client, "verify", alice.verify).status_code == 401
    assert client.get("/api/v1/me").status_code == 401


def test_no_face_frames_are_rejected_with_reason(client: TestClient) -> None:
    signed_in(client, "noface")
    response = post_frames(client, "enroll", [no_face_frame()] * 8)
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "face_rejected"
    assert {frame["reason"] for frame in body["result"]["frames"]} == {"no face"}
    assert "no face" in body["message"]


def test_two_face_frames_are_rejected_with_reason(
    client: TestClient, alice: PersonFrames, bob: PersonFrames
) -> None:
    signed_in(client, "twofaces")
    frames = [two_face_frame(a, b) for a, b in zip(alice.enroll, bob.enroll, strict=True)]
    response = post_frames(client, "enroll", frames)
    assert response.status_code == 422
    reasons = [frame["reason_code"] for frame in response.json()["result"]["frames"]]
    assert reasons.count("two_faces") >= 6, reasons


def test_too_few_good_frames_is_rejected_and_nothing_is_stored(
    client: TestClient, alice: PersonFrames, mongo: MongoClient, settings: Settings
) -> None:
    signed_in(client, "fewframes")
    frames = alice.enroll[:5] + [no_face_frame()] * 3  # 5 good, enrollment needs 6
    response = post_frames(client, "enroll", frames)
    assert response.status_code == 422
    result = response.json()["result"]
    assert result["frames_used"] == 5
    assert result["frames_required"] == 6
    assert stored_templates(mongo, settings) == []
    assert client.get("/api/v1/me").json()["factors"] == ["pwd"]


def test_corrupt_truncated_and_foreign_files_are_rejected_per_frame(
    client: TestClient, alice: PersonFrames
) -> None:
    signed_in(client, "corrupt")
    gif = b"GIF89a" + b"\x00" * 100
    frames = [b"\xff\xd8\xff\xe0garbage", alice.enroll[0][:2000], gif, b"not an image"] * 2
    response = post_frames(client, "enroll", frames)
    assert response.status_code == 422
    codes = {frame["reason_code"] for frame in response.json()["result"]["frames"]}
    assert codes == {"corrupt_image", "unsupported_image_format"}
    assert "Traceback" not in response.text


def test_oversize_frame_gets_413_and_wrong_content_type_415(
    client: TestClient, settings: Settings
) -> None:
    signed_in(client, "oversize")
    huge = b"\xff\xd8\xff" + b"\x00" * settings.face_max_frame_bytes
    assert post_frames(client, "enroll", [huge]).status_code == 413
    text = client.post(
        "/api/v1/face/enroll", content=b"hello", headers={**csrf_headers(client),
                                                          "content-type": "text/plain"}
    )  # fmt: skip
    assert text.status_code == 415
    assert text.json()["error"] == "unsupported_media_type"


def test_too_many_frames_is_invalid(client: TestClient, alice: PersonFrames) -> None:
    signed_in(client, "toomany")
    response = post_frames(client, "enroll", alice.enroll + alice.verify[:1])
    assert response.status_code == 422


def test_json_images_form_is_accepted_and_malformed_json_refused(
    client: TestClient, alice: PersonFrames
) -> None:
    signed_in(client, "json")
    images = ["data:image/jpeg;base64," + base64.b64encode(f).decode() for f in alice.enroll]
    headers = csrf_headers(client)
    bad = client.post("/api/v1/face/enroll", json={"images": ["%%%"]}, headers=headers)
    assert bad.status_code == 422
    malformed = client.post(
        "/api/v1/face/enroll", content=b'{"images": [', headers={**headers,
                                                                 "content-type": "application/json"}
    )  # fmt: skip
    assert malformed.status_code == 422
    ok = client.post("/api/v1/face/enroll", json={"images": images}, headers=headers)
    assert ok.status_code == 200, ok.text
    assert ok.json()["accepted"] is True


def test_reenrollment_needs_full_session_and_replaces_the_template(
    client: TestClient, alice: PersonFrames, bob: PersonFrames, mongo: MongoClient,
    settings: Settings,
) -> None:  # fmt: skip
    user = signed_in(client, "reenroll")
    assert post_frames(client, "enroll", alice.enroll).status_code == 200
    [first] = stored_templates(mongo, settings)

    client.cookies.clear()
    login(client, user["email"], PASSWORD)
    refused = post_frames(client, "enroll", bob.enroll)  # password only: must verify first
    assert refused.status_code == 401
    assert refused.json()["next"] == "verify_face"

    assert post_frames(client, "verify", alice.verify).status_code == 200
    assert post_frames(client, "enroll", alice.verify).status_code == 200
    templates = stored_templates(mongo, settings)
    assert len(templates) == 1
    assert templates[0]["sealed"] != first["sealed"]
    assert templates[0]["created_at"] > first["created_at"]


def test_deleting_biometric_data(
    client: TestClient, alice: PersonFrames, mongo: MongoClient, settings: Settings
) -> None:
    user = signed_in(client, "delete")
    assert post_frames(client, "enroll", alice.enroll).status_code == 200
    assert client.delete("/api/v1/face", headers=csrf_headers(client)).status_code == 204
    assert stored_templates(mongo, settings) == []
    assert client.get("/api/v1/me").json()["has_face_template"] is False

    client.cookies.clear()
    assert login(client, user["email"], PASSWORD).json()["next"] == "enroll_face"
    # A password-only session may not delete biometric data...
    assert client.delete("/api/v1/face", headers=csrf_headers(client)).status_code == 401
    # ...nor put a face back on the account: that needs a full session or a one-time code.
    refused = post_frames(client, "enroll", alice.enroll)
    assert refused.status_code == 403
    assert refused.json()["error"] == "enrollment_code_required"
    assert refused.json()["next"] == "enrollment_code"
    assert stored_templates(mongo, settings) == []


def test_face_pages_route_by_state(client: TestClient, alice: PersonFrames) -> None:
    user = signed_in(client, "pages")
    enroll_page = client.get("/application/face/enroll")
    assert enroll_page.status_code == 200
    assert 'data-endpoint="/api/v1/face/enroll"' in enroll_page.text
    assert client.get("/application/face/verify").headers["location"] == "/application/face/enroll"

    assert post_frames(client, "enroll", alice.enroll).status_code == 200
    client.cookies.clear()
    login(client, user["email"], PASSWORD)
    assert client.get("/application/face/enroll").headers["location"] == "/application/face/verify"
    verify_page = client.get("/application/face/verify")
    assert 'data-frames="8"' in verify_page.text
