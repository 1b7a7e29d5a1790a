"""Sessions end when the user says so, and the server-side record is the authority."""

from datetime import timedelta

import jwt
import pytest
from fastapi.testclient import TestClient

from face_auth.config import Settings
from face_auth.constant import ACCESS_COOKIE
from face_auth.utils import utc_now
from tests.api.test_login import create_user, login
from tests.api.test_sessions import issue, me_with
from tests.support import PASSWORD, csrf_headers

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def user(client: TestClient) -> dict[str, str]:
    created = create_user(client, "owner")
    assert login(client, created["email"], PASSWORD).status_code == 200
    created["id"] = client.get("/api/v1/me").json()["user"]["id"]
    client.cookies.clear()
    return created


def full_session(client: TestClient, user_id: str) -> str:
    return issue(client, user_id, ["pwd", "face"], lifetime=timedelta(minutes=30))


def test_sign_out_everywhere_ends_every_session(client: TestClient, user: dict[str, str]) -> None:
    other_full, other_password_only = (
        full_session(client, user["id"]),
        issue(client, user["id"], ["pwd"]),
    )
    client.cookies.set(ACCESS_COOKIE, full_session(client, user["id"]))
    response = client.post("/api/v1/sessions/revoke-all", headers=csrf_headers(client))
    assert response.status_code == 204
    assert client.get("/api/v1/me").status_code == 401
    for token in (other_full, other_password_only):
        assert me_with(client, token).status_code == 401


def test_sign_out_everywhere_needs_both_factors(client: TestClient, user: dict[str, str]) -> None:
    client.cookies.set(ACCESS_COOKIE, issue(client, user["id"], ["pwd"]))
    response = client.post("/api/v1/sessions/revoke-all", headers=csrf_headers(client))
    assert response.status_code == 401
    assert response.json()["error"] == "factor_required"


def change(client: TestClient, current: str, new: str, confirm: str | None = None) -> int:
    body = {
        "current_password": current,
        "new_password": new,
        "new_password_confirm": confirm or new,
    }
    return client.post("/api/v1/password", json=body, headers=csrf_headers(client)).status_code


def test_password_change_ends_the_other_sessions(client: TestClient, user: dict[str, str]) -> None:
    other = full_session(client, user["id"])
    mine = full_session(client, user["id"])
    client.cookies.set(ACCESS_COOKIE, mine)
    assert change(client, PASSWORD, NEW_PASSWORD) == 204
    assert client.get("/api/v1/me").status_code == 200  # this session goes on
    assert me_with(client, other).status_code == 401
    client.cookies.clear()
    assert login(client, user["email"], PASSWORD).status_code == 401
    assert login(client, user["email"], NEW_PASSWORD).status_code == 200


def test_password_change_refuses_a_wrong_current_or_a_weak_new_one(
    client: TestClient, user: dict[str, str]
) -> None:
    client.cookies.set(ACCESS_COOKIE, full_session(client, user["id"]))
    body = {"current_password": "not it at all", "new_password": NEW_PASSWORD,
            "new_password_confirm": NEW_PASSWORD}  # fmt: skip
    wrong = client.post("/api/v1/password", json=body, headers=csrf_headers(client))
    assert wrong.status_code == 422
    assert "current_password" in wrong.json()["fields"]
    assert change(client, PASSWORD, "password1") == 422
    assert change(client, PASSWORD, NEW_PASSWORD, "something else") == 422
    client.cookies.set(ACCESS_COOKIE, issue(client, user["id"], ["pwd"]))
    assert change(client, PASSWORD, NEW_PASSWORD) == 401  # needs both factors


def test_a_token_that_disagrees_with_its_session_record_is_refused(
    client: TestClient, settings: Settings, user: dict[str, str]
) -> None:
    """Forged with the signing key: the jti of a real password-only session, other claims."""
    real = issue(client, user["id"], ["pwd"])
    assert settings.jwt_secret is not None
    secret = settings.jwt_secret.get_secret_value()
    claims = jwt.decode(real, secret, algorithms=["HS256"])
    another_user = create_user(client, "other")
    assert login(client, another_user["email"], PASSWORD).status_code == 200
    other_id = client.get("/api/v1/me").json()["user"]["id"]
    client.cookies.clear()
    forgeries = [
        {**claims, "amr": ["pwd", "face"]},
        {**claims, "sub": other_id},
        {**claims, "exp": int((utc_now() + timedelta(hours=5)).timestamp())},
    ]
    for forged in forgeries:
        token = jwt.encode(forged, secret, algorithm="HS256")
        assert me_with(client, token).status_code == 401
    assert me_with(client, real).status_code == 200


def test_password_only_session_reads_no_profile(client: TestClient, user: dict[str, str]) -> None:
    me = me_with(client, issue(client, user["id"], ["pwd"])).json()
    assert me["user"] == {"id": user["id"]}
    full = me_with(client, full_session(client, user["id"])).json()
    assert full["user"]["email"] == user["email"]
