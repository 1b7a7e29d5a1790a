"""Security writes acknowledged to the app survive a crash (kill -9) of the database."""

import os
import signal
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from face_auth.data_access import (
    Database,
    DatabaseSupervisor,
    LoginAttemptRepository,
    ServerState,
    SessionRepository,
    connect,
)
from face_auth.utils import utc_now
from tests.data_access.test_supervisor import make_supervisor, wait_for


@pytest.fixture
def crashable(tmp_path: Path) -> Iterator[tuple[DatabaseSupervisor, Database]]:
    supervisor = make_supervisor(tmp_path / "db")
    database = connect(supervisor.start(), "durable", timeout_ms=20_000)
    yield supervisor, database
    database.close()
    supervisor.stop()


def crash_and_recover(supervisor: DatabaseSupervisor) -> None:
    pid = supervisor.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: supervisor.pid not in (None, pid))
    wait_for(lambda: supervisor.state == ServerState.RUNNING)


def test_revocation_survives_a_crash_right_after_it(
    crashable: tuple[DatabaseSupervisor, Database],
) -> None:
    supervisor, database = crashable
    sessions = SessionRepository(database)
    now = utc_now()
    sessions.add("jti-1", "user-1", ["pwd"], now, now + timedelta(minutes=5))
    assert sessions.find_live("jti-1", now) is not None
    assert sessions.revoke("jti-1", now)
    crash_and_recover(supervisor)
    assert sessions.find_live("jti-1", utc_now()) is None


def test_lockout_survives_a_crash_right_after_it(
    crashable: tuple[DatabaseSupervisor, Database],
) -> None:
    supervisor, database = crashable
    attempts = LoginAttemptRepository(database)
    now = utc_now()
    keep_for = timedelta(minutes=15)
    for _ in range(3):
        assert attempts.reserve("victim@example.com", now, 3, keep_for) is not None
    until = now + timedelta(minutes=1)
    assert attempts.hold("victim@example.com", 3, until, keep_for, then_allow=1)
    crash_and_recover(supervisor)
    stored = attempts.locked_until("victim@example.com", utc_now())
    assert stored is not None
    assert abs(stored - until) < timedelta(milliseconds=1)  # BSON dates keep milliseconds
    assert attempts.reserve("victim@example.com", utc_now(), 3, keep_for) is None
