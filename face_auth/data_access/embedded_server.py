"""Runs SecantusDB's daemon (`secantusd-py`) as a child process on loopback.

SecantusDB is GPL, so it is only ever run as a separate program, never imported.
"""

import contextlib
import ctypes
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Self

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from face_auth.logger import get_logger, log_event

logger = get_logger(__name__)

_LISTENING = re.compile(r"listening on ([0-9.]+):(\d+)")
_PR_SET_PDEATHSIG = 1


class EmbeddedServerError(RuntimeError):
    pass


def _die_with_parent(parent_pid: int) -> Callable[[], None]:
    """In the child, before exec: ask Linux to SIGKILL it when the thread that forked it ends.

    Linux ties PDEATHSIG to the forking *thread*, not the process: the server must be started
    from a thread that lives as long as the app (the supervisor's), never from a pool worker.
    This fires only when the app dies without stopping the server (a clean stop sends one
    SIGTERM, see stop). SIGKILL, not SIGTERM: as a killed app's threads exit one by one, the
    child is re-parented to each next thread and gets the signal again each time, and
    secantusd-py 0.7 deadlocks in its SIGTERM handler when a second SIGTERM interrupts the
    first (seen as an orphaned server after `kill -9` of the app). Acknowledged durable writes
    are in the journal either way (test_durable_writes).
    """

    def arm() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os._exit(1)

    return arm


def find_daemon() -> str:
    beside_python = Path(sys.executable).parent / "secantusd-py"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("secantusd-py")
    if found is None:
        raise EmbeddedServerError(
            "secantusd-py not found: install the pinned requirements "
            "(pip install -r requirements.txt)"
        )
    return found


class EmbeddedMongoServer:
    """Start with `start()` (returns the URI), stop with `stop()`; also a context manager.

    A small JSON file (`state_file`) records pid, port and URI while the server runs, so other
    processes (the CLI) can find it instead of opening the same storage twice.
    """

    def __init__(self, storage_dir: Path, startup_timeout: float) -> None:
        self.storage_dir = storage_dir
        self.log_path = storage_dir.parent / "secantusd.log"
        self.state_file = storage_dir.parent / "secantusd.json"
        self.startup_timeout = startup_timeout
        self.uri: str | None = None
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._log_offset = 0

    @property
    def process(self) -> "subprocess.Popen[bytes] | None":
        return self._process

    def start(self, port: int = 0, *, append_log: bool = False) -> str:
        """Start the server (port 0: any free port) and wait until it answers; return its URI.
        A restart appends to the log, so what the crashed server wrote stays readable."""
        self.storage_dir.mkdir(parents=True, exist_ok=True)
        if self._log is not None:
            self._log.close()
        self._log = open(self.log_path, "ab" if append_log else "wb")  # noqa: SIM115 - closed in stop()
        self._log_offset = self.log_path.stat().st_size
        command = [
            find_daemon(),
            "--host", "127.0.0.1",
            "--port", str(port),
            "--storage-path", str(self.storage_dir),
            "--log-level", "INFO",
        ]  # fmt: skip
        self._process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            command,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            # Own process group: Ctrl-C reaches only us, and we stop the server cleanly.
            start_new_session=True,
            preexec_fn=_die_with_parent(os.getpid()) if sys.platform == "linux" else None,  # noqa: PLW1509
        )
        try:
            self.uri = self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        self.state_file.write_text(json.dumps({"pid": self._process.pid, "uri": self.uri}))
        log_event(logger, "embedded_db_started", pid=self._process.pid, uri=self.uri)
        return self.uri

    def _wait_until_ready(self) -> str:
        assert self._process is not None
        deadline = time.monotonic() + self.startup_timeout
        uri = None
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise EmbeddedServerError(
                    f"secantusd-py exited with code {self._process.returncode} during start-up "
                    f"(is another server using {self.storage_dir}?):\n{self._log_tail()}"
                )
            if uri is None:
                match = _LISTENING.search(self._log_since_start())
                if match:
                    self.port = int(match.group(2))
                    uri = f"mongodb://{match.group(1)}:{match.group(2)}/?directConnection=true&retryWrites=false"
            if uri is not None and _answers_ping(uri):
                return uri
            time.sleep(0.1)
        raise EmbeddedServerError(
            f"secantusd-py did not answer within {self.startup_timeout:.0f}s:\n{self._log_tail()}"
        )

    def _log_since_start(self) -> str:
        with open(self.log_path, "rb") as log:
            log.seek(self._log_offset)
            return log.read().decode(errors="replace")

    def _log_tail(self, lines: int = 20) -> str:
        text = self._log_since_start() if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 15.0) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log_event(logger, "embedded_db_stopped", pid=process.pid, code=process.returncode)
        with contextlib.suppress(FileNotFoundError):
            self.state_file.unlink()
        if self._log is not None:
            self._log.close()
            self._log = None

    def kill(self) -> None:
        """Stop abruptly, as a crash would (used to test outage handling)."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *_exc_info: object) -> None:
        self.stop()


def _answers_ping(uri: str) -> bool:
    client: MongoClient = MongoClient(uri, serverSelectionTimeoutMS=500, retryWrites=False)
    try:
        client.admin.command("ping")
        return True
    except PyMongoError:
        return False
    finally:
        client.close()


def read_running_server(state_file: Path) -> str | None:
    """The URI of a server another process started on this data dir, if it still runs."""
    try:
        state = json.loads(state_file.read_text())
        os.kill(int(state["pid"]), 0)
    except (FileNotFoundError, ValueError, KeyError, ProcessLookupError, PermissionError):
        return None
    uri = str(state["uri"])
    return uri if _answers_ping(uri) else None
