from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from pymongo import MongoClient

from face_auth.config import Settings
from face_auth.data_access import EmbeddedMongoServer
from tests.support import PASSWORD, csrf_headers, registration, running_app


def register(client: TestClient, body: dict[str, str]) -> httpx.Response:
    return client.post("/api/v1/users", json=body, headers=csrf_headers(client))


def test_valid_registration_stores_normalised_user_and_bcrypt_hash(
    client: TestClient, mongo: MongoClient, settings: Settings
) -> None:
    body = registration("ok", username="Ann.Lee", email="Ann.Lee@Example.COM")
    response = register(client, body)

    assert response.status_code == 201
    created = response.json()
    assert created["username"] == "ann.lee"
    assert created["email"] == "ann.lee@example.com"
    assert created["phone"] == "+442079460958"
    assert "password" not in response.text and "password_hash" not in created
    stored = mongo[settings.database_name]["users"].find_one({"email": "ann.lee@example.com"})
    assert stored is not None
    assert stored["password_hash"].startswith("$2b$12$")
    assert PASSWORD not in str(stored)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("email", "not-an-email", "valid email"),
        ("email", "a@b", "valid email"),
        ("password", "short", "at least 8"),
        ("password", "x" * 65, "at most 64"),
        ("password", "é" * 40, "72 bytes"),  # 40 characters, 80 bytes
        ("username", "a", "3 to 32"),
        ("phone", "call me", "7 to 15 digits"),
        ("name", "   ", "Enter your name"),
    ],
)
def test_invalid_field_is_refused_with_message_on_that_field(
    client: TestClient, field: str, value: str, expected: str
) -> None:
    overrides = {field: value}
    if field == "password":
        overrides["password_confirm"] = value
    response = register(client, registration("bad", **overrides))

    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_input"
    assert expected in body["fields"][field]


def test_password_mismatch_is_reported_on_confirmation(client: TestClient) -> None:
    response = register(client, registration("mm", password_confirm="something else"))
    assert response.status_code == 422
    assert "do not match" in response.json()["fields"]["password_confirm"]


def test_missing_field_and_malformed_json_get_422_without_trace(client: TestClient) -> None:
    headers = {**csrf_headers(client), "content-type": "application/json"}
    missing = client.post("/api/v1/users", json={"email": "x@example.com"}, headers=headers)
    malformed = client.post("/api/v1/users", content=b'{"name": ', headers=headers)

    for response in (missing, malformed):
        assert response.status_code == 422
        assert response.json()["error"] == "invalid_request"
        assert "Traceback" not in response.text


@pytest.mark.parametrize(
    "overrides",
    [
        {"username": "someone_else"},  # same email
        {"email": "other@example.com", "username": "USER_DUP"},  # same username, other case
    ],
)
def test_duplicate_email_or_username_conflicts_without_saying_which(
    client: TestClient, overrides: dict[str, str]
) -> None:
    assert register(client, registration("dup")).status_code == 201
    response = register(client, registration("dup", **overrides))

    assert response.status_code == 409
    assert response.json()["message"] == "An account with this email or username already exists."


@pytest.mark.slow
def test_concurrent_duplicate_registrations_exactly_one_wins(
    mongo_server: EmbeddedMongoServer, settings: Settings, mongo: MongoClient, tmp_path: Path
) -> None:
    assert mongo_server.uri is not None
    env = {
        "MONGODB_URI": mongo_server.uri,
        "FACE_AUTH_DATABASE_NAME": settings.database_name,
        "FACE_AUTH_DATA_DIR": str(tmp_path / "data"),
        # Every one of them costs a bcrypt hash; a busy machine must not turn that into 503s.
        "FACE_AUTH_PASSWORD_QUEUE_WAIT_SECONDS": "60",
    }
    with running_app(env, tmp_path / "app.log") as base_url, httpx.Client(base_url=base_url) as c:
        headers = csrf_headers(c)

        def attempt(index: int) -> int:
            body = registration("race", username=f"racer_{index}")
            return c.post("/api/v1/users", json=body, headers=headers, timeout=60).status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(attempt, range(8)))

    assert sorted(statuses) == [201] + [409] * 7, statuses
    users = mongo[settings.database_name]["users"]
    assert users.count_documents({"email": "user_race@example.com"}) == 1


@pytest.mark.parametrize(
    ("field", "twin"),
    [
        ("email", "\uff55ser_twin@example.com"),  # a fullwidth u in the local part
        ("email", "user_twin@ex\u0430mple.com"),  # a Cyrillic a in the domain
        ("email", "user_twin@EXAMPLE.com"),
        ("email", "u\u0455er_twin@example.com"),  # a Cyrillic dze (s) in the local part
        ("username", "\uff55ser_twin"),
    ],
)
def test_look_alikes_of_an_existing_account_are_refused_as_taken(
    client: TestClient, mongo: MongoClient, settings: Settings, field: str, twin: str
) -> None:
    """NFKC, IDNA/UTS #46 and TS #39 skeletons: a twin that reads the same is taken."""
    headers = csrf_headers(client)
    first = client.post("/api/v1/users", json=registration("twin"), headers=headers)
    assert first.status_code == 201
    body = registration("other", **{field: twin})
    response = client.post("/api/v1/users", json=body, headers=csrf_headers(client))
    assert response.status_code == 409, response.text
    assert response.json()["error"] == "account_exists"
    assert mongo[settings.database_name]["users"].count_documents({}) == 1


def test_digit_and_letter_look_alikes_in_usernames_are_taken(client: TestClient) -> None:
    assert client.post("/api/v1/users", json=registration("ann1"),
                       headers=csrf_headers(client)).status_code == 201  # fmt: skip
    body = registration("other", username="user_annl")
    response = client.post("/api/v1/users", json=body, headers=csrf_headers(client))
    assert response.status_code == 409
