"""Keeps the embedded database server running for as long as the app runs."""

import enum
import logging
import threading
import time
from collections import deque
from pathlib import Path

from face_auth.data_access.embedded_server import EmbeddedMongoServer, EmbeddedServerError
from face_auth.logger import get_logger, log_event

logger = get_logger(__name__)


class ServerState(enum.StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    RESTARTING = "restarting"
    FAILED = "failed"  # gave up after too many quick failures
    STOPPED = "stopped"


class DatabaseSupervisor:
    """Starts SecantusDB from its own thread, which lives until `stop()`, and restarts it on the
    same storage and port whenever it exits unexpectedly, so pymongo reconnects by itself.

    The server is killed by the kernel when that thread ends (PDEATHSIG), which happens only at
    `stop()` or when the app process dies, SIGKILL included: no orphan server survives the app.
    After `max_quick_failures` exits or failed starts within `failure_window` seconds it gives
    up: `state` becomes FAILED and stays there.
    """

    def __init__(
        self,
        storage_dir: Path,
        *,
        startup_timeout: float,
        max_quick_failures: int,
        failure_window: float,
        restart_delay: float,
    ) -> None:
        self._server = EmbeddedMongoServer(storage_dir, startup_timeout)
        self._max_quick_failures = max_quick_failures
        self._failure_window = failure_window
        self._restart_delay = restart_delay
        self._failures: deque[float] = deque()
        self._state = ServerState.STOPPED
        self._state_lock = threading.Lock()
        self._stopping = threading.Event()
        self._first_start = threading.Event()
        self._start_error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self.restarts = 0

    @property
    def state(self) -> ServerState:
        return self._state

    @property
    def pid(self) -> int | None:
        process = self._server.process
        return process.pid if process is not None else None

    def start(self) -> str:
        """Start the server and the watching thread; return the URI once the server answers."""
        self._set_state(ServerState.STARTING)
        self._thread = threading.Thread(target=self._run, name="database-supervisor", daemon=True)
        self._thread.start()
        self._first_start.wait()
        if self._start_error is not None:
            self._thread.join()
            raise self._start_error
        assert self._server.uri is not None
        return self._server.uri

    def stop(self, timeout: float = 20.0) -> None:
        self._stopping.set()
        process = self._server.process
        if process is not None and process.poll() is None:
            process.terminate()
        if self._thread is not None:
            self._thread.join(timeout)
        self._set_state(ServerState.STOPPED)

    def _set_state(self, state: ServerState) -> None:
        with self._state_lock:
            self._state = state

    def _run(self) -> None:
        try:
            self._server.start()
        except BaseException as error:  # handed to start()'s caller
            self._start_error = error
            self._set_state(ServerState.FAILED)
            self._first_start.set()
            return
        port = self._server.port
        self._set_state(ServerState.RUNNING)
        self._first_start.set()
        while not self._stopping.is_set():
            process = self._server.process
            assert process is not None
            code = process.wait()
            if self._stopping.is_set():
                break
            log_event(logger, "embedded_db_exited", level=logging.ERROR, code=code, pid=process.pid)
            if not self._restart(port):
                return
        self._server.stop()

    def _restart(self, port: int) -> bool:
        """Restart until the server answers again; False when it is time to give up."""
        while not self._stopping.is_set():
            if self._too_many_failures():
                self._set_state(ServerState.FAILED)
                log_event(
                    logger,
                    "embedded_db_gave_up",
                    level=logging.CRITICAL,
                    failures=len(self._failures),
                    window_s=self._failure_window,
                    log=str(self._server.log_path),
                )
                self._server.stop()
                return False
            self._set_state(ServerState.RESTARTING)
            if self._stopping.wait(self._restart_delay):
                return True
            try:
                self._server.start(port, append_log=True)
            except EmbeddedServerError as error:
                log_event(
                    logger,
                    "embedded_db_restart_failed",
                    level=logging.ERROR,
                    error=str(error)[:200],
                )
                continue
            self.restarts += 1
            self._set_state(ServerState.RUNNING)
            log_event(logger, "embedded_db_restarted", pid=self.pid, restarts=self.restarts)
            return True
        return True

    def _too_many_failures(self) -> bool:
        now = time.monotonic()
        self._failures.append(now)
        while self._failures and now - self._failures[0] > self._failure_window:
            self._failures.popleft()
        return len(self._failures) > self._max_quick_failures
