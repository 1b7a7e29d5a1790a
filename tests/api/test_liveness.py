"""Liveness through the HTTP API: challenges and their nonces, and each attack type refused
with its reason code, against the real models and database. Bona fide captures are head
turns rendered from real photos (tests/liveness_data.py)."""

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from pymongo import MongoClient

from app import create_app, pipeline_config
from face_auth.config import Settings
from face_auth.face_pipeline import FaceModels
from face_auth.face_pipeline.liveness import Action
from face_auth.utils import utc_now
from tests.api.test_face_api import signed_in
from tests.api.test_login import login
from tests.conftest import MODELS_DIR
from tests.liveness_data import LiveSubject, live_subjects
from tests.support import PASSWORD, csrf_headers

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def jerry(face_models: FaceModels, dataset_dir) -> list[LiveSubject]:
    config = pipeline_config(Settings(models_dir=MODELS_DIR))
    return live_subjects(face_models, dataset_dir, "jerry_seinfeld", 2, config)


@pytest.fixture
def live_settings(settings: Settings) -> Settings:
    """The default mode (challenge), always asking to turn left so the rendering can match."""
    return settings.model_copy(update={"liveness": "challenge", "liveness_actions": "turn_left"})


@pytest.fixture
def live(live_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(live_settings), follow_redirects=False) as test_client:
        yield test_client


def challenge(client: TestClient) -> dict:
    response = client.post("/api/v1/face/challenge", headers=csrf_headers(client))
    assert response.status_code == 200, response.text
    return response.json()


def post(client: TestClient, step: str, frames: list[bytes], nonce: str | None) -> httpx.Response:
    files = [("frames", (f"frame-{i}.jpg", data, "image/jpeg")) for i, data in enumerate(frames)]
    data = {"nonce": nonce} if nonce is not None else {}
    return client.post(f"/api/v1/face/{step}", files=files, data=data, headers=csrf_headers(client))


def test_challenge_issues_a_nonce_and_an_action(live: TestClient) -> None:
    signed_in(live, "challenge")
    issued = challenge(live)
    assert issued["mode"] == "challenge"
    assert issued["action"] == "turn_left"
    assert issued["instruction"].startswith("Turn your head slowly to your left")
    assert issued["expires_in"] == 60
    assert issued["frames"] == 12
    assert len(issued["nonce"]) >= 32
    assert challenge(live)["nonce"] != issued["nonce"]


def test_challenge_needs_a_session(live: TestClient) -> None:
    response = live.post("/api/v1/face/challenge", headers=csrf_headers(live))
    assert response.status_code == 401


def test_bona_fide_head_turn_enrolls_and_verifies(
    live: TestClient, jerry: list[LiveSubject], mongo: MongoClient, live_settings: Settings
) -> None:
    user = signed_in(live, "bonafide")
    enrolled = post(
        live, "enroll", jerry[0].head_turn(Action.TURN_LEFT, 1), challenge(live)["nonce"]
    )
    assert enrolled.status_code == 200, enrolled.text
    assert enrolled.json()["frames_used"] <= 8
    live.cookies.clear()
    assert login(live, user["email"], PASSWORD).status_code == 200
    verified = post(
        live, "verify", jerry[1].head_turn(Action.TURN_LEFT, 2), challenge(live)["nonce"]
    )
    assert verified.status_code == 200, verified.text
    assert verified.json()["accepted"] is True
    audit = mongo[live_settings.database_name]["audit"]
    checks = list(audit.find({"event": "liveness_checked"}))
    assert [c["passed"] for c in checks] == [True, True]
    scores = {c["check"]: c["score"] for c in checks[1]["checks"]}
    assert scores["challenge"] >= 1.0 and scores["flat_surface"] >= 0.015


def test_nonce_missing_reused_foreign_and_expired_are_refused(
    live: TestClient, live_settings: Settings, mongo: MongoClient, jerry: list[LiveSubject]
) -> None:
    signed_in(live, "nonce")
    frames = jerry[0].head_turn(Action.TURN_LEFT, 3)[:2]  # refused before any face work
    missing = post(live, "enroll", frames, None)
    assert missing.status_code == 400
    assert missing.json()["error"] == "challenge_required"

    unknown = post(live, "enroll", frames, "no-such-nonce")
    assert (unknown.status_code, unknown.json()["error"]) == (400, "challenge_unknown")

    # Another session (another user) cannot use this session's nonce.
    nonce = challenge(live)["nonce"]
    other = TestClient(live.app, follow_redirects=False)  # the same app, its own cookies
    signed_in(other, "nonce-other")
    foreign = post(other, "enroll", frames, nonce)
    assert (foreign.status_code, foreign.json()["error"]) == (400, "challenge_not_yours")

    # Used once (the frames are refused), it cannot be used again.
    first = post(live, "enroll", frames, nonce)
    assert first.status_code == 422
    reused = post(live, "enroll", frames, nonce)
    assert (reused.status_code, reused.json()["error"]) == (400, "challenge_used")

    stale = challenge(live)["nonce"]
    mongo[live_settings.database_name]["face_challenges"].update_many(
        {"used_at": None}, {"$set": {"expires_at": utc_now() - timedelta(seconds=1)}}
    )
    expired = post(live, "enroll", frames, stale)
    assert (expired.status_code, expired.json()["error"]) == (400, "challenge_expired")


def liveness_refusal(response: httpx.Response) -> str:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "liveness_failed"
    assert body["message"] == body["result"]["liveness"]["reason"]
    return body["result"]["liveness"]["reason_code"]


def test_attacks_are_refused_with_their_reason_and_count_as_failed_attempts(
    live: TestClient, jerry: list[LiveSubject]
) -> None:
    signed_in(live, "attacks")
    # Replay: one photo, re-encoded 12 times.
    assert liveness_refusal(post(live, "enroll", jerry[0].replay(4), challenge(live)["nonce"])) == (
        "repeated_frames"
    )
    # Wrong challenge: a real-looking head turn, to the right when left was asked.
    wrong = post(live, "enroll", jerry[0].head_turn(Action.TURN_RIGHT, 5), challenge(live)["nonce"])
    assert liveness_refusal(wrong) == "challenge_not_done"
    assert "Turn your head slowly to your left" in wrong.json()["message"]
    assert live.get("/api/v1/face").json()["attempts_left"] == 1
    # Print: the photo moved and tilted as a plane; the third failure ends the session.
    printed = post(live, "enroll", jerry[0].printed(6), challenge(live)["nonce"])
    assert printed.status_code == 401
    assert printed.json()["error"] == "face_tries_spent"


def test_frames_sent_before_are_refused_as_a_replay(
    live: TestClient, jerry: list[LiveSubject]
) -> None:
    signed_in(live, "replay")
    frames = jerry[0].head_turn(Action.TURN_LEFT, 7)
    assert post(live, "enroll", frames, challenge(live)["nonce"]).status_code == 200
    again = post(live, "enroll", frames, challenge(live)["nonce"])
    assert liveness_refusal(again) == "replayed_frames"


def test_passive_mode_needs_no_nonce_but_refuses_a_repeated_photo(
    settings: Settings, jerry: list[LiveSubject]
) -> None:
    passive = settings.model_copy(update={"liveness": "passive"})
    with TestClient(create_app(passive), follow_redirects=False) as client:
        signed_in(client, "passive")
        issued = challenge(client)
        assert (issued["mode"], issued["nonce"], issued["action"]) == ("passive", None, None)
        refused = post(client, "enroll", jerry[0].replay(8, count=8), None)
        assert liveness_refusal(refused) == "repeated_frames"
        accepted = post(client, "enroll", jerry[0].head_turn(Action.TURN_RIGHT, 9, count=8), None)
        assert accepted.status_code == 200, accepted.text
