"""Liveness through the HTTP API: challenges and their nonces, and each attack type refused
with its reason code, against the real models and database. Bona fide captures are runs of
the real clip; attacks are built from other photos of the victim (tests/liveness_data.py)."""

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
from face_auth_tools.liveness_evaluation import pose_value
from face_auth_tools.synthetic import jpeg_bytes
from tests.api.test_face_api import signed_in
from tests.api.test_login import login
from tests.conftest import MODELS_DIR
from tests.liveness_data import LiveSubject, RealRun, disjoint_pair, live_subjects, real_runs
from tests.support import PASSWORD, csrf_headers

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def jerry(face_models: FaceModels, dataset_dir) -> list[LiveSubject]:
    config = pipeline_config(Settings(models_dir=MODELS_DIR))
    return live_subjects(face_models, dataset_dir, "jerry_seinfeld", 2, config)


@pytest.fixture(scope="module")
def real(face_models: FaceModels) -> list[RealRun]:
    return real_runs(face_models, pipeline_config(Settings(models_dir=MODELS_DIR)))


@pytest.fixture
def live_settings(settings: Settings) -> Settings:
    """The default mode (challenge), always asking to turn left so the attacks can match."""
    return settings.model_copy(update={"liveness": "challenge", "liveness_actions": "turn_left"})


def asking(settings: Settings, action: Action) -> TestClient:
    """An app in the default mode that always asks for ``action``."""
    update = {"liveness": "challenge", "liveness_actions": action.value}
    return TestClient(create_app(settings.model_copy(update=update)), follow_redirects=False)


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


def test_real_head_movement_enrolls_and_verifies(
    settings: Settings, real: list[RealRun], mongo: MongoClient
) -> None:
    """Two captures of a real moving head (runs of the clip sharing no frame), each asked for
    the movement it shows, pass every check in the default mode."""
    first, second = disjoint_pair(real)
    with asking(settings, first.action) as live:
        user = signed_in(live, "bonafide")
        enrolled = post(live, "enroll", first.frames, challenge(live)["nonce"])
        assert enrolled.status_code == 200, enrolled.text
        assert enrolled.json()["frames_used"] <= 8
        live.cookies.clear()
        assert login(live, user["email"], PASSWORD).status_code == 200
        verified = post(live, "verify", second.frames, challenge(live)["nonce"])
        assert verified.status_code == 200, verified.text
        assert verified.json()["accepted"] is True
    audit = mongo[settings.database_name]["audit"]
    checks = list(audit.find({"event": "liveness_checked"}))
    assert [c["passed"] for c in checks] == [True, True]
    scores = {c["check"]: c["score"] for c in checks[1]["checks"]}
    limits = Settings()
    assert scores["challenge"] >= 1.0
    assert scores["flat_surface"] >= limits.liveness_min_flat_residual
    assert scores["single_picture"] >= limits.liveness_min_texture_change
    assert scores["continuity"] <= 1.0


def enrolled_victim(settings: Settings, jerry: list[LiveSubject]) -> dict[str, str]:
    """A victim enrolled from photos (liveness off for the enrollment only: the photos are
    the attacker's material, not a live capture)."""
    with TestClient(create_app(settings), follow_redirects=False) as setup:
        user = signed_in(setup, "victim")
        frames = [jpeg_bytes(subject.still) for subject in jerry[:2]] * 3
        enrolled = setup.post(
            "/api/v1/face/enroll",
            files=[("frames", (f"f{i}.jpg", f, "image/jpeg")) for i, f in enumerate(frames)],
            headers=csrf_headers(setup),
        )
        assert enrolled.status_code == 200, enrolled.text
    return user


def attack(
    settings: Settings, user: dict[str, str], action: Action, frames: list[bytes]
) -> set[str]:
    """The attacker knows the password: signs in, asks for a challenge, sends the frames.
    Returns the liveness checks that refused them."""
    with asking(settings, action) as client:
        assert login(client, user["email"], PASSWORD).status_code == 200
        response = post(client, "verify", frames, challenge(client)["nonce"])
        assert response.status_code != 200, "the attack got a full session"
        assert "access_token" not in response.cookies
        liveness_refusal(response)
        checks = response.json()["result"]["liveness"]["checks"]
        return {check["check"] for check in checks if not check["passed"]}


def test_one_other_photo_animated_into_the_asked_turn_is_refused(
    settings: Settings, face_models: FaceModels, dataset_dir
) -> None:
    config = pipeline_config(Settings(models_dir=MODELS_DIR))
    photos = live_subjects(face_models, dataset_dir, "jerry_seinfeld", 4, config)
    user = enrolled_victim(settings, photos)
    other = photos[3]  # a photo not used to enroll
    assert "single_picture" in attack(
        settings, user, Action.TURN_LEFT, other.head_turn(Action.TURN_LEFT, 11)
    )
    assert "single_picture" in attack(
        settings, user, Action.LOOK_UP, other.pivot_turn(Action.LOOK_UP, 12)
    )


def test_photos_ordered_by_pose_into_the_asked_turn_are_refused(
    settings: Settings, face_models: FaceModels, dataset_dir
) -> None:
    config = pipeline_config(Settings(models_dir=MODELS_DIR))
    photos = live_subjects(face_models, dataset_dir, "jerry_seinfeld", 10, config)
    user = enrolled_victim(settings, photos)
    for action in (Action.TURN_LEFT, Action.TURN_RIGHT):
        start = min(photos[2:], key=lambda photo: pose_value(photo.subject, action))
        others = [photo for photo in photos[2:] if photo is not start]
        frames = start.sequence_with(others, action, seed=13)
        refused_by = attack(settings, user, action, frames)
        assert refused_by & {"continuity", "challenge"}, refused_by


def test_a_session_gets_five_challenges_and_the_sixth_ends_it(live: TestClient) -> None:
    signed_in(live, "challenge-cap")
    nonces = {challenge(live)["nonce"] for _ in range(Settings().liveness_max_challenges)}
    assert len(nonces) == 5
    sixth = live.post("/api/v1/face/challenge", headers=csrf_headers(live))
    assert sixth.status_code == 401
    assert sixth.json()["error"] == "challenges_spent"
    assert sixth.json()["next"] == "login"
    # The session is over: the challenges it had cannot be used either.
    after = post(live, "enroll", [b"x"], nonces.pop())
    assert after.status_code == 401


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
    settings: Settings, real: list[RealRun]
) -> None:
    run = real[0]
    with asking(settings, run.action) as live:
        signed_in(live, "replay")
        assert post(live, "enroll", run.frames, challenge(live)["nonce"]).status_code == 200
        again = post(live, "enroll", run.frames, challenge(live)["nonce"])
        assert liveness_refusal(again) == "replayed_frames"


def test_passive_mode_needs_no_nonce_but_refuses_a_repeated_photo(
    settings: Settings, jerry: list[LiveSubject], real: list[RealRun]
) -> None:
    passive = settings.model_copy(update={"liveness": "passive"})
    with TestClient(create_app(passive), follow_redirects=False) as client:
        signed_in(client, "passive")
        issued = challenge(client)
        assert (issued["mode"], issued["nonce"], issued["action"]) == ("passive", None, None)
        refused = post(client, "enroll", jerry[0].replay(8, count=8), None)
        assert liveness_refusal(refused) == "repeated_frames"
        accepted = post(client, "enroll", real[0].frames[:8], None)
        assert accepted.status_code == 200, accepted.text
        animated = post(client, "enroll", jerry[0].head_turn(Action.TURN_RIGHT, 9, count=8), None)
        assert liveness_refusal(animated) == "single_picture"
