"""The container files say what docs/deploy.md promises: checked by parsing them, since no Docker
engine runs here. Dockerfile via dockerfile-parse, docker-compose.yml via PyYAML, and hadolint."""

import fnmatch
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from dockerfile_parse import DockerfileParser

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"
MAKEFILE = ROOT / "Makefile"
SECRET_WORDS = ("SECRET", "PASSWORD", "TOKEN", "KEY")
BUILD_TOOLS = ("gcc", "g++", "clang", "build-essential", "make ", "cmake", "-dev ")
APP_FILES = ("app.py", "controller", "face_auth", "templates", "static")


@dataclass
class Stage:
    image: str
    name: str | None
    instructions: list[dict[str, Any]] = field(default_factory=list)

    def values(self, instruction: str) -> list[str]:
        return [i["value"] for i in self.instructions if i["instruction"] == instruction]

    def env(self) -> dict[str, str]:
        result: dict[str, str] = {}
        for value in self.values("ENV"):
            result.update(parse_key_values(value))
        return result


def parse_key_values(value: str) -> dict[str, str]:
    """`ENV A=1 B="x y"` or the legacy `ENV A 1`."""
    tokens = shlex.split(value)
    if tokens and "=" not in tokens[0]:
        return {tokens[0]: " ".join(tokens[1:])}
    return dict(token.split("=", 1) for token in tokens)


def parse_stages(text: str) -> list[Stage]:
    parser = DockerfileParser(fileobj=None)
    parser.content = text
    stages: list[Stage] = []
    for instruction in parser.structure:
        if instruction["instruction"] == "FROM":
            words = instruction["value"].split()
            words = [w for w in words if not w.startswith("--platform")]
            name = words[2] if len(words) == 3 and words[1].lower() == "as" else None
            stages.append(Stage(image=words[0], name=name))
        elif stages:
            stages[-1].instructions.append(instruction)
    return stages


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse_stages(DOCKERFILE.read_text())


@pytest.fixture(scope="module")
def runtime(stages: list[Stage]) -> Stage:
    return stages[-1]


@pytest.fixture(scope="module")
def builder(stages: list[Stage], runtime: Stage) -> Stage:
    sources = {
        word.split("=", 1)[1]
        for value in runtime.values("COPY")
        for word in value.split()
        if word.startswith("--from=")
    }
    assert len(sources) == 1, f"the runtime stage should copy from one builder stage: {sources}"
    (name,) = sources
    matches = [s for s in stages[:-1] if s.name == name]
    assert matches, f"no stage named {name!r} before the runtime stage"
    return matches[0]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def makefile_requirement_files() -> set[str]:
    """The -r files of the Makefile's `pip install` lines (the install target)."""
    files: set[str] = set()
    for line in MAKEFILE.read_text().splitlines():
        if "pip install" in line:
            files.update(re.findall(r"-r\s+(\S+)", line))
    return files


# ---- Dockerfile ------------------------------------------------------------------------------


def test_multi_stage_with_slim_python_runtime(stages: list[Stage], runtime: Stage) -> None:
    assert len(stages) >= 2, "expected a builder stage and a runtime stage"
    assert runtime.image == "python:3.11-slim"
    assert all(stage.image == "python:3.11-slim" for stage in stages)


def test_runtime_runs_as_a_non_root_user(runtime: Stage) -> None:
    users = runtime.values("USER")
    assert users, "the runtime stage sets no USER: the app would run as root"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    # USER comes after every RUN, so nothing later runs as root either.
    kinds = [i["instruction"] for i in runtime.instructions]
    assert kinds.index("USER") > max(i for i, kind in enumerate(kinds) if kind == "RUN")


def test_healthcheck_probes_readiness_with_python(runtime: Stage) -> None:
    checks = runtime.values("HEALTHCHECK")
    assert len(checks) == 1
    assert "/readyz" in checks[0]
    assert "urllib" in checks[0]
    assert "curl" not in checks[0] and "wget" not in checks[0]


def test_no_secret_in_build_args_or_env(stages: list[Stage]) -> None:
    for stage in stages:
        names = [parse_key_values(v).keys() for v in stage.values("ENV")]
        names += [[v.split("=", 1)[0]] for v in stage.values("ARG")]
        for name in (n for group in names for n in group):
            assert not any(word in name.upper() for word in SECRET_WORDS), name


def test_no_secret_or_local_state_reaches_the_build_context(stages: list[Stage]) -> None:
    for stage in stages:
        for value in stage.values("COPY") + stage.values("ADD"):
            sources = [w for w in value.split() if not w.startswith("--")][:-1]
            assert "." not in sources and "./" not in sources, "copy named files, not the tree"
            assert not any(s.startswith((".env", "data", "tests", ".git")) for s in sources)
    ignored = DOCKERIGNORE.read_text().split()
    for path in (".env", ".git", "data", ".venv", "tests", "test-artifacts"):
        assert path in ignored, f".dockerignore should keep {path} out"


def test_builder_installs_what_make_installs_then_bakes_the_models(builder: Stage) -> None:
    make_files = makefile_requirement_files()
    assert {"requirements.txt", "requirements-ml.txt"} <= make_files
    runs = builder.values("RUN")
    installed = {f for run in runs if "pip install" in run for f in re.findall(r"-r\s+(\S+)", run)}
    # Everything `make` installs except the development tools (tests, linters).
    assert installed == make_files - {"requirements-dev.txt"}
    assert all((ROOT / name).is_file() for name in installed)
    assert any(re.search(r"pip install .*--no-deps .*\.(\s|$)", run) for run in runs)
    assert any("/opt/venv" in run and "venv" in run for run in runs)

    install_index = next(
        i
        for i, instruction in enumerate(builder.instructions)
        if instruction["instruction"] == "RUN"
        and "face-auth models install" in instruction["value"]
    )
    earlier = Stage(builder.image, builder.name, builder.instructions[:install_index])
    assert earlier.env().get("FACE_AUTH_MODELS_DIR") == "/opt/models"


def test_the_venv_the_image_runs_has_the_serving_requirements_only(builder: Stage) -> None:
    """TensorFlow and the other install-time tools (requirements-ml.txt) go to /opt/tools,
    which the runtime stage does not copy: the app serves on ONNX Runtime (issue 25)."""
    commands = [part for run in builder.values("RUN") for part in run.split("&&")]
    serving = [part for part in commands if "/opt/venv/bin/pip install" in part]
    files = {name for part in serving for name in re.findall(r"-r\s+(\S+)", part)}
    assert files == {"requirements.txt"}
    assert "tensorflow" not in (ROOT / "requirements.txt").read_text()
    assert "tensorflow==" in (ROOT / "requirements-ml.txt").read_text()


def test_runtime_copies_venv_models_and_app_side_by_side(runtime: Stage) -> None:
    copies = runtime.values("COPY")
    assert any(c.split()[-2:] == ["/opt/venv", "/opt/venv"] for c in copies)
    assert any(c.split()[-2:] == ["/opt/models", "/opt/models"] for c in copies)
    workdir = runtime.values("WORKDIR")[-1]
    destinations: dict[str, str] = {}
    for value in copies:
        words = [w for w in value.split() if not w.startswith("--")]
        for source in words[:-1]:
            target = words[-1]
            if target.endswith("/") or target in {".", "./"}:
                target = str(Path(workdir, target, Path(source).name))
            destinations[source] = str(Path(workdir, target))
    for name in APP_FILES:
        # app.py finds templates/ and static/ beside itself (ROOT = Path(__file__).parent).
        assert destinations.get(name) == f"{workdir}/{name}", (name, destinations)
    env = runtime.env()
    # `face-auth serve` imports `app` by name: the workdir must come before site-packages.
    assert workdir in env.get("PYTHONPATH", "").split(":")


def test_runtime_environment(runtime: Stage) -> None:
    env = runtime.env()
    assert env["FACE_AUTH_HOST"] == "0.0.0.0"
    assert env["FACE_AUTH_MODELS_DIR"] == "/opt/models"
    assert env["FACE_AUTH_DATA_DIR"] == "/data"
    assert env["PATH"].startswith("/opt/venv/bin:")
    assert any("/data" in value for value in runtime.values("VOLUME"))
    assert "MONGODB_URI" not in env, "an unset MONGODB_URI means the embedded database"


def test_runtime_stage_installs_no_compiler(runtime: Stage) -> None:
    for run in runtime.values("RUN"):
        padded = f" {run} "
        assert not any(tool in padded for tool in BUILD_TOOLS), run
        assert "pip install" not in run, "the runtime stage should only copy the built venv"


DOCKERIGNORE = ROOT / ".dockerignore"


def dockerignored(path: str, patterns: list[str]) -> bool:
    """Close enough to Docker's rules for these files: a pattern excludes a path or a parent."""
    parts = Path(path).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        bare = pattern.removeprefix("**/")
        if any(fnmatch.fnmatch(p, pattern) or fnmatch.fnmatch(p, bare) for p in prefixes):
            return True
    return False


def test_every_copied_file_exists_and_is_in_the_build_context(stages: list[Stage]) -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    # setup.py reads README.md and requirements.txt: they must reach the builder.
    for name in ("README.md", "requirements.txt", "setup.py"):
        assert not dockerignored(name, patterns), name
    for stage in stages:
        for value in stage.values("COPY"):
            if "--from=" in value:
                continue
            for source in value.split()[:-1]:
                assert (ROOT / source).exists(), source
                assert not dockerignored(source, patterns), f"{source} is in .dockerignore"
    assert dockerignored("data/models/x.h5", patterns)
    assert dockerignored("face_auth/__pycache__/a.pyc", patterns)


# ---- hadolint --------------------------------------------------------------------------------


def hadolint() -> str:
    candidate = Path(sys.executable).parent / "hadolint"
    binary = str(candidate) if candidate.exists() else shutil.which("hadolint")
    if binary is None:
        pytest.skip("hadolint is not installed (pip install -r requirements-dev.txt)")
    return binary


def test_hadolint_passes_with_no_finding() -> None:
    result = subprocess.run(
        [hadolint(), "--no-color", "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and result.stdout.strip() == "", result.stdout + result.stderr


def test_hadolint_catches_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN apt-get install gcc\n")
    result = subprocess.run(
        [hadolint(), "--no-color", str(bad)], capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "DL3006" in result.stdout  # untagged image


def test_make_lint_runs_hadolint() -> None:
    text = MAKEFILE.read_text()
    target = re.search(r"^lint-docker:.*\n((?:\t.*\n)+)", text, re.MULTILINE)
    assert target and "hadolint" in target.group(1) and "Dockerfile" in target.group(1)
    lint = re.search(r"^lint:(.*)$", text, re.MULTILINE)
    assert lint and "lint-docker" in lint.group(1).split()


# ---- docker-compose.yml ----------------------------------------------------------------------


def test_mongo_is_a_healthchecked_replica_set(compose: dict[str, Any]) -> None:
    services = compose["services"]
    mongo = services["mongo"]
    assert mongo["image"].startswith("mongo:7")
    command = mongo["command"]
    command = command if isinstance(command, str) else " ".join(command)
    assert "--replSet rs0" in command
    health = mongo["healthcheck"]["test"]
    health = health if isinstance(health, str) else " ".join(health)
    assert "isWritablePrimary" in health, "healthy must mean: the replica set has a primary"
    volume = next(v.split(":")[0] for v in mongo["volumes"] if v.endswith(":/data/db"))
    assert volume in compose["volumes"], "mongo's data should be a named volume"
    inits = [s for s in services.values() if "rs.initiate" in yaml.safe_dump(s.get("command", ""))]
    assert len(inits) == 1
    assert '"rs0"' in yaml.safe_dump(inits[0]["command"]) or "rs0" in str(inits[0]["command"])
    assert "mongo:27017" in str(inits[0]["command"])


def test_app_waits_for_a_healthy_mongo_and_uses_it(compose: dict[str, Any]) -> None:
    services = compose["services"]
    app = services["app"]
    assert app["depends_on"]["mongo"]["condition"] == "service_healthy"
    uri = urlsplit(environment(app)["MONGODB_URI"])
    assert uri.scheme == "mongodb"
    assert uri.hostname == "mongo" and "mongo" in services
    assert parse_qs(uri.query)["replicaSet"] == ["rs0"]
    assert app["build"] in (".", {"context": "."})


def test_app_healthcheck_probes_readiness(compose: dict[str, Any]) -> None:
    check = " ".join(compose["services"]["app"]["healthcheck"]["test"])
    assert "/readyz" in check
    caddy_waits_for = compose["services"]["caddy"]["depends_on"]["app"]["condition"]
    assert caddy_waits_for == "service_healthy"


def test_app_settings_in_compose(compose: dict[str, Any]) -> None:
    env = environment(compose["services"]["app"])
    assert env["FACE_AUTH_COOKIE_SECURE"] == "true"
    # Required from the environment or .env; `${VAR:?message}` makes compose refuse without it.
    for shared in ("FACE_AUTH_JWT_SECRET", "FACE_AUTH_TEMPLATE_MASTER_KEY"):
        # Every replica must share these: required, never defaulted.
        assert re.fullmatch(rf"\$\{{{shared}:?\?[^}}]*\}}", env[shared])
    # Forwarded headers from the proxy's fixed address only, never from anyone ("*").
    trusted = env["FACE_AUTH_FORWARDED_ALLOW_IPS"]
    caddy = compose["services"]["caddy"]["networks"]["default"]["ipv4_address"]
    assert trusted == caddy
    assert "FORWARDED_ALLOW_IPS" not in env
    assert "FACE_AUTH_PUBLIC_URL" in env


def test_no_secret_is_hard_coded_in_compose(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for key, value in environment(service).items():
            if any(word in key.upper() for word in SECRET_WORDS):
                assert re.fullmatch(r"\$\{\w+(:?\?[^}]*)?\}", value), f"{name}: {key}={value}"


def test_caddy_terminates_tls_in_front_of_the_app(compose: dict[str, Any]) -> None:
    caddy = compose["services"]["caddy"]
    assert caddy["image"].startswith("caddy:")
    mount = next(v for v in caddy["volumes"] if v.startswith("./deploy/Caddyfile:"))
    caddyfile = (ROOT / mount.split(":")[0]).read_text()
    port = DOCKERFILE.read_text().split("FACE_AUTH_PORT=", 1)[1].split()[0]
    assert re.search(rf"^\s*reverse_proxy app:{port}\b", caddyfile, re.MULTILINE)
    assert any(p.startswith("443:") for p in caddy["ports"])
