from datetime import timedelta

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient

from face_auth.constant import ACCESS_COOKIE
from face_auth.utils import utc_now
from tests.api.test_login import create_user, login
from tests.support import PASSWORD, csrf_headers


@pytest.fixture
def user_id(client: TestClient) -> str:
    user = create_user(client, "session")
    assert login(client, user["email"], PASSWORD).status_code == 200
    user_id = client.get("/api/v1/me").json()["user"]["id"]
    client.cookies.clear()
    return user_id


def me_with(client: TestClient, token: str) -> httpx.Response:
    client.cookies.set(ACCESS_COOKIE, token)
    return client.get("/api/v1/me")


def issue(client: TestClient, user_id: str, amr: list[str], **kwargs: object) -> str:
    tokens = client.app.state.tokens  # the app's own TokenService, with the real secret
    return tokens.issue(user_id, amr, kwargs.pop("lifetime", timedelta(minutes=5)), **kwargs).token


def test_expired_token_is_refused(client: TestClient, user_id: str) -> None:
    token = issue(client, user_id, ["pwd"], now=utc_now() - timedelta(minutes=10))
    response = me_with(client, token)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"


def test_token_signed_with_another_secret_is_refused(client: TestClient, user_id: str) -> None:
    now = int(utc_now().timestamp())
    claims = {"sub": user_id, "jti": "x", "iat": now, "exp": now + 300, "amr": ["pwd", "face"]}
    forged = jwt.encode(claims, "attacker-secret-that-is-long-enough-32b", algorithm="HS256")
    assert me_with(client, forged).status_code == 401


def test_unsigned_alg_none_token_is_refused(client: TestClient, user_id: str) -> None:
    now = int(utc_now().timestamp())
    claims = {"sub": user_id, "jti": "x", "iat": now, "exp": now + 300, "amr": ["pwd", "face"]}
    unsigned = jwt.encode(claims, None, algorithm="none")
    assert me_with(client, unsigned).status_code == 401
    assert me_with(client, "not.a.jwt").status_code == 401


def test_validly_signed_token_without_server_side_session_is_refused(
    client: TestClient, user_id: str
) -> None:
    secret = client.app.state.settings.jwt_secret.get_secret_value()
    now = int(utc_now().timestamp())
    claims = {"sub": user_id, "jti": "never-issued", "iat": now, "exp": now + 300, "amr": ["pwd"]}
    assert me_with(client, jwt.encode(claims, secret, algorithm="HS256")).status_code == 401


def test_logout_revokes_the_token_everywhere(client: TestClient, user_id: str) -> None:
    token = issue(client, user_id, ["pwd"])
    client.cookies.set(ACCESS_COOKIE, token)
    response = client.delete("/api/v1/sessions/current", headers=csrf_headers(client))
    assert response.status_code == 204
    assert 'access_token=""' in response.headers["set-cookie"]

    assert me_with(client, token).status_code == 401
    client.cookies.set(ACCESS_COOKIE, token)
    assert client.get("/application/").headers["location"] == "/auth/login"


def test_page_logout_revokes_and_redirects(client: TestClient, user_id: str) -> None:
    token = issue(client, user_id, ["pwd", "face"])
    client.cookies.set(ACCESS_COOKIE, token)
    csrf = csrf_headers(client)["X-CSRF-Token"]
    response = client.post("/auth/logout", data={"csrf_token": csrf})
    assert response.status_code == 303
    assert me_with(client, token).status_code == 401


def test_protected_page_refuses_password_only_token(client: TestClient, user_id: str) -> None:
    client.cookies.set(ACCESS_COOKIE, issue(client, user_id, ["pwd"]))
    page = client.get("/application/")
    assert page.status_code == 303
    assert page.headers["location"] == "/application/face/enroll"

    api = client.get("/api/v1/application")
    assert api.status_code == 401
    assert api.json()["next"] == "enroll_face"


def test_protected_page_without_any_token_goes_to_login(client: TestClient) -> None:
    assert client.get("/application/").headers["location"] == "/auth/login"
    assert client.get("/api/v1/application").status_code == 401


def test_full_session_opens_the_protected_page(client: TestClient, user_id: str) -> None:
    client.cookies.set(ACCESS_COOKIE, issue(client, user_id, ["pwd", "face"]))
    page = client.get("/application/")
    assert page.status_code == 200
    assert "Welcome, Test User session" in page.text
    api = client.get("/api/v1/application")
    assert api.status_code == 200
    assert api.json()["factors"] == ["pwd", "face"]
