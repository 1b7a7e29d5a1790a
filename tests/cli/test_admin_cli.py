import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pymongo import MongoClient

from face_auth.cli import main
from face_auth.config import Settings
from face_auth.constant import OAUTH_TOKENS_COLLECTION
from face_auth.data_access import EmbeddedMongoServer
from face_auth.utils import utc_now
from tests.api.test_face_api import post_frames
from tests.api.test_login import create_user, login
from tests.face_data import PersonFrames
from tests.support import PASSWORD, STARTUP_SECONDS, csrf_headers


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, object]:
    code = main(list(argv))
    return code, json.loads(capsys.readouterr().out)


def test_users_list_show_unlock_delete(
    client: TestClient, cli_env: Settings, mongo: MongoClient, capsys: pytest.CaptureFixture[str]
) -> None:
    user = create_user(client, "admin")
    other = create_user(client, "bystander")
    login(client, user["email"], PASSWORD)
    user_id = client.get("/api/v1/me").json()["user"]["id"]
    db = mongo[cli_env.database_name]
    db["embeddings"].insert_one({"user_id": user_id, "template": [0.0] * 128})
    for _ in range(cli_env.login_max_failures):
        login(client, user["email"], "wrong password!")

    code, users = run(capsys, "users", "list")
    assert code == 0
    assert sorted(u["email"] for u in users) == sorted([user["email"], other["email"]])
    code, shown = run(capsys, "users", "show", user["email"].upper())
    assert shown["has_face_template"] is True and shown["locked_until"] is not None

    assert run(capsys, "users", "unlock", user["email"]) == (0, {"unlocked": True})
    assert login(client, user["email"], PASSWORD).status_code == 200
    code, reset = run(capsys, "face", "reset", user["email"])
    assert code == 0 and reset["reset"] is True
    assert db["embeddings"].count_documents({"user_id": user_id}) == 0
    # The one-time enrollment code for the administrator to hand over, with its expiry.
    expires_at = datetime.fromisoformat(reset["expires_at"])
    lifetime = timedelta(hours=cli_env.enrollment_code_hours)
    assert abs(expires_at - utc_now() - lifetime) < timedelta(minutes=1)
    stored = db["recovery_codes"].find_one({"_id": user_id})
    assert reset["enrollment_code"] not in str(stored)  # only its hash is kept
    assert db["audit"].count_documents({"user_id": user_id,
                                        "event": "enrollment_code_issued"}) == 1  # fmt: skip

    assert run(capsys, "users", "delete", user["email"])[0] == 0
    assert db["users"].count_documents({"email": user["email"]}) == 0
    assert client.get("/api/v1/me").status_code == 401  # its sessions were revoked
    assert run(capsys, "users", "show", user["email"]) == (
        1, {"error": f"No user with email {user['email']}."}
    )  # fmt: skip
    assert db["users"].count_documents({"email": other["email"]}) == 1


def test_db_check_reports_indexes_and_counts(
    client: TestClient, cli_env: Settings, mongo: MongoClient, capsys: pytest.CaptureFixture[str]
) -> None:
    create_user(client, "check")
    code, report = run(capsys, "db", "check")
    assert code == 0
    assert report["healthy"] is True
    assert report["collections"]["users"]["count"] == 1
    assert "email_unique" in report["collections"]["users"]["indexes"]

    mongo[cli_env.database_name]["users"].drop_index("email_unique")
    code, report = run(capsys, "db", "check")
    assert code == 1
    assert report["collections"]["users"]["missing_indexes"] == ["email_unique"]


def test_export_then_import_carries_users_to_another_database(
    client: TestClient,
    cli_env: Settings,
    mongo: MongoClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    user = create_user(client, "moving")
    dump = tmp_path / "dump.jsonl"
    code, counts = run(capsys, "db", "export", str(dump))
    assert code == 0 and counts["users"] == 1

    target = cli_env.database_name + "_copy"
    monkeypatch.setenv("FACE_AUTH_DATABASE_NAME", target)
    monkeypatch.setenv("FACE_AUTH_AUDIT_RETENTION_DAYS", "30")
    try:
        assert run(capsys, "db", "import", str(dump))[1]["users"] == 1
        ttl = mongo[target]["audit"].index_information()["retention_ttl"]["expireAfterSeconds"]
        assert ttl == 30 * 24 * 3600  # the configured retention, not a default of 365 days
        assert run(capsys, "db", "import", str(dump))[1]["users"] == 1  # idempotent
        copied = mongo[target]["users"].find_one({"email": user["email"]})
        original = mongo[cli_env.database_name]["users"].find_one({"email": user["email"]})
        assert copied == original
        assert mongo[target]["users"].count_documents({}) == 1
    finally:
        mongo.drop_database(target)


def test_cli_uses_the_embedded_server_the_app_runs_or_starts_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("MONGODB_URI", raising=False)
    monkeypatch.setenv("FACE_AUTH_DATA_DIR", str(tmp_path / "data"))
    # Nothing running: the command starts a server on ./data/db and stops it again.
    assert run(capsys, "users", "list") == (0, [])
    assert not (tmp_path / "data" / "secantusd.json").exists()

    # A server already running on that storage (as `make run` leaves it): the CLI must use it,
    # since a second server cannot open the same storage.
    with EmbeddedMongoServer(tmp_path / "data" / "db", STARTUP_SECONDS) as running:
        assert running.uri is not None
        MongoClient(running.uri)["face_auth"]["users"].insert_one({"email": "x@example.com",
            "username": "x", "name": "X", "phone": "+15551234567", "password_hash": "h",
            "created_at": "2026-01-01T00:00:00Z"})  # fmt: skip
        code, users = run(capsys, "users", "list")
    assert code == 0
    assert [u["email"] for u in users] == ["x@example.com"]


@pytest.mark.models
def test_face_reset_code_lets_the_user_enroll_again_once(
    client: TestClient,
    cli_env: Settings,
    alice: PersonFrames,
    capsys: pytest.CaptureFixture[str],
) -> None:
    user = create_user(client, "resetcode")
    login(client, user["email"], PASSWORD)
    assert post_frames(client, "enroll", alice.enroll).status_code == 200
    code, reset = run(capsys, "face", "reset", user["email"])
    assert code == 0

    client.cookies.clear()
    login(client, user["email"], PASSWORD)
    assert post_frames(client, "enroll", alice.verify).status_code == 403  # no code: refused
    headers = csrf_headers(client)
    body = {"code": reset["enrollment_code"]}
    assert client.post("/api/v1/face/recovery", json=body, headers=headers).status_code == 200
    assert post_frames(client, "enroll", alice.verify).status_code == 200
    assert client.get("/api/v1/me").json()["factors"] == ["pwd", "face"]

    client.cookies.clear()
    login(client, user["email"], PASSWORD)
    headers = csrf_headers(client)
    again = client.post("/api/v1/face/recovery", json=body, headers=headers)
    assert again.status_code == 401  # used up


def test_face_reset_ends_every_live_session_of_the_account(
    client: TestClient, cli_env: Settings, mongo: MongoClient, capsys: pytest.CaptureFixture[str]
) -> None:
    """A full session signed in with the old face must not survive the reset (it could
    enroll a new face with no code); another account's session is left alone."""
    user = create_user(client, "resetlive")
    bystander = create_user(client, "resetbystander")
    ids = {}
    for person in (user, bystander):
        client.cookies.clear()
        login(client, person["email"], PASSWORD)
        ids[person["email"]] = client.get("/api/v1/me").json()["user"]["id"]
    tokens = client.app.state.tokens
    full = tokens.issue(ids[user["email"]], ["pwd", "face"], timedelta(minutes=30)).token
    other = tokens.issue(ids[bystander["email"]], ["pwd", "face"], timedelta(minutes=30)).token
    # An OpenID Connect access token each, as an application would hold them.
    oauth = mongo[cli_env.database_name][OAUTH_TOKENS_COLLECTION]
    for email, user_id in ids.items():
        expires = utc_now() + timedelta(minutes=10)
        oauth.insert_one({"_id": f"token-of-{email}", "client_id": "app", "user_id": user_id,
                          "scope": "openid", "code_id": None, "issued_at": utc_now(),
                          "expires_at": expires, "revoked_at": None})  # fmt: skip

    code, reset = run(capsys, "face", "reset", user["email"])
    assert code == 0 and reset["sessions_ended"] == 2  # the password-only one and the full one
    assert oauth.find_one({"_id": f"token-of-{user['email']}"})["revoked_at"] is not None
    assert oauth.find_one({"_id": f"token-of-{bystander['email']}"})["revoked_at"] is None

    client.cookies.clear()
    client.cookies.set("access_token", full)
    assert client.get("/api/v1/me").status_code == 401
    refused = client.post("/api/v1/face/enroll", json={"images": []}, headers=csrf_headers(client))
    assert refused.status_code == 401
    client.cookies.clear()
    client.cookies.set("access_token", other)
    assert client.get("/api/v1/me").status_code == 200


def test_locking_an_account_ends_its_sessions_until_unlocked(
    client: TestClient, cli_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    user = create_user(client, "lockme")
    login(client, user["email"], PASSWORD)
    user_id = client.get("/api/v1/me").json()["user"]["id"]
    full = client.app.state.tokens.issue(user_id, ["pwd", "face"], timedelta(minutes=30)).token

    code, locked = run(capsys, "users", "lock", user["email"])
    assert code == 0 and locked == {"locked": user["email"], "sessions_ended": 2}
    client.cookies.clear()
    client.cookies.set("access_token", full)
    assert client.get("/api/v1/me").status_code == 401
    client.cookies.clear()
    refused = login(client, user["email"], PASSWORD)
    assert (refused.status_code, refused.json()["error"]) == (403, "account_disabled")
    wrong = login(client, user["email"], "wrong password!")
    assert wrong.status_code == 401  # a wrong password learns nothing about the lock

    assert run(capsys, "users", "unlock", user["email"]) == (0, {"unlocked": True})
    assert login(client, user["email"], PASSWORD).status_code == 200
