import json
import os
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from app import create_app
from face_auth.config import Settings
from face_auth.data_access import EmbeddedMongoServer
from face_auth.model_store import ModelsMissingError
from tests.support import (
    PASSWORD,
    ROOT,
    STARTUP_SECONDS,
    csrf_headers,
    pid_alive,
    registration,
    running_app,
)


@pytest.mark.slow
def test_embedded_database_keeps_users_across_restart_and_stops_cleanly(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {"FACE_AUTH_DATA_DIR": str(data_dir)}  # no MONGODB_URI: the app starts SecantusDB
    body = registration("restart")

    with running_app(env, tmp_path / "app1.log") as base_url, httpx.Client(base_url=base_url) as c:
        state = json.loads((data_dir / "secantusd.json").read_text())
        assert pid_alive(state["pid"])
        created = c.post("/api/v1/users", json=body, headers=csrf_headers(c), timeout=30)
        assert created.status_code == 201
        login = {"email": body["email"], "password": PASSWORD}
        assert c.post("/api/v1/sessions", json=login, headers=csrf_headers(c)).status_code == 200
        token = c.cookies["access_token"]

    # Ctrl-C stopped the app; its database server must be gone too (no orphan).
    deadline = time.monotonic() + 10
    while pid_alive(state["pid"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pid_alive(state["pid"])
    assert not (data_dir / "secantusd.json").exists()
    secret_file = data_dir / "secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600

    with running_app(env, tmp_path / "app2.log") as base_url, httpx.Client(base_url=base_url) as c:
        # Same secret file and stored session: the token from before the restart still works.
        c.cookies.set("access_token", token)
        assert c.get("/api/v1/me").json()["factors"] == ["pwd"]
        c.cookies.clear()
        login = {"email": body["email"], "password": PASSWORD}
        assert c.post("/api/v1/sessions", json=login, headers=csrf_headers(c)).status_code == 200
        duplicate = c.post("/api/v1/users", json=body, headers=csrf_headers(c))
        assert duplicate.status_code == 409


def processes_using(path: Path) -> list[int]:
    """The live processes whose command line names ``path``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if str(path).encode() in cmdline.read_bytes() and pid_alive(int(cmdline.parent.name)):
                found.append(int(cmdline.parent.name))
        except OSError:  # the process ended meanwhile
            continue
    return found


def test_models_that_fail_to_load_leave_no_database_process(tmp_path: Path) -> None:
    """The embedded database starts beside the models (app.start_models_and_database); when
    the models cannot load, the app does not start and that database is stopped again."""
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir, models_dir=tmp_path / "no-models", log_level="WARNING")
    with (
        pytest.raises(ModelsMissingError, match="face-auth models install"),
        TestClient(create_app(settings)),
    ):
        pass
    assert b"listening on 127.0.0.1" in (data_dir / "secantusd.log").read_bytes()  # it ran
    assert processes_using(data_dir) == []
    assert not (data_dir / "secantusd.json").exists()


@pytest.fixture
def doomed_server(tmp_path: Path) -> Iterator[EmbeddedMongoServer]:
    server = EmbeddedMongoServer(tmp_path / "doomed" / "db", STARTUP_SECONDS)
    server.start()
    yield server
    server.stop()


@pytest.mark.slow
def test_database_outage_gives_503_and_readyz_says_so(
    doomed_server: EmbeddedMongoServer, tmp_path: Path
) -> None:
    assert doomed_server.uri is not None
    settings = Settings(
        mongodb_uri=SecretStr(doomed_server.uri),
        database_name=f"outage_{uuid.uuid4().hex[:8]}",
        data_dir=tmp_path / "data",
        db_timeout_ms=500,
        log_level="WARNING",
        public_url="http://testserver",  # the TestClient's host
    )
    with TestClient(create_app(settings), follow_redirects=False) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"database": True, "models": True}
        headers = csrf_headers(client)
        assert (
            client.post("/api/v1/users", json=registration("down"), headers=headers).status_code
            == 201
        )

        doomed_server.kill()

        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"] is False

        login = {"email": "user_down@example.com", "password": PASSWORD}
        api = client.post("/api/v1/sessions", json=login, headers=headers)
        assert api.status_code == 503
        assert api.json()["error"] == "database_unavailable"

        form = {**login, "csrf_token": headers["X-CSRF-Token"]}
        page = client.post("/auth/login", data=form)
        assert page.status_code == 503
        assert "text/html" in page.headers["content-type"]
        assert "temporarily unavailable" in page.text
        assert "Traceback" not in page.text


def test_app_refuses_to_start_without_weights_and_names_the_command(tmp_path: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if key != "MONGODB_URI" and not key.startswith("FACE_AUTH_")
    }
    env.update({"FACE_AUTH_MODELS_DIR": str(tmp_path / "no-models"),
                "FACE_AUTH_DATA_DIR": str(tmp_path / "data")})  # fmt: skip
    started = subprocess.run(
        [sys.executable, str(ROOT / "app.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert started.returncode != 0
    assert "face-auth models install" in started.stderr
    assert not (tmp_path / "data" / "secantusd.json").exists()  # nothing was started
