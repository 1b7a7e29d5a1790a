"""The face step against someone who knows the password: tries are reserved before the
comparison, per session and per account; refusals carry no score; templates carry their model."""

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from pymongo import MongoClient
from pymongo.database import Database

from app import create_app
from face_auth.config import Settings
from face_auth.utils import utc_now
from tests.api.test_face_api import post_frames, signed_in
from tests.api.test_login import login
from tests.api.test_metrics import metric
from tests.face_data import PersonFrames
from tests.support import PASSWORD, metrics_text

pytestmark = pytest.mark.models


@pytest.fixture
def wide_client(settings: Settings) -> Iterator[TestClient]:
    """Two face workers and a long queue: a burst really runs side by side."""
    wide = settings.model_copy(update={"face_workers": 2, "face_queue_limit": 32})
    with TestClient(create_app(wide), follow_redirects=False) as client:
        yield client


def db_of(mongo: MongoClient, settings: Settings) -> Database:
    return mongo[settings.database_name]


def comparisons(db: Database, user_id: str) -> int:
    """Every comparison is audited, with its score, as face_verified or face_mismatch."""
    return db["audit"].count_documents(
        {"user_id": user_id, "event": {"$in": ["face_verified", "face_mismatch"]}}
    )


def enrolled_then_logged_out(client: TestClient, suffix: str, alice: PersonFrames) -> dict:
    user = signed_in(client, suffix)
    assert post_frames(client, "enroll", alice.enroll).status_code == 200
    user["id"] = client.get("/api/v1/me").json()["user"]["id"]
    client.cookies.clear()
    return user


def assert_no_score(response: httpx.Response) -> None:
    assert "similarity" not in response.text
    assert "threshold" not in response.text


def test_a_burst_of_impostor_tries_cannot_outrun_the_limit_and_the_right_face_is_then_refused(
    wide_client: TestClient,
    alice: PersonFrames,
    bob: PersonFrames,
    mongo: MongoClient,
    settings: Settings,
) -> None:
    client = wide_client
    user = enrolled_then_logged_out(client, "burst", alice)
    login(client, user["email"], PASSWORD)
    burst = 12
    with ThreadPoolExecutor(max_workers=burst) as pool:
        responses = list(pool.map(lambda _: post_frames(client, "verify", bob.verify[:5]),
                                  range(burst)))  # fmt: skip
    errors = sorted(response.json()["error"] for response in responses)
    limit = settings.face_max_failures
    assert errors.count("face_mismatch") == limit - 1, errors
    assert set(errors) <= {"face_mismatch", "face_tries_spent", "invalid_token"}, errors
    for response in responses:
        assert response.status_code == 401
        assert_no_score(response)

    right_face = post_frames(client, "verify", alice.verify)
    assert right_face.status_code == 401
    assert client.get("/api/v1/me").status_code == 401
    db = db_of(mongo, settings)
    assert comparisons(db, user["id"]) == limit  # never more than the session's limit
    assert db["sessions"].count_documents({"user_id": user["id"], "face_attempts": limit}) == 1


def test_consecutive_failures_across_logins_hold_the_account_with_growing_retry_after(
    client: TestClient,
    alice: PersonFrames,
    bob: PersonFrames,
    mongo: MongoClient,
    settings: Settings,
) -> None:
    user = enrolled_then_logged_out(client, "hold", alice)
    db = db_of(mongo, settings)
    per_session, per_account = settings.face_max_failures, settings.face_account_max_failures
    assert (per_session, per_account) == (3, 5)
    impostor = bob.verify[:5]

    # Five impostor tries over two password logins (3 + 2): the fifth starts a 30 s hold.
    login(client, user["email"], PASSWORD)
    assert [post_frames(client, "verify", impostor).json()["error"] for _ in range(3)] == [
        "face_mismatch", "face_mismatch", "face_tries_spent",
    ]  # fmt: skip
    login(client, user["email"], PASSWORD)
    assert [post_frames(client, "verify", impostor).json()["error"] for _ in range(2)] == [
        "face_mismatch", "face_mismatch",
    ]  # fmt: skip

    # The right face is held off too, in this session and after a new password login.
    held = post_frames(client, "verify", alice.verify)
    assert held.status_code == 429
    assert held.json()["error"] == "face_held"
    assert 25 <= int(held.headers["retry-after"]) <= settings.face_hold_seconds
    assert held.json()["retry_after"] == int(held.headers["retry-after"])
    assert_no_score(held)
    login(client, user["email"], PASSWORD)
    assert post_frames(client, "verify", alice.verify).status_code == 429
    assert comparisons(db, user["id"]) == 5

    # Once the hold is over, one more failure holds it again, twice as long.
    expire_hold(db, user["id"])
    assert post_frames(client, "verify", impostor).json()["error"] == "face_mismatch"
    again = post_frames(client, "verify", alice.verify)
    assert again.status_code == 429
    assert 55 <= int(again.headers["retry-after"]) <= 2 * settings.face_hold_seconds

    # Only a successful match resets the count.
    expire_hold(db, user["id"])
    login(client, user["email"], PASSWORD)
    matched = post_frames(client, "verify", alice.verify)
    assert matched.status_code == 200, matched.text
    assert db["face_attempts"].find_one({"_id": user["id"]})["failures"] == 0
    assert db["audit"].count_documents({"user_id": user["id"], "event": "face_hold_started"}) == 2

    text = metrics_text(client)
    assert metric(text, "face_auth_security_events_total", event="face_hold_started") == 2
    assert metric(text, "face_auth_login_attempts_total", factor="face", outcome="held") == 3
    assert metric(text, "face_auth_face_similarity_count") == 7  # the score goes here


def expire_hold(db: Database, user_id: str) -> None:
    """Let the hold run out without waiting for it."""
    past = utc_now() - timedelta(seconds=1)
    db["face_attempts"].update_one({"_id": user_id}, {"$set": {"held_until": past}})


def test_a_template_from_another_model_asks_to_enroll_again_without_comparing(
    client: TestClient, alice: PersonFrames, mongo: MongoClient, settings: Settings
) -> None:
    user = enrolled_then_logged_out(client, "oldmodel", alice)
    db = db_of(mongo, settings)
    db["embeddings"].update_one(
        {"user_id": user["id"]}, {"$set": {"model_version": "facenet-512d:other"}}
    )
    login(client, user["email"], PASSWORD)
    refused = post_frames(client, "verify", alice.verify)
    assert refused.status_code == 409
    assert refused.json()["error"] == "enroll_again"
    assert refused.json()["next"] == "enrollment_code"
    assert comparisons(db, user["id"]) == 0
    # The password alone may not replace it: enrolling again needs a one-time code.
    assert post_frames(client, "enroll", alice.verify).status_code == 403
    assert client.get("/api/v1/face").json()["template_current"] is False


def test_spent_or_held_sessions_are_refused_before_the_upload_is_read(
    client: TestClient, alice: PersonFrames, bob: PersonFrames, mongo: MongoClient,
    settings: Settings,
) -> None:  # fmt: skip
    user = enrolled_then_logged_out(client, "admission", alice)
    login(client, user["email"], PASSWORD)
    for _ in range(settings.face_max_failures - 1):
        assert post_frames(client, "verify", bob.verify[:5]).status_code == 401
    db = db_of(mongo, settings)
    db["face_attempts"].update_one(
        {"_id": user["id"]}, {"$set": {"held_until": utc_now() + timedelta(minutes=5)}}
    )
    status, read = raw_upload(client, "/api/v1/face/verify", megabytes=40)
    assert (status, read) == (429, 0)

    db["face_attempts"].update_one({"_id": user["id"]}, {"$set": {"held_until": None}})
    db["sessions"].update_many(
        {"user_id": user["id"]}, {"$set": {"face_attempts": settings.face_max_failures}}
    )
    status, read = raw_upload(client, "/api/v1/face/verify", megabytes=40)
    assert (status, read) == (401, 0)

    signed_in(client, "admission_new")  # no template: nothing to verify against
    assert raw_upload(client, "/api/v1/face/verify", megabytes=40) == (401, 0)


def raw_upload(client: TestClient, path: str, megabytes: int) -> tuple[int, int]:
    """POST a JSON body of `megabytes` through the ASGI app, counting the bytes the app pulls
    (TestClient itself would hand over the whole body at once). Returns (status, bytes read)."""
    chunk = b"x" * (1 << 20)
    chunks = [b'{"images": ["'] + [chunk] * megabytes + [b'"]}']
    total = sum(map(len, chunks))
    token = client.get("/api/v1/csrf").json()["csrf_token"]
    cookies = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
        "headers": [
            (b"host", b"testserver"), (b"content-type", b"application/json"),
            (b"content-length", str(total).encode()), (b"cookie", cookies.encode()),
            (b"x-csrf-token", token.encode()),
        ],
    }  # fmt: skip
    read = 0
    status = 0

    async def receive() -> dict:
        nonlocal read
        if not chunks:
            return {"type": "http.disconnect"}
        body = chunks.pop(0)
        read += len(body)
        return {"type": "http.request", "body": body, "more_body": bool(chunks)}

    async def send(message: dict) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    assert client.portal is not None
    client.portal.call(client.app, scope, receive, send)
    return status, read


def test_session_tries_left_and_hold_are_reported(
    client: TestClient, alice: PersonFrames, bob: PersonFrames, settings: Settings
) -> None:
    user = enrolled_then_logged_out(client, "status", alice)
    login(client, user["email"], PASSWORD)
    assert post_frames(client, "verify", bob.verify[:5]).status_code == 401
    face = client.get("/api/v1/face").json()
    assert face["attempts_left"] == settings.face_max_failures - 1
    assert face["held_until"] is None
    assert face["has_template"] is True
    assert re.fullmatch(r"\d+", str(face["recovery_codes_left"]))
