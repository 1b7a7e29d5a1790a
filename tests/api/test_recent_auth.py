"""Changing an authentication factor needs a recent sign-in with both factors (ASVS 5.0
V6.3, NIST SP 800-63B): an older full session must give the password again (and the face,
where the account has one) before it deletes or re-enrolls the face, regenerates recovery
codes, changes the password or deletes the account."""

from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from pymongo import MongoClient

from app import create_app
from face_auth.config import Settings
from face_auth.constant import ACCESS_COOKIE
from face_auth.utils import utc_now
from tests.api.test_face_api import post_frames, signed_in, stored_templates
from tests.api.test_login import create_user, login
from tests.api.test_oidc import add_client, authorize_params, consent, new_verifier
from tests.face_data import PersonFrames
from tests.support import PASSWORD, csrf_headers


def age_sessions(mongo: MongoClient, settings: Settings, minutes: int) -> None:
    """Move every full session's sign-in `minutes` into the past (as if it was kept open)."""
    old = utc_now() - timedelta(minutes=minutes)
    sessions = mongo[settings.database_name]["sessions"]
    sessions.update_many({"amr": "face"}, {"$set": {"auth_time": old}})


def full_session(client: TestClient, suffix: str) -> str:
    """A user without a face template, holding a full session signed in just now."""
    user = create_user(client, suffix)
    login(client, user["email"], PASSWORD)
    user_id = client.get("/api/v1/me").json()["user"]["id"]
    issued = client.app.state.tokens.issue(user_id, ["pwd", "face"], timedelta(minutes=30))
    client.cookies.clear()
    client.cookies.set(ACCESS_COOKIE, issued.token)
    return user_id


def reauthenticate(client: TestClient, password: str) -> httpx.Response:
    return client.post(
        "/api/v1/sessions/reauthenticate", json={"password": password},
        headers=csrf_headers(client),
    )  # fmt: skip


def assert_step_up_asked(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "reauthentication_required"
    assert response.json()["next"] == "reauthenticate"


@pytest.mark.models
def test_an_old_full_session_cannot_delete_the_face_without_the_password_and_face(
    client: TestClient, alice: PersonFrames, mongo: MongoClient, settings: Settings
) -> None:
    signed_in(client, "stale")
    assert post_frames(client, "enroll", alice.enroll).status_code == 200
    age_sessions(mongo, settings, settings.recent_auth_minutes + 1)

    assert_step_up_asked(client.delete("/api/v1/face", headers=csrf_headers(client)))
    assert_step_up_asked(post_frames(client, "enroll", alice.verify))
    assert len(stored_templates(mongo, settings)) == 1
    page = client.post("/application/face/delete", data={"csrf_token": csrf_headers(client)[
        "X-CSRF-Token"]})  # fmt: skip
    assert page.status_code == 303 and page.headers["location"] == "/auth/reauthenticate"
    assert len(stored_templates(mongo, settings)) == 1

    wrong = reauthenticate(client, "not the password")
    assert wrong.status_code == 422
    stepped = reauthenticate(client, PASSWORD)
    assert stepped.status_code == 200
    assert stepped.json() == {"next": "verify_face", "redirect": "/application/face/verify"}
    # The old full session ended; the new one has only the password until the face is shown.
    assert client.get("/api/v1/me").json()["factors"] == ["pwd"]
    assert client.delete("/api/v1/face", headers=csrf_headers(client)).status_code == 401
    assert post_frames(client, "verify", alice.verify).status_code == 200
    assert client.delete("/api/v1/face", headers=csrf_headers(client)).status_code == 204
    assert stored_templates(mongo, settings) == []


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/face/recovery-codes", None),
        ("DELETE", "/api/v1/face", None),
        ("POST", "/api/v1/password", {"current_password": PASSWORD,
                                      "new_password": "a new long passphrase",
                                      "new_password_confirm": "a new long passphrase"}),
        ("DELETE", "/api/v1/me", {"password": PASSWORD}),
    ],
)  # fmt: skip
def test_factor_changes_on_an_old_full_session_ask_for_a_step_up(
    client: TestClient, mongo: MongoClient, settings: Settings, method: str, path: str,
    body: dict | None,
) -> None:  # fmt: skip
    full_session(client, "old" + path.replace("/", "")[-8:])
    age_sessions(mongo, settings, settings.recent_auth_minutes + 1)
    headers = csrf_headers(client)
    assert_step_up_asked(client.request(method, path, json=body, headers=headers))
    assert client.get("/api/v1/me").status_code == 200  # still signed in, just not recently

    # Without a face on the account, the password alone refreshes this same session.
    stepped = reauthenticate(client, PASSWORD)
    assert stepped.json() == {"next": "application", "redirect": "/application/"}
    response = client.request(method, path, json=body, headers=csrf_headers(client))
    assert response.status_code in (201, 204), response.text


def test_a_fresh_sign_in_may_change_factors_and_the_pages_ask_for_the_step_up(
    client: TestClient, mongo: MongoClient, settings: Settings
) -> None:
    full_session(client, "fresh")
    assert client.get("/auth/password").status_code == 200
    assert client.get("/application/account/delete").status_code == 200
    age_sessions(mongo, settings, settings.recent_auth_minutes + 1)
    for page in ("/auth/password", "/application/account/delete"):
        response = client.get(page)
        assert response.status_code == 303
        assert response.headers["location"] == "/auth/reauthenticate"
    form = client.get("/auth/reauthenticate")
    assert form.status_code == 200 and 'name="password"' in form.text
    token = csrf_headers(client)["X-CSRF-Token"]
    wrong = client.post("/auth/reauthenticate", data={"password": "nope", "csrf_token": token})
    assert wrong.status_code == 422 and "not right" in wrong.text
    done = client.post("/auth/reauthenticate", data={"password": PASSWORD, "csrf_token": token})
    assert done.status_code == 303 and done.headers["location"] == "/application/"
    assert client.get("/auth/password").status_code == 200


def test_wrong_step_up_passwords_count_like_logins(
    client: TestClient, mongo: MongoClient, settings: Settings
) -> None:
    full_session(client, "stepguess")
    age_sessions(mongo, settings, settings.recent_auth_minutes + 1)
    codes = [reauthenticate(client, "wrong password!").status_code
             for _ in range(settings.login_max_failures + 1)]  # fmt: skip
    assert codes[: settings.login_max_failures] == [422] * settings.login_max_failures
    assert codes[-1] == 429


def test_granting_a_new_application_consent_needs_a_recent_sign_in(
    mongo: MongoClient, settings: Settings
) -> None:
    https = settings.model_copy(update={"public_url": "https://testserver"})
    with TestClient(create_app(https), base_url="https://testserver",
                    follow_redirects=False) as client:  # fmt: skip
        full_session(client, "consent")
        registered = add_client(client)
        age_sessions(mongo, settings, settings.recent_auth_minutes + 1)
        params = authorize_params(registered, new_verifier())
        refused = consent(client, params)
        assert refused.status_code == 303
        assert refused.headers["location"] == "/auth/reauthenticate"
        assert not mongo[settings.database_name]["oauth_grants"].count_documents({})
        assert reauthenticate(client, PASSWORD).status_code == 200
        granted = consent(client, params)
        assert granted.status_code == 302, granted.text
        assert granted.headers["location"].startswith(registered.client.redirect_uris[0])
