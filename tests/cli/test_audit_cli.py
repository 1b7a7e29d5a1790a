"""`face-auth audit` shows what happened, as a table or JSON lines, and nothing secret."""

import json

import pytest
from fastapi.testclient import TestClient

from face_auth.cli import main
from face_auth.config import Settings
from tests.api.test_login import create_user, login
from tests.support import PASSWORD, csrf_headers


def audit_lines(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict]:
    assert main(["audit", "--json", *argv]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_audit_lists_a_users_events_in_order(
    client: TestClient,
    cli_env: Settings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    user = create_user(client, "audited")
    create_user(client, "bystander")
    assert login(client, user["email"], "wrong password!").status_code == 401
    assert login(client, user["email"], PASSWORD).status_code == 200
    assert (
        client.delete("/api/v1/sessions/current", headers=csrf_headers(client)).status_code == 204
    )

    events = audit_lines(capsys, "--user", user["email"])
    names = [event["event"] for event in events]
    assert names == ["user_registered", "login_failed", "password_verified", "logout"]
    assert len({event["user_id"] for event in events}) == 1
    text = json.dumps(events)
    assert PASSWORD not in text and "access_token" not in text

    everyone = audit_lines(capsys, "--since", "1h")
    assert names[0] in [event["event"] for event in everyone]
    assert len([event for event in everyone if event["event"] == "user_registered"]) == 2
    assert audit_lines(capsys, "--since", "2099-01-01") == []

    assert main(["audit", "--user", user["email"]]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].startswith("at (UTC)")
    assert "login_failed" in table[2] and "held=False" in table[2]


def test_audit_of_an_unknown_user_is_a_clear_error(
    cli_env: Settings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["audit", "--user", "nobody@example.com"]) == 1
    assert "No user" in json.loads(capsys.readouterr().out)["error"]
