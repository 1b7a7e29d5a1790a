"""Attacks on the password step and registration, through the API against the real database."""

import statistics
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from pymongo import MongoClient

from app import create_app
from face_auth.config import Settings
from face_auth.constant import ACCESS_COOKIE
from tests.api.test_login import create_user, login
from tests.support import PASSWORD, csrf_headers, registration


def test_a_held_account_answers_the_same_to_the_right_password(
    client: TestClient, settings: Settings
) -> None:
    user = create_user(client, "held")
    for _ in range(settings.login_max_failures):
        assert login(client, user["email"], "wrong password!").status_code == 401
    wrong = login(client, user["email"], "wrong password!")
    right = login(client, user["email"], PASSWORD)
    assert wrong.status_code == right.status_code == 429
    assert wrong.json()["error"] == right.json()["error"] == "too_many_attempts"
    retry_after = int(right.headers["retry-after"])
    assert 1 <= retry_after <= settings.login_first_hold_seconds
    assert f"{retry_after} seconds" in right.json()["message"]
    assert "access_token" not in right.cookies


@pytest.fixture
def strict_client(settings: Settings) -> Iterator[TestClient]:
    strict = settings.model_copy(
        update={"login_client_max_failures": 3, "registrations_per_client": 3}
    )
    with TestClient(create_app(strict), follow_redirects=False) as test_client:
        yield test_client


def test_one_client_guessing_many_accounts_is_held(strict_client: TestClient) -> None:
    for i in range(3):
        assert login(strict_client, f"spray{i}@example.com", "Summer2026!").status_code == 401
    held = login(strict_client, "spray9@example.com", "Summer2026!")
    assert held.status_code == 429
    assert int(held.headers["retry-after"]) >= 1


def test_registration_is_rate_limited_per_client(strict_client: TestClient) -> None:
    for i in range(3):
        body = registration(f"scan{i}")
        response = strict_client.post(
            "/api/v1/users", json=body, headers=csrf_headers(strict_client)
        )
        assert response.status_code == 201
    body = registration("scan3")
    response = strict_client.post("/api/v1/users", json=body, headers=csrf_headers(strict_client))
    assert response.status_code == 429
    assert response.headers["retry-after"]
    assert "registrations" in response.json()["message"]


def timed_registration(client: TestClient, body: dict[str, str]) -> tuple[int, float]:
    headers = csrf_headers(client)
    started = time.perf_counter()
    response = client.post("/api/v1/users", json=body, headers=headers)
    return response.status_code, time.perf_counter() - started


def test_registration_takes_as_long_for_a_taken_address(client: TestClient) -> None:
    create_user(client, "taken")
    taken, fresh = [], []
    for i in range(3):
        status, seconds = timed_registration(client, registration("taken", username=f"other{i}"))
        assert status == 409
        taken.append(seconds)
        status, seconds = timed_registration(client, registration(f"fresh{i}"))
        assert status == 201
        fresh.append(seconds)
    # Both do one bcrypt hash (~0.25 s); before, a taken address answered in ~4 ms.
    ratio = statistics.median(taken) / statistics.median(fresh)
    assert 0.5 < ratio < 2.0, (taken, fresh)


def test_login_rehashes_when_the_cost_setting_rose(
    client: TestClient, settings: Settings, mongo: MongoClient
) -> None:
    user = create_user(client, "rehash")
    users = mongo[settings.database_name]["users"]
    assert users.find_one({"email": user["email"]})["password_hash"].startswith("$2b$12$")
    costlier = settings.model_copy(update={"bcrypt_rounds": 13})
    with TestClient(create_app(costlier)) as upgraded:
        assert login(upgraded, user["email"], PASSWORD).status_code == 200
    assert users.find_one({"email": user["email"]})["password_hash"].startswith("$2b$13$")
    assert login(client, user["email"], PASSWORD).status_code == 200


def test_common_password_is_refused_with_a_clear_message(client: TestClient) -> None:
    body = registration("common", password="Password1", password_confirm="Password1")
    response = client.post("/api/v1/users", json=body, headers=csrf_headers(client))
    assert response.status_code == 422
    assert "most common" in response.json()["fields"]["password"]


@pytest.mark.parametrize(
    ("field", "password"),
    [("password", "passw0rd!"), ("password", "letmein123"), ("password", "faceauth123"),
     ("password", "user_ctxname"), ("password", "User_CtxName2024!"),
     ("password", "Ctxname Person")],
)  # fmt: skip
def test_context_specific_and_variant_passwords_are_refused_at_registration(
    client: TestClient, field: str, password: str
) -> None:
    body = registration("ctxname", name="Ctxname Person", password=password,
                        password_confirm=password)  # fmt: skip
    response = client.post("/api/v1/users", json=body, headers=csrf_headers(client))
    assert response.status_code == 422, response.text
    assert field in response.json()["fields"]


def test_a_new_password_may_not_be_built_from_the_username(
    client: TestClient, settings: Settings
) -> None:
    user = create_user(client, "ctxchange")
    login(client, user["email"], PASSWORD)
    user_id = client.get("/api/v1/me").json()["user"]["id"]
    issued = client.app.state.tokens.issue(user_id, ["pwd", "face"], timedelta(minutes=30))
    client.cookies.clear()
    client.cookies.set(ACCESS_COOKIE, issued.token)
    new = "my user_ctxchange pw"
    body = {"current_password": PASSWORD, "new_password": new, "new_password_confirm": new}
    response = client.post("/api/v1/password", json=body, headers=csrf_headers(client))
    assert response.status_code == 422
    assert "username" in response.json()["fields"]["new_password"]
