"""The embedded default under ordinary use and faults: one real app process (`python app.py`,
no MONGODB_URI) for the module, driven over loopback like its users and operators would."""

import asyncio
import contextlib
import json
import os
import signal
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import PASSWORD, RunningApp, app_process, csrf_headers, pid_alive, registration

pytestmark = pytest.mark.slow

SECRET = "reliability-" + uuid.uuid4().hex * 2
DATABASE = f"reliability_{uuid.uuid4().hex[:8]}"
# Two bcrypt threads (the default) and a short queue, so a flood overflows it.
POOL = {"FACE_AUTH_PASSWORD_QUEUE_LIMIT": "8", "FACE_AUTH_PASSWORD_QUEUE_WAIT_SECONDS": "3"}
THREAD_IDLE_SECONDS = 10  # anyio retires idle worker threads after this long


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("reliability") / "data"


@pytest.fixture(scope="module")
def embedded_app(data_dir: Path) -> Iterator[RunningApp]:
    env = {
        "FACE_AUTH_DATA_DIR": str(data_dir),
        "FACE_AUTH_JWT_SECRET": SECRET,
        "FACE_AUTH_DATABASE_NAME": DATABASE,
        # Every simulated user registers from this machine's one address.
        "FACE_AUTH_REGISTRATIONS_PER_CLIENT": "1000",
        **POOL,
    }
    with app_process(env, data_dir.parent / "app.log") as app:
        yield app


def database_pid(data_dir: Path) -> int:
    return int(json.loads((data_dir / "secantusd.json").read_text())["pid"])


def sign_up_and_in(base_url: str, suffix: str) -> httpx.Client:
    client = httpx.Client(base_url=base_url, timeout=30)
    body = registration(suffix)
    assert client.post("/api/v1/users", json=body, headers=csrf_headers(client)).status_code == 201
    login = {"email": body["email"], "password": PASSWORD}
    response = client.post("/api/v1/sessions", json=login, headers=csrf_headers(client))
    assert response.status_code == 200, response.text
    return client


async def one_user_round(base_url: str, suffix: str) -> list[int]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        token = (await client.get("/api/v1/csrf")).json()["csrf_token"]
        headers = {"X-CSRF-Token": token}
        body = registration(suffix)
        login = {"email": body["email"], "password": PASSWORD}
        statuses = [(await client.post("/api/v1/users", json=body, headers=headers)).status_code]
        statuses.append(
            (await client.post("/api/v1/sessions", json=login, headers=headers)).status_code
        )
        statuses.append((await client.get("/api/v1/me")).status_code)
        statuses.append((await client.get("/readyz")).status_code)
        statuses.append((await client.get("/auth/login")).status_code)
        return statuses


async def traffic_round(base_url: str, round_number: int, users: int = 6) -> list[int]:
    rounds = [one_user_round(base_url, f"soak{round_number}_{i}") for i in range(users)]
    return [status for statuses in await asyncio.gather(*rounds) for status in statuses]


def test_soak_traffic_and_idle_spells_keep_the_database_up(
    embedded_app: RunningApp, data_dir: Path
) -> None:
    first_pid = database_pid(data_dir)
    expected = [201, 200, 200, 200, 200] * 6
    for round_number in range(3):
        assert asyncio.run(traffic_round(embedded_app.base_url, round_number)) == expected
        time.sleep(THREAD_IDLE_SECONDS + 2)
    assert httpx.get(f"{embedded_app.base_url}/readyz").status_code == 200
    # The same server all along: nothing killed it, nothing had to restart it.
    assert database_pid(data_dir) == first_pid and pid_alive(first_pid)
    health = httpx.get(f"{embedded_app.base_url}/healthz").json()
    assert health["checks"] == {"database_process": "running"}


async def login_flood(base_url: str, clients: int) -> tuple[list[httpx.Response], list[float]]:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        token = (await client.get("/api/v1/csrf")).json()["csrf_token"]
        headers = {"X-CSRF-Token": token}
        health_latencies: list[float] = []
        flooding = True

        async def probe_health() -> None:
            while flooding:
                started = time.perf_counter()
                assert (await client.get("/healthz")).status_code == 200
                health_latencies.append(time.perf_counter() - started)
                await asyncio.sleep(0.05)

        async def wrong_login(i: int) -> httpx.Response:
            body = {"email": f"flood{i}_{uuid.uuid4().hex[:6]}@example.com", "password": "wrong"}
            return await client.post("/api/v1/sessions", json=body, headers=headers)

        prober = asyncio.create_task(probe_health())
        responses = await asyncio.gather(*(wrong_login(i) for i in range(clients)))
        flooding = False
        await prober
        return list(responses), health_latencies


def test_login_flood_gets_503_past_the_bound_and_health_keeps_answering(
    embedded_app: RunningApp,
) -> None:
    responses, health_latencies = asyncio.run(login_flood(embedded_app.base_url, 64))
    statuses = {response.status_code for response in responses}
    assert statuses <= {401, 503}
    busy = [response for response in responses if response.status_code == 503]
    assert busy, "64 logins against 2 bcrypt threads and a queue of 8 must overflow"
    assert all(response.headers.get("retry-after") for response in busy)
    assert all(response.json()["error"] == "busy" for response in busy)
    assert len(busy) < len(responses)  # the queue still served some
    # bcrypt never holds the threads health checks need (it was 1.4 s at p50 before).
    assert health_latencies and max(health_latencies) < 1.0


def test_two_app_processes_share_revocations_and_lockouts(
    embedded_app: RunningApp, data_dir: Path
) -> None:
    uri = json.loads((data_dir / "secantusd.json").read_text())["uri"]
    env = {
        "MONGODB_URI": uri,
        "FACE_AUTH_DATA_DIR": str(data_dir.parent / "second"),
        "FACE_AUTH_JWT_SECRET": SECRET,
        "FACE_AUTH_DATABASE_NAME": DATABASE,
        "FACE_AUTH_REGISTRATIONS_PER_CLIENT": "1000",
    }
    with app_process(env, data_dir.parent / "second.log") as second:
        first_client = sign_up_and_in(embedded_app.base_url, "twoapps")
        token = first_client.cookies["access_token"]
        with httpx.Client(base_url=second.base_url, timeout=30) as second_client:
            second_client.cookies.set("access_token", token)
            assert second_client.get("/api/v1/me").status_code == 200
            logout = second_client.delete(
                "/api/v1/sessions/current", headers=csrf_headers(second_client)
            )
            assert logout.status_code == 204
        assert first_client.get("/api/v1/me").status_code == 401
        first_client.close()

        email = f"shared_lock_{uuid.uuid4().hex[:6]}@example.com"
        wrong = {"email": email, "password": "not the password"}
        for base_url, tries in ((embedded_app.base_url, 3), (second.base_url, 2)):
            with httpx.Client(base_url=base_url, timeout=30) as client:
                for _ in range(tries):
                    response = client.post(
                        "/api/v1/sessions", json=wrong, headers=csrf_headers(client)
                    )
                    assert response.status_code == 401
        with httpx.Client(base_url=embedded_app.base_url, timeout=30) as client:
            response = client.post("/api/v1/sessions", json=wrong, headers=csrf_headers(client))
            assert response.status_code == 429  # 3 + 2 failures reached the limit of 5


def wait_until(condition: object, timeout: float = 60.0) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_database_crash_is_healed_and_a_confirmed_logout_stays_done(
    embedded_app: RunningApp, data_dir: Path
) -> None:
    body = registration("crash")
    client = sign_up_and_in(embedded_app.base_url, "crash")
    token = client.cookies["access_token"]
    assert (
        client.delete("/api/v1/sessions/current", headers=csrf_headers(client)).status_code == 204
    )
    old_pid = database_pid(data_dir)
    os.kill(old_pid, signal.SIGKILL)  # right after the 204

    def restarted() -> bool:
        try:
            return database_pid(data_dir) != old_pid and client.get("/readyz").status_code == 200
        except (FileNotFoundError, ValueError):
            return False

    wait_until(restarted)
    client.cookies.set("access_token", token)
    assert client.get("/api/v1/me").status_code == 401  # the logout survived the crash
    client.cookies.clear()
    login = {"email": body["email"], "password": PASSWORD}
    assert (
        client.post("/api/v1/sessions", json=login, headers=csrf_headers(client)).status_code == 200
    )
    assert client.get("/api/v1/me").status_code == 200
    client.close()


def test_a_gigabyte_upload_is_refused_without_reading_it(embedded_app: RunningApp) -> None:
    host, port = embedded_app.base_url.removeprefix("http://").split(":")
    boundary = "b0undary"
    head = (
        f"POST /auth/login HTTP/1.1\r\nHost: {host}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {1024**3}\r\nCookie: csrf_token=planted\r\n\r\n"
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\nplanted\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="f"; filename="x"\r\n\r\n'
    )
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(head.encode())
        with contextlib.suppress(OSError):  # the server may close before it all arrives
            for _ in range(16):
                connection.sendall(b"x" * 65536)
        answer = connection.recv(4096).decode(errors="replace")
    assert answer.startswith("HTTP/1.1 413")


def test_killed_app_leaves_no_database_process(embedded_app: RunningApp, data_dir: Path) -> None:
    pid = database_pid(data_dir)
    assert pid_alive(pid)
    embedded_app.process.kill()
    embedded_app.process.wait()
    wait_until(lambda: not pid_alive(pid), timeout=10)
