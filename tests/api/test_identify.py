"""Identify mode (1:N) through the HTTP API, with real photos, the real models and database:
kiosks identify opted-in users only, kiosks and user sessions stay apart, liveness is
enforced as in verify, the mode is off by default."""

from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from pymongo import MongoClient

from app import create_app, pipeline_config
from face_auth.business_val.identify.kiosks import KioskService
from face_auth.config import Settings
from face_auth.constant import ACCESS_COOKIE
from face_auth.data_access import AuditRepository, connect
from face_auth.data_access.kiosk_repository import KioskRepository
from face_auth.face_pipeline import FaceModels
from face_auth.face_pipeline.liveness import Action
from tests.api.test_face_api import no_face_frame, post_frames, signed_in
from tests.api.test_liveness import challenge, liveness_refusal
from tests.api.test_liveness import post as post_with_nonce
from tests.conftest import MODELS_DIR
from tests.face_data import PersonFrames
from tests.liveness_data import LiveSubject, RealRun, disjoint_pair, live_subjects, real_runs
from tests.support import csrf_headers, metrics_text

pytestmark = pytest.mark.models


def add_kiosk(settings: Settings, name: str = "Front door") -> str:
    """A kiosk registered as `face-auth kiosks add` does; returns its token."""
    assert settings.mongodb_uri is not None
    database = connect(settings.mongodb_uri.get_secret_value(), settings.database_name, 2000)
    try:
        return KioskService(KioskRepository(database), AuditRepository(database)).add(name).token
    finally:
        database.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def identify(
    client: TestClient, token: str, frames: list[bytes], nonce: str | None = None
) -> httpx.Response:
    files = [("frames", (f"frame-{i}.jpg", data, "image/jpeg")) for i, data in enumerate(frames)]
    data = {"nonce": nonce} if nonce is not None else {}
    return client.post("/api/v1/identify", files=files, data=data, headers=bearer(token))


def kiosk_challenge(client: TestClient, token: str) -> dict:
    response = client.post("/api/v1/identify/challenge", headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()


def set_consent(client: TestClient, consent: bool) -> httpx.Response:
    return client.put(
        "/api/v1/identify/consent", json={"consent": consent}, headers=csrf_headers(client)
    )


def enrolled(client: TestClient, suffix: str, person: PersonFrames) -> str:
    """A user with a face (the first enrollment leaves a full session); returns the id."""
    signed_in(client, suffix)
    response = post_frames(client, "enroll", person.enroll)
    assert response.status_code == 200, response.text
    return client.get("/api/v1/me").json()["user"]["id"]


@pytest.fixture
def identify_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"identify": True})


@pytest.fixture
def app_client(identify_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(identify_settings), follow_redirects=False) as test_client:
        yield test_client


def other_client(client: TestClient) -> TestClient:
    """The same app (and database), its own cookies: another browser or a kiosk."""
    return TestClient(client.app, follow_redirects=False)


def test_kiosk_identifies_only_users_who_opted_in(
    app_client: TestClient,
    identify_settings: Settings,
    alice: PersonFrames,
    bob: PersonFrames,
    mongo: MongoClient,
) -> None:
    token = add_kiosk(identify_settings)
    kiosk = other_client(app_client)
    ann_id = enrolled(app_client, "ann", alice)
    assert app_client.get("/api/v1/identify/consent").json()["consent"] is False
    assert app_client.get("/api/v1/me/export").json()["identify_consent_at"] is None
    consent = set_consent(app_client, True)
    assert consent.status_code == 200, consent.text
    assert consent.json()["consent"] is True
    bob_browser = other_client(app_client)
    bob_id = enrolled(bob_browser, "bob", bob)

    found = identify(kiosk, token, alice.verify)
    assert found.status_code == 200, found.text
    assert found.json() == {"match": {"user_id": ann_id, "name": "Test User ann"}}
    # Bob is enrolled but did not opt in: nobody, and nothing else (no score, no candidates).
    assert identify(kiosk, token, bob.verify).json() == {"match": None}

    assert set_consent(bob_browser, True).status_code == 200
    assert identify(kiosk, token, bob.verify).json()["match"]["user_id"] == bob_id
    # Consent withdrawn: at once not searchable.
    assert set_consent(app_client, False).json()["consent"] is False
    assert identify(kiosk, token, alice.verify).json() == {"match": None}
    # Deleting the face removes the user from the gallery (and the consent with it).
    assert bob_browser.delete("/api/v1/face", headers=csrf_headers(bob_browser)).status_code == 204
    assert identify(kiosk, token, bob.verify).json() == {"match": None}
    assert bob_browser.get("/api/v1/identify/consent").json()["has_face"] is False
    refused = set_consent(bob_browser, True)
    assert (refused.status_code, refused.json()["error"]) == (409, "identify_consent_needs_face")

    database = mongo[identify_settings.database_name]
    calls = list(database["audit"].find({"event": "identify"}))
    assert [(c["outcome"], c["user_id"]) for c in calls] == [
        ("match", ann_id), ("no_match", None), ("match", bob_id), ("no_match", None),
        ("no_match", None),
    ]  # fmt: skip
    kiosk_id = token.removeprefix("fak_").split(".")[0]
    assert {c["kiosk"] for c in calls} == {kiosk_id}
    metrics = metrics_text(app_client)
    assert 'face_auth_login_attempts_total{factor="identify",outcome="match"} 2.0' in metrics
    assert 'face_auth_login_attempts_total{factor="identify",outcome="no_match"} 3.0' in metrics


def test_user_sessions_and_kiosks_cannot_use_each_others_routes(
    app_client: TestClient, identify_settings: Settings, alice: PersonFrames
) -> None:
    token = add_kiosk(identify_settings)
    enrolled(app_client, "sessions", alice)
    assert set_consent(app_client, True).status_code == 200
    # A full user session (cookie), with or without the CSRF token, cannot identify.
    for headers in ({}, csrf_headers(app_client)):
        files = [("frames", ("f.jpg", frame, "image/jpeg")) for frame in alice.verify]
        refused = app_client.post("/api/v1/identify", files=files, headers=headers)
        assert (refused.status_code, refused.json()["error"]) == (401, "kiosk_required")
    # Nor can its token sent as a bearer.
    user_token = app_client.cookies[ACCESS_COOKIE]
    assert identify(other_client(app_client), user_token, alice.verify).status_code == 401
    refused = other_client(app_client).post(
        "/api/v1/identify/challenge", headers=bearer(user_token)
    )
    assert refused.status_code == 401

    # A kiosk's token opens no user route, as a bearer or as the session cookie.
    kiosk = other_client(app_client)
    for path in ("/api/v1/me", "/api/v1/face", "/api/v1/identify/consent", "/application/"):
        response = kiosk.get(path, headers=bearer(token))
        assert response.status_code in (401, 303), (path, response.status_code)
        if response.status_code == 303:
            assert response.headers["location"] == "/auth/login"
    kiosk.cookies.set(ACCESS_COOKIE, token)
    assert kiosk.get("/api/v1/me").status_code == 401
    changed = kiosk.put("/api/v1/identify/consent", json={"consent": False}, headers=bearer(token))
    assert changed.status_code in (401, 403)
    assert app_client.get("/api/v1/identify/consent").json()["consent"] is True


def test_identify_is_off_by_default_and_then_answers_404(
    client: TestClient, settings: Settings, alice: PersonFrames
) -> None:
    assert settings.identify is False
    token = add_kiosk(settings)
    assert identify(client, token, alice.verify[:1]).status_code == 404
    assert client.post("/api/v1/identify/challenge", headers=bearer(token)).status_code == 404
    signed_in(client, "off")
    assert client.get("/api/v1/identify/consent").status_code == 404
    assert set_consent(client, True).status_code == 404


def test_account_page_toggle_gives_and_withdraws_consent(
    app_client: TestClient, alice: PersonFrames
) -> None:
    enrolled(app_client, "page", alice)
    page = app_client.get("/application/")
    assert page.status_code == 200
    assert "Let kiosks recognise me" in page.text
    toggled = app_client.post(
        "/application/identify", data={"consent": "on"}, headers=csrf_headers(app_client)
    )
    assert (toggled.status_code, toggled.headers["location"]) == (303, "/application/#identify")
    given = app_client.get("/api/v1/identify/consent").json()
    assert given["consent"] is True
    assert "Stop kiosks recognising me" in app_client.get("/application/").text
    # The user's data export says since when.
    exported = app_client.get("/api/v1/me/export").json()
    assert exported["identify_consent_at"] is not None
    assert "identify_consent_given" in {event["event"] for event in exported["audit_events"]}
    app_client.post(
        "/application/identify", data={"consent": "off"}, headers=csrf_headers(app_client)
    )
    assert app_client.get("/api/v1/identify/consent").json()["consent"] is False
    assert app_client.get("/api/v1/me/export").json()["identify_consent_at"] is None


def test_kiosk_rate_limit_answers_429_and_every_call_is_audited(
    identify_settings: Settings, mongo: MongoClient
) -> None:
    limited = identify_settings.model_copy(update={"identify_kiosk_requests_per_minute": 2})
    token = add_kiosk(limited)
    with TestClient(create_app(limited), follow_redirects=False) as kiosk:
        for _ in range(2):
            rejected = identify(kiosk, token, [no_face_frame()] * 5)
            assert (rejected.status_code, rejected.json()["error"]) == (422, "face_rejected")
        over = identify(kiosk, token, [no_face_frame()] * 5)
        assert (over.status_code, over.json()["error"]) == (429, "kiosk_rate_limited")
        assert int(over.headers["Retry-After"]) >= 1
        other = add_kiosk(limited, "Lobby")
        assert kiosk_challenge(kiosk, other)["mode"] == "off"
    outcomes = [
        e["outcome"] for e in mongo[limited.database_name]["audit"].find({"event": "identify"})
    ]
    assert outcomes == ["face_rejected", "face_rejected", "kiosk_rate_limited"]


# Liveness: the kiosk's frames go through the same challenge and checks as a verification.


@pytest.fixture(scope="module")
def jerry(face_models: FaceModels, dataset_dir) -> list[LiveSubject]:
    config = pipeline_config(Settings(models_dir=MODELS_DIR))
    return live_subjects(face_models, dataset_dir, "jerry_seinfeld", 2, config)


@pytest.fixture(scope="module")
def real(face_models: FaceModels) -> list[RealRun]:
    return real_runs(face_models, pipeline_config(Settings(models_dir=MODELS_DIR)))


def live_app(settings: Settings, action: Action) -> TestClient:
    update = {"identify": True, "liveness": "challenge", "liveness_actions": action.value}
    return TestClient(create_app(settings.model_copy(update=update)), follow_redirects=False)


def test_a_live_head_movement_is_identified_through_the_kiosk_challenge(
    settings: Settings, real: list[RealRun]
) -> None:
    first, second = disjoint_pair(real)
    with live_app(settings, first.action) as app_client:
        signed_in(app_client, "live")
        enrolled_now = post_with_nonce(
            app_client, "enroll", first.frames, challenge(app_client)["nonce"]
        )
        assert enrolled_now.status_code == 200, enrolled_now.text
        assert set_consent(app_client, True).status_code == 200
        user_id = app_client.get("/api/v1/me").json()["user"]["id"]
        token = add_kiosk(settings)
        kiosk = other_client(app_client)
        issued = kiosk_challenge(kiosk, token)
        assert (issued["mode"], issued["action"]) == ("challenge", first.action.value)
        found = identify(kiosk, token, second.frames, issued["nonce"])
        assert found.status_code == 200, found.text
        assert found.json()["match"]["user_id"] == user_id
        # The same frames again, with a fresh challenge: a replay of this kiosk's call.
        again = identify(kiosk, token, second.frames, kiosk_challenge(kiosk, token)["nonce"])
        assert liveness_refusal(again) == "replayed_frames"


def test_liveness_attacks_and_bad_nonces_are_refused_as_in_verify(
    settings: Settings, jerry: list[LiveSubject]
) -> None:
    with live_app(settings, Action.TURN_LEFT) as app_client:
        token = add_kiosk(settings)
        kiosk = other_client(app_client)
        frames = jerry[0].replay(4)
        missing = identify(kiosk, token, frames)
        assert (missing.status_code, missing.json()["error"]) == (400, "challenge_required")
        assert "/api/v1/identify/challenge" in missing.json()["message"]
        # A user session's challenge is not the kiosk's.
        signed_in(app_client, "nonce-owner")
        users_nonce = challenge(app_client)["nonce"]
        foreign = identify(kiosk, token, frames, users_nonce)
        assert (foreign.status_code, foreign.json()["error"]) == (400, "challenge_not_yours")
        # Nor is a kiosk's challenge usable by a user session.
        kiosk_nonce = kiosk_challenge(kiosk, token)["nonce"]
        stolen = post_with_nonce(app_client, "enroll", frames, kiosk_nonce)
        assert (stolen.status_code, stolen.json()["error"]) == (400, "challenge_not_yours")

        # Replay: one photo re-encoded; the nonce is burnt by the refused attempt.
        replayed = identify(kiosk, token, frames, kiosk_nonce)
        assert liveness_refusal(replayed) == "repeated_frames"
        reused = identify(kiosk, token, frames, kiosk_nonce)
        assert (reused.status_code, reused.json()["error"]) == (400, "challenge_used")
        # The wrong movement: a head turn to the right when left was asked.
        wrong = identify(
            kiosk,
            token,
            jerry[0].head_turn(Action.TURN_RIGHT, 5),
            kiosk_challenge(kiosk, token)["nonce"],
        )
        assert liveness_refusal(wrong) == "challenge_not_done"
        assert "match" not in wrong.json()
