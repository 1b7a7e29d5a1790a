"""Only the owner puts a face on an account: the password alone only for the first enrollment
soon after registering; later a full session or a one-time code (recovery or enrollment)."""

from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from pymongo import MongoClient

from face_auth.config import Settings
from face_auth.utils import utc_now
from tests.api.test_face_api import post_frames, signed_in, stored_templates
from tests.api.test_login import create_user, login
from tests.api.test_metrics import metric
from tests.face_data import PersonFrames
from tests.support import PASSWORD, csrf_headers, metrics_text


def use_code(client: TestClient, code: str) -> httpx.Response:
    return client.post("/api/v1/face/recovery", json={"code": code}, headers=csrf_headers(client))


def enroll_first(client: TestClient, suffix: str, frames: PersonFrames) -> tuple[dict, list[str]]:
    user = signed_in(client, suffix)
    enrolled = post_frames(client, "enroll", frames.enroll)
    assert enrolled.status_code == 200, enrolled.text
    user["id"] = client.get("/api/v1/me").json()["user"]["id"]
    return user, enrolled.json()["recovery_codes"]


def audit_events(mongo: MongoClient, settings: Settings, user_id: str) -> list[str]:
    audit = mongo[settings.database_name]["audit"]
    return [event["event"] for event in audit.find({"user_id": user_id}).sort("at", 1)]


def test_first_enrollment_with_the_password_alone_closes_after_the_window(
    client: TestClient, mongo: MongoClient, settings: Settings
) -> None:
    user = create_user(client, "window")
    login(client, user["email"], PASSWORD)
    face = client.get("/api/v1/face").json()
    assert face["first_enrollment_until"] is not None
    page = client.get("/application/face/enroll")
    assert page.status_code == 200
    assert "with your password alone until" in page.text

    registered = utc_now() - timedelta(hours=settings.face_first_enroll_hours, minutes=1)
    mongo[settings.database_name]["users"].update_one(
        {"email": user["email"]}, {"$set": {"created_at": registered}}
    )
    assert client.get("/api/v1/face").json()["first_enrollment_until"] is None
    refused = client.post(
        "/api/v1/face/enroll", json={"images": []}, headers=csrf_headers(client)
    )  # refused before the (empty) upload matters
    assert refused.status_code == 403
    assert refused.json()["error"] == "enrollment_code_required"
    assert client.get("/application/face/enroll").headers["location"] == "/application/face/recover"
    recover = client.get("/application/face/recover")
    assert recover.status_code == 200
    assert 'name="code"' in recover.text


@pytest.mark.models
def test_after_deletion_enrollment_needs_a_code_which_works_once(
    client: TestClient,
    alice: PersonFrames,
    mongo: MongoClient,
    settings: Settings,
) -> None:
    user, codes = enroll_first(client, "afterdelete", alice)
    assert client.delete("/api/v1/face", headers=csrf_headers(client)).status_code == 204
    client.cookies.clear()
    login(client, user["email"], PASSWORD)
    assert post_frames(client, "enroll", alice.verify).status_code == 403

    wrong = use_code(client, "ABCD-EFGH-JKMN-PQRS-TVWX-YZ01")
    assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_code")
    used = use_code(client, codes[0].lower().replace("-", " "))  # case and separators ignored
    assert used.status_code == 200, used.text
    assert used.json() == {"next": "enroll_face", "redirect": "/application/face/enroll",
                           "recovery_codes_left": len(codes) - 1}  # fmt: skip
    enrolled = post_frames(client, "enroll", alice.verify)
    assert enrolled.status_code == 200, enrolled.text
    assert "recovery_codes" not in enrolled.json()  # shown at the first enrollment only
    assert client.get("/api/v1/me").json()["factors"] == ["pwd", "face"]
    assert len(stored_templates(mongo, settings)) == 1

    client.cookies.clear()
    login(client, user["email"], PASSWORD)
    again = use_code(client, codes[0])
    assert again.status_code == 401  # burnt
    assert client.get("/api/v1/face").json()["recovery_codes_left"] == len(codes) - 1
    events = audit_events(mongo, settings, user["id"])
    assert events.count("recovery_code_used") == 1
    assert events.count("code_refused") == 2
    assert "enrollment_refused" in events
    text = metrics_text(client)
    assert metric(text, "face_auth_security_events_total", event="recovery_code_used") == 1
    assert metric(text, "face_auth_security_events_total", event="recovery_codes_issued") == 1


@pytest.mark.models
def test_a_recovery_code_lets_the_owner_re_enroll_when_the_face_step_fails(
    client: TestClient, alice: PersonFrames, bob: PersonFrames, mongo: MongoClient,
    settings: Settings,
) -> None:  # fmt: skip
    user, codes = enroll_first(client, "recover", bob)  # enrolled from a poor "camera"
    [before] = stored_templates(mongo, settings)
    client.cookies.clear()
    login(client, user["email"], PASSWORD)
    assert post_frames(client, "verify", alice.verify).json()["error"] == "face_mismatch"

    assert use_code(client, codes[3]).status_code == 200
    assert client.get("/api/v1/face").json()["enrollment_authorized"] is True
    assert post_frames(client, "enroll", alice.enroll).status_code == 200
    [after] = stored_templates(mongo, settings)
    assert after["sealed"] != before["sealed"]

    client.cookies.clear()
    login(client, user["email"], PASSWORD)
    assert post_frames(client, "verify", alice.verify).status_code == 200


def test_wrong_codes_spend_the_sessions_tries(client: TestClient, settings: Settings) -> None:
    user = create_user(client, "guesser")
    login(client, user["email"], PASSWORD)
    errors = [
        use_code(client, "0000-0000-0000-0000-0000-0000").json()["error"]
        for _ in range(settings.face_max_failures)
    ]
    assert errors == ["invalid_code"] * (settings.face_max_failures - 1) + ["face_tries_spent"]
    assert client.get("/api/v1/me").status_code == 401


@pytest.mark.models
def test_regenerating_codes_needs_a_full_session_and_retires_the_old_ones(
    client: TestClient, alice: PersonFrames, mongo: MongoClient, settings: Settings
) -> None:
    user, codes = enroll_first(client, "regenerate", alice)
    fresh = client.post("/api/v1/face/recovery-codes", headers=csrf_headers(client))
    assert fresh.status_code == 201
    new_codes = fresh.json()["recovery_codes"]
    assert len(new_codes) == settings.recovery_codes
    assert not set(new_codes) & set(codes)
    page = client.get("/application/")
    assert f"{settings.recovery_codes} recovery codes left" in page.text

    client.cookies.clear()
    login(client, user["email"], PASSWORD)
    denied = client.post("/api/v1/face/recovery-codes", headers=csrf_headers(client))
    assert denied.status_code == 401
    assert use_code(client, codes[0]).status_code == 401  # retired
    assert use_code(client, new_codes[0]).status_code == 200
    events = audit_events(mongo, settings, user["id"])
    assert events.count("recovery_codes_issued") == 2


def test_wrong_codes_across_logins_start_the_accounts_face_hold(
    client: TestClient, settings: Settings, mongo: MongoClient
) -> None:
    """New password logins give new session tries, but not new account tries: wrong codes
    count in the account's face hold like failed faces (NIST SP 800-63B 5.2.2)."""
    user = create_user(client, "codeguesser")
    answers: list[str] = []
    while len(answers) < 10:
        client.cookies.clear()
        login(client, user["email"], PASSWORD)
        for _ in range(settings.face_max_failures):
            answer = use_code(client, "0000-0000-0000-0000-0000-0000")
            answers.append(answer.json()["error"])
            if answer.json()["error"] != "invalid_code":
                break
    per_account = settings.face_account_max_failures
    assert set(answers[:per_account]) <= {"invalid_code", "face_tries_spent"}, answers
    assert answers[per_account:] == ["face_held"] * (10 - per_account), answers
    assert client.get("/api/v1/face").json()["held_until"] is not None
    user_id = mongo[settings.database_name]["users"].find_one({"email": user["email"]})["_id"]
    assert "face_hold_started" in audit_events(mongo, settings, str(user_id))
