"""Helpers for tests that talk to the app."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from face_auth.config import Settings

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery"
METRICS_TOKEN = "test-metrics-token"
# The embedded server's start-up bound, from the one place defaults live.
STARTUP_SECONDS = Settings.model_fields["embedded_db_startup_seconds"].default


def registration(suffix: str, **overrides: str) -> dict[str, str]:
    body = {
        "name": f"Test User {suffix}",
        "username": f"user_{suffix}",
        "email": f"user_{suffix}@example.com",
        "phone": "+44 20 7946 0958",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
    }
    body.update(overrides)
    return body


def csrf_headers(client: httpx.Client) -> dict[str, str]:
    token = client.get("/api/v1/csrf").json()["csrf_token"]
    return {"X-CSRF-Token": token}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); read its state.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split()[2] == "Z")


@dataclass(frozen=True)
class RunningApp:
    base_url: str
    process: subprocess.Popen[bytes]


@contextmanager
def app_process(env: dict[str, str], log_path: Path, timeout: float = 90) -> Iterator[RunningApp]:
    """Run `python app.py` as a real process until it is ready; stop it with Ctrl-C (SIGINT)."""
    port = free_port()
    inherited = {
        key: value
        for key, value in os.environ.items()
        if key != "MONGODB_URI" and not key.startswith("FACE_AUTH_")
    }
    full_env = {**inherited, **env, "FACE_AUTH_PORT": str(port), "FACE_AUTH_HOST": "127.0.0.1"}
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py")],
            cwd=ROOT,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"app exited early:\n{log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"app not ready:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        yield RunningApp(base_url, process)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def running_app(env: dict[str, str], log_path: Path, timeout: float = 90) -> Iterator[str]:
    """Run `python app.py` as a real process; yield its base URL; stop it with Ctrl-C."""
    with app_process(env, log_path, timeout) as app:
        yield app.base_url


def metrics_text(client: httpx.Client) -> str:
    """What Prometheus reads, with the scrape token the test settings configure."""
    response = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200
    return response.text


# The settings a script started by run_app_script rebuilds (the rest keep their defaults).
SCRIPT_SETTINGS = ("mongodb_uri", "database_name", "data_dir", "jwt_secret", "models_dir",
                   "liveness", "public_url", "log_level")  # fmt: skip


def run_app_script(
    script: str, settings: Settings, argument: object, home: Path, **overrides: str
) -> dict:
    """Run ``script`` in a fresh interpreter (nothing this process imported or allocated is
    in it), with ``settings`` (and ``overrides``) as JSON in argv[1] and ``argument`` as
    JSON in argv[2]; return the JSON object it printed last."""
    fields = {
        name: (value.get_secret_value() if hasattr(value, "get_secret_value") else str(value))
        for name, value in settings.model_dump().items()
        if name in SCRIPT_SETTINGS
    } | overrides
    completed = subprocess.run(
        [sys.executable, "-c", script, json.dumps(fields), json.dumps(argument)],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])
