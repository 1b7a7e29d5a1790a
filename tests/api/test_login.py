import re
import statistics
import time

import httpx
from fastapi.testclient import TestClient
from pymongo import MongoClient

from face_auth.config import Settings
from face_auth.constant import ACCESS_COOKIE
from tests.support import PASSWORD, csrf_headers, registration


def create_user(client: TestClient, suffix: str = "login") -> dict[str, str]:
    body = registration(suffix)
    assert client.post("/api/v1/users", json=body, headers=csrf_headers(client)).status_code == 201
    return body


def login(client: TestClient, email: str, password: str) -> httpx.Response:
    body = {"email": email, "password": password}
    return client.post("/api/v1/sessions", json=body, headers=csrf_headers(client))


def test_right_password_issues_short_lived_password_only_cookie(
    client: TestClient, settings: Settings
) -> None:
    user = create_user(client)
    response = login(client, user["email"].upper(), PASSWORD)

    assert response.status_code == 200
    assert response.json()["next"] == "enroll_face"
    assert response.json()["factors"] == ["pwd"]
    set_cookie = response.headers["set-cookie"]
    assert f"{ACCESS_COOKIE}=" in set_cookie
    assert "HttpOnly" in set_cookie
    assert "SameSite=lax" in set_cookie
    max_age = int(re.search(r"Max-Age=(\d+)", set_cookie).group(1))
    assert (
        settings.password_token_minutes * 60 - 5 <= max_age <= settings.password_token_minutes * 60
    )
    me = client.get("/api/v1/me").json()
    assert set(me["user"]) == {"id"}  # it opens only the face step: no email, name or phone
    assert me["factors"] == ["pwd"]
    assert me["has_face_template"] is False


def test_next_step_is_verify_when_user_has_a_face_template(
    client: TestClient, mongo: MongoClient, settings: Settings
) -> None:
    user = create_user(client)
    login(client, user["email"], PASSWORD)
    user_id = client.get("/api/v1/me").json()["user"]["id"]
    mongo[settings.database_name]["embeddings"].insert_one(
        {"user_id": user_id, "template": [0.0] * 128}
    )
    assert login(client, user["email"], PASSWORD).json()["next"] == "verify_face"


def test_wrong_password_and_unknown_email_look_the_same(client: TestClient) -> None:
    user = create_user(client)
    wrong = login(client, user["email"], "wrong password!")
    unknown = login(client, "nobody@example.com", PASSWORD)

    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert ACCESS_COOKIE not in wrong.cookies and ACCESS_COOKIE not in unknown.cookies


def test_wrong_password_and_unknown_email_take_the_same_time(client: TestClient) -> None:
    user = create_user(client)
    headers = csrf_headers(client)

    def seconds(email: str) -> float:
        started = time.perf_counter()
        body = {"email": email, "password": "wrong password!"}
        assert client.post("/api/v1/sessions", json=body, headers=headers).status_code == 401
        return time.perf_counter() - started

    # Interleaved (under the 5-failure hold), so a busy machine slows both alike.
    pairs = [(seconds(user["email"]), seconds("nobody@example.com")) for _ in range(4)]
    known = statistics.median(pair[0] for pair in pairs)
    unknown = statistics.median(pair[1] for pair in pairs)
    # Both do one bcrypt verification (about 0.2 s at cost 12); without the dummy hash the
    # unknown email would answer in a few milliseconds.
    assert 0.6 < unknown / known < 1.6, (known, unknown)


def test_login_page_success_redirects_to_face_step_and_failure_keeps_email(
    client: TestClient,
) -> None:
    user = create_user(client)
    token = csrf_headers(client)["X-CSRF-Token"]

    failed = client.post(
        "/auth/login", data={"email": user["email"], "password": "nope", "csrf_token": token}
    )
    assert failed.status_code == 401
    assert "Email or password is incorrect." in failed.text
    assert f'value="{user["email"]}"' in failed.text

    ok = client.post(
        "/auth/login", data={"email": user["email"], "password": PASSWORD, "csrf_token": token}
    )
    assert ok.status_code == 303
    assert ok.headers["location"] == "/application/face/enroll"


def test_register_page_shows_field_errors_and_keeps_input_but_never_the_password(
    client: TestClient,
) -> None:
    token = csrf_headers(client)["X-CSRF-Token"]
    form = registration("page", email="broken", password="Secret-Value-123")
    form["password_confirm"] = form["password"]
    response = client.post("/auth/register", data={**form, "csrf_token": token})

    assert response.status_code == 422
    assert "Enter a valid email address." in response.text
    assert 'value="Test User page"' in response.text
    assert 'value="broken"' in response.text
    assert "Secret-Value-123" not in response.text

    form["email"] = "page@example.com"
    created = client.post("/auth/register", data={**form, "csrf_token": token})
    assert created.status_code == 303
    assert created.headers["location"] == "/auth/login?registered=1"


def test_repeated_failures_lock_the_address_even_for_the_right_password(
    client: TestClient, settings: Settings
) -> None:
    user = create_user(client, "locked")
    for _ in range(settings.login_max_failures - 1):
        assert login(client, user["email"], "wrong password!").status_code == 401
    assert login(client, user["email"], PASSWORD).status_code == 200  # success resets the count

    for _ in range(settings.login_max_failures):
        assert login(client, user["email"], "wrong password!").status_code == 401
    locked = login(client, user["email"], PASSWORD)
    assert locked.status_code == 429
    assert locked.json()["error"] == "too_many_attempts"
    assert ACCESS_COOKIE not in locked.cookies


def test_unknown_addresses_lock_the_same_way(client: TestClient, settings: Settings) -> None:
    for _ in range(settings.login_max_failures):
        assert login(client, "nobody@example.com", PASSWORD).status_code == 401
    assert login(client, "nobody@example.com", PASSWORD).status_code == 429
