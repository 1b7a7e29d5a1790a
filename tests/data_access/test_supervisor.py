"""The embedded database's supervisor, without HTTP: real SecantusDB processes."""

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pymongo import MongoClient, WriteConcern

from face_auth.data_access import DatabaseSupervisor, ServerState
from tests.support import STARTUP_SECONDS, pid_alive


def wait_for(condition: object, timeout: float = 30.0) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def make_supervisor(storage: Path, max_quick_failures: int = 5) -> DatabaseSupervisor:
    return DatabaseSupervisor(
        storage,
        startup_timeout=STARTUP_SECONDS,
        max_quick_failures=max_quick_failures,
        failure_window=60.0,
        restart_delay=0.1,
    )


@pytest.fixture
def supervisor(tmp_path: Path) -> Iterator[DatabaseSupervisor]:
    running = make_supervisor(tmp_path / "db")
    yield running
    running.stop()


def test_server_outlives_the_short_lived_thread_that_started_it(
    supervisor: DatabaseSupervisor,
) -> None:
    # The app starts it from a pool worker, which retires after 10 idle seconds; the server
    # must not die with that thread (PDEATHSIG is per thread).
    worker = threading.Thread(target=supervisor.start)
    worker.start()
    worker.join()
    pid = supervisor.pid
    assert pid is not None and pid_alive(pid)
    time.sleep(1.0)
    assert pid_alive(pid)
    assert supervisor.state == ServerState.RUNNING


def test_killed_server_is_restarted_on_the_same_storage_and_port(
    supervisor: DatabaseSupervisor,
) -> None:
    uri = supervisor.start()
    client: MongoClient = MongoClient(uri, serverSelectionTimeoutMS=20_000)
    try:
        journaled = client.test.get_collection("items", write_concern=WriteConcern(j=True))
        journaled.insert_one({"_id": "kept", "journaled": True})
        first_pid = supervisor.pid
        assert first_pid is not None
        os.kill(first_pid, signal.SIGKILL)
        wait_for(lambda: supervisor.pid not in (None, first_pid))
        wait_for(lambda: supervisor.state == ServerState.RUNNING)
        # The same client reconnects by itself: same port, same data.
        assert client.test.items.find_one({"_id": "kept"}) == {"_id": "kept", "journaled": True}
        assert supervisor.restarts == 1
    finally:
        client.close()


def test_gives_up_after_too_many_quick_failures(tmp_path: Path) -> None:
    supervisor = make_supervisor(tmp_path / "db", max_quick_failures=1)
    supervisor.start()
    try:
        for _ in range(2):
            pid = supervisor.pid
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            wait_for(lambda pid=pid: supervisor.pid != pid or supervisor.state == "failed")
            wait_for(lambda: supervisor.state in (ServerState.RUNNING, ServerState.FAILED))
        assert supervisor.state == ServerState.FAILED
        assert supervisor.restarts == 1
    finally:
        supervisor.stop()


def test_stop_ends_the_server_and_its_thread(supervisor: DatabaseSupervisor) -> None:
    supervisor.start()
    pid = supervisor.pid
    assert pid is not None
    supervisor.stop()
    assert not pid_alive(pid)
    assert supervisor.state == ServerState.STOPPED
    assert not any(thread.name == "database-supervisor" for thread in threading.enumerate())
