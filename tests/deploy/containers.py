"""Run the built image as an operator does, with Docker or, where no Docker engine runs, with
buildah (tests/deploy/test_image.py).

Docker: ``docker run -d -p 127.0.0.1:PORT:8000 -v DATA:/data IMAGE``, ``docker exec``, and
SIGTERM as ``docker stop`` sends it. buildah: a working container of the image, its command
started with ``buildah run --isolation chroot --network host`` (``podman run`` cannot set
rlimits and cgroups in these VMs), which runs it as the image's USER in its WORKDIR with its
ENV. Two differences the harness makes up for: on the host network the app listens on a free
port given as ``FACE_AUTH_PORT`` (which the HEALTHCHECK command reads too), and the image's
declared ``/data`` volume is dropped from the working container, since buildah would mount an
empty temporary volume over the bind mount. SIGTERM goes to the app, the container's main
process (signalled, ``buildah run`` itself kills its child instead of passing the signal on).
"""

import json
import os
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from scripts.image import Engine
from tests.support import free_port, pid_alive

PODMAN_RUN_OPTIONS = ("--isolation", "chroot", "--network", "host")
EXEC_SECONDS = 60
STOP_SECONDS = 30  # when removing: SIGTERM, then SIGKILL after this long


@dataclass(frozen=True)
class ImageConfig:
    """What the image says about how to run it (``docker image inspect``)."""

    reference: str
    user: str
    command: list[str]
    healthcheck: list[str]
    volumes: list[str]
    exposed_port: int

    @property
    def uid(self) -> int:
        return int(self.user.split(":")[0])

    @property
    def gid(self) -> int:
        parts = self.user.split(":")
        return int(parts[1]) if len(parts) > 1 else self.uid


def image_config(engine: Engine, reference: str) -> ImageConfig:
    out = subprocess.run(
        [engine.name, "image", "inspect", reference],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    [inspected] = json.loads(out)
    config: dict[str, Any] = inspected["Config"]
    # Docker keeps it in Config, podman beside it.
    health = config.get("Healthcheck") or inspected.get("Healthcheck") or {}
    test = list(health.get("Test") or [])
    if test[:1] == ["CMD-SHELL"]:
        test = ["/bin/sh", "-c", test[1]]
    elif test[:1] == ["CMD"]:
        test = test[1:]
    ports = [int(port.split("/")[0]) for port in config.get("ExposedPorts") or {}]
    return ImageConfig(
        reference=reference,
        user=config.get("User") or "0",
        command=[*(config.get("Entrypoint") or []), *(config.get("Cmd") or [])],
        healthcheck=test,
        volumes=sorted(config.get("Volumes") or {}),
        exposed_port=ports[0] if ports else 8000,
    )


@dataclass(frozen=True)
class Process:
    pid: int
    ppid: int
    uid: int
    argv: list[str]


def process(pid: int) -> Process | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    uid, ppid = int(fields["Uid"].split()[0]), int(fields["PPid"])
    return Process(pid, ppid, uid, [a.decode(errors="replace") for a in argv if a])


def main_process(processes: list[Process]) -> Process:
    """The container's command: the one process whose parent is not in the container."""
    pids = {p.pid for p in processes}
    [main] = [p for p in processes if p.ppid not in pids]
    return main


def descendants(root: int) -> list[int]:
    """Every live process below ``root``, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    pending = [root]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


class Container(Protocol):
    """One run of the image."""

    base_url: str

    def running(self) -> bool: ...

    def processes(self) -> list[Process]:
        """The processes running in the container (host pids)."""
        ...

    def exec(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        """Run a command inside the running container, as the image's user."""
        ...

    def terminate(self, timeout: float) -> float:
        """SIGTERM to the main process; seconds until the container stopped (inf: it did not,
        and it was killed)."""
        ...

    def logs(self) -> str: ...

    def remove(self) -> None:
        """Stop (if need be) and delete the container; the data directory stays."""
        ...


class DockerContainer:
    def __init__(self, config: ImageConfig, data_dir: Path, env: dict[str, str]) -> None:
        self.name = f"face-auth-test-{uuid.uuid4().hex[:8]}"
        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        settings = [f"--env={key}={value}" for key, value in env.items()]
        docker(["run", "--detach", "--name", self.name, *settings,
                f"--publish=127.0.0.1:{port}:{config.exposed_port}",
                f"--volume={data_dir}:/data", config.reference])  # fmt: skip

    def running(self) -> bool:
        state = docker(["inspect", "--format", "{{.State.Running}}", self.name], check=False)
        return state.stdout.strip() == "true"

    def processes(self) -> list[Process]:
        pids = docker(["top", self.name, "-o", "pid"]).stdout.split()[1:]
        return [p for p in (process(int(pid)) for pid in pids) if p is not None]

    def exec(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        return docker(["exec", self.name, *argv], check=False)

    def terminate(self, timeout: float) -> float:
        started = time.monotonic()
        docker(["kill", "--signal", "TERM", self.name])
        try:
            docker(["wait", self.name], timeout=timeout)
        except subprocess.TimeoutExpired:
            docker(["kill", self.name], check=False)
            return float("inf")
        return time.monotonic() - started

    def logs(self) -> str:
        result = docker(["logs", self.name], check=False)
        return result.stdout + result.stderr

    def remove(self) -> None:
        if self.running():
            self.terminate(STOP_SECONDS)
        docker(["rm", "--force", self.name], check=False)


def docker(
    args: list[str], *, check: bool = True, timeout: float = EXEC_SECONDS
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=check
    )


class BuildahContainer:
    def __init__(
        self, config: ImageConfig, data_dir: Path, env: dict[str, str], log_path: Path
    ) -> None:
        self.name = f"face-auth-test-{uuid.uuid4().hex[:8]}"
        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        buildah(["from", "--pull=never", "--name", self.name, config.reference])
        settings = [f"--env={k}={v}" for k, v in {**env, "FACE_AUTH_PORT": str(port)}.items()]
        buildah(["config", *settings, *(f"--volume={v}-" for v in config.volumes), self.name])
        # Every run in the working container (the app, exec) gets the data directory.
        self.run_options = [*PODMAN_RUN_OPTIONS, f"--volume={data_dir}:/data"]
        with open(log_path, "ab") as log:
            self.runner = subprocess.Popen(
                ["buildah", "run", *self.run_options, self.name, "--", *config.command],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    def running(self) -> bool:
        return self.runner.poll() is None

    def processes(self) -> list[Process]:
        """Below ``buildah run``, the processes in the container's root (not buildah's own)."""
        found = []
        for pid in descendants(self.runner.pid):
            try:
                inside = os.readlink(f"/proc/{pid}/root") != "/"
            except OSError:
                continue
            found_process = process(pid)
            if inside and found_process and not found_process.argv[0].startswith("buildah-"):
                found.append(found_process)
        return found

    def exec(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        return buildah(["run", *self.run_options, self.name, "--", *argv], check=False)

    def terminate(self, timeout: float) -> float:
        started = time.monotonic()
        inside = self.processes()
        if inside:
            os.kill(main_process(inside).pid, signal.SIGTERM)
        else:  # the command has not started (or has ended): buildah run ends its child itself
            os.killpg(self.runner.pid, signal.SIGTERM)
        try:
            self.runner.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.runner.pid, signal.SIGKILL)
            self.runner.wait()
            return float("inf")
        return time.monotonic() - started

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def remove(self) -> None:
        if self.running():
            # Killed, buildah run would leave its scratch directory behind in /var/tmp.
            self.terminate(STOP_SECONDS)
        buildah(["rm", self.name], check=False)


def buildah(args: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["buildah", *args], capture_output=True, text=True, timeout=EXEC_SECONDS, check=check
    )


def start(
    engine: Engine, config: ImageConfig, data_dir: Path, log_path: Path, env: dict[str, str]
) -> Container:
    if engine.is_docker:
        return DockerContainer(config, data_dir, env)
    return BuildahContainer(config, data_dir, env, log_path)


def alive(processes: list[Process]) -> list[Process]:
    return [p for p in processes if pid_alive(p.pid)]
