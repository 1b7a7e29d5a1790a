"""Build the face_auth image from the Dockerfile: `make image` (and `make test-image` before it
runs the image).

    python scripts/image.py build [--tag face-auth:latest]   # the base if needed, then the image
    python scripts/image.py base                              # only the python:3.11-slim base

The engine is Docker when its daemon answers, otherwise podman (with buildah to run the image,
tests/deploy/test_image.py). With podman every build step runs with ``--isolation chroot
--network host``: in VMs where the OCI runtime cannot set rlimits or cgroups, that is what
works, and it needs root.

The base: a ``python:3.11-slim`` already in the engine's store is used as it is. Otherwise it is
pulled, and when no container registry is reachable a stand-in is assembled from Debian
bookworm's packages (debootstrap minbase + python3 + python3-venv, ``python`` on the PATH, this
machine's CA bundle and pip settings, so that pip in the build reaches the package registry
the way it does here), labelled ``dev.face-auth.stand-in`` and tagged ``python:3.11-slim`` in
the local store. A stand-in never replaces a real image: once a real one is there, the
stand-in's tag is removed. docs/deploy.md says how the stand-in differs from the official image.

Caching between runs on one machine: the stand-in is kept as that tag (with the .deb files
debootstrap fetched in ``/var/cache/face-auth/debootstrap``) and the engine's layer cache keeps
every step whose inputs did not change (the venv with the pinned requirements: pip runs again
only when a requirements file changes). After a build, the images the previous build left
untagged are removed, so the store does not grow by ~3 GB a run.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
BASE = "python:3.11-slim"
DEFAULT_TAG = "face-auth:latest"
BUILDER_TAG_SUFFIX = "-builder"  # face-auth:latest -> face-auth-builder:latest, keeps its cache
STAND_IN_LABEL = "dev.face-auth.stand-in"
SUITE = "bookworm"
STAND_IN_PACKAGES = ("python3", "python3-venv", "ca-certificates")
CACHE_DIR = Path(os.environ.get("FACE_AUTH_IMAGE_CACHE", "/var/cache/face-auth"))
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"  # where Debian's ca-certificates puts it
# pip settings carried from this machine into the stand-in; the rest (find-links, constraints,
# file:// indexes) name files that exist only here.
PIP_KEYS = ("index-url", "extra-index-url", "trusted-host", "timeout", "default-timeout")
PODMAN_BUILD_OPTIONS = ("--isolation", "chroot", "--network", "host")
DOCKER_PROBE_SECONDS = 20
PULL_SECONDS = 300


class ImageError(RuntimeError):
    """The image could not be built: the message says what to do."""


def run(command: Sequence[str], *, cwd: Path | None = None, stdin: IO[bytes] | None = None) -> None:
    """Run a command, its output passing through; raise ImageError when it fails."""
    print("+", " ".join(command), flush=True)
    completed = subprocess.run(command, cwd=cwd, stdin=stdin, check=False)  # noqa: S603
    if completed.returncode != 0:
        raise ImageError(f"{command[0]} failed (exit {completed.returncode}): {' '.join(command)}")


def capture(command: Sequence[str], timeout: float | None = None) -> tuple[int, str]:
    """Exit code and stdout of a command whose output is read, not shown."""
    try:
        completed = subprocess.run(  # noqa: S603 - argv from this module
            command, capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return 1, ""
    return completed.returncode, completed.stdout


@dataclass(frozen=True)
class Engine:
    """The container engine's command line: ``docker`` or ``podman``."""

    name: str

    @property
    def is_docker(self) -> bool:
        return self.name == "docker"

    def build_options(self) -> list[str]:
        return [] if self.is_docker else [*PODMAN_BUILD_OPTIONS, "--format", "docker"]

    def image_id(self, reference: str) -> str | None:
        code, out = capture([self.name, "image", "inspect", "--format", "{{.Id}}", reference])
        return (out.strip() or None) if code == 0 else None

    def labels(self, reference: str) -> dict[str, str]:
        labels = "{{json .Config.Labels}}"
        code, out = capture([self.name, "image", "inspect", "--format", labels, reference])
        return (json.loads(out) or {}) if code == 0 and out.strip() else {}

    def size_bytes(self, reference: str) -> int:
        code, out = capture([self.name, "image", "inspect", "--format", "{{.Size}}", reference])
        return int(out.strip()) if code == 0 and out.strip().isdigit() else 0


def find_engine() -> Engine:
    """Docker when its daemon answers, else podman with buildah; ImageError names what to
    install when neither is usable."""
    if shutil.which("docker") and capture(["docker", "info"], DOCKER_PROBE_SECONDS)[0] == 0:
        return Engine("docker")
    if shutil.which("podman") and shutil.which("buildah"):
        return Engine("podman")
    raise ImageError(
        "No container engine: start Docker, or install podman and buildah "
        "(`make image-tools`: apt-get install podman buildah debootstrap)."
    )


# ---- the base ---------------------------------------------------------------------------------


def ensure_base(engine: Engine) -> str:
    """Make sure ``python:3.11-slim`` resolves in the engine's store; say which one it is."""
    real = _real_base(engine)
    if real is not None:
        _drop_stand_in(engine)
        return f"{BASE}: the official image ({real[:19]})"
    stand_in = engine.image_id(BASE)
    if stand_in is not None:
        return f"{BASE}: the stand-in from Debian {SUITE} ({stand_in[:19]}), cached"
    print(f"{BASE} is not here: pulling it", flush=True)
    pulled = capture([engine.name, "pull", BASE], PULL_SECONDS)[0] == 0
    if pulled and _real_base(engine) is not None:
        return f"{BASE}: the official image, pulled"
    print(f"{BASE} cannot be pulled: assembling a stand-in from Debian {SUITE}", flush=True)
    started = time.monotonic()
    build_stand_in(engine)
    return f"{BASE}: the stand-in, assembled in {time.monotonic() - started:.0f} s"


def _real_base(engine: Engine) -> str | None:
    """The id of a ``python:3.11-slim`` that is not our stand-in, if the store has one."""
    names = [BASE] if engine.is_docker else [f"docker.io/library/{BASE}", BASE]
    for name in names:
        image = engine.image_id(name)
        if image is not None and STAND_IN_LABEL not in engine.labels(name):
            return image
    return None


def _drop_stand_in(engine: Engine) -> None:
    """Untag the stand-in once a real base is there, so that FROM cannot pick it."""
    name = BASE if engine.is_docker else f"localhost/{BASE}"
    if engine.image_id(name) is not None and STAND_IN_LABEL in engine.labels(name):
        run([engine.name, "rmi", name])


def build_stand_in(engine: Engine) -> None:
    """debootstrap a minbase bookworm with Python, make it look like python:3.11-slim where the
    Dockerfile cares, and import it as ``python:3.11-slim``, labelled."""
    if os.geteuid() != 0:
        raise ImageError("Assembling the stand-in base needs root (debootstrap).")
    if shutil.which("debootstrap") is None:
        raise ImageError("debootstrap is missing: `make image-tools` installs it.")
    debs = CACHE_DIR / "debootstrap"
    debs.mkdir(parents=True, exist_ok=True)
    mirror = debian_mirror()
    with tempfile.TemporaryDirectory(prefix="face-auth-base-", dir="/var/tmp") as work:
        rootfs = Path(work) / "rootfs"
        try:
            packages = ",".join(STAND_IN_PACKAGES)
            where = [mirror] if mirror else []  # else debootstrap's default mirror
            run(["debootstrap", "--variant=minbase", f"--include={packages}",
                 f"--cache-dir={debs}", SUITE, str(rootfs), *where])  # fmt: skip
            configure_stand_in(rootfs)
            import_rootfs(engine, rootfs)
        finally:
            # A debootstrap that failed half-way may leave /proc or /sys mounted in the tree:
            # the temporary directory's clean-up must not walk into them.
            unmount_below(rootfs)


def import_rootfs(engine: Engine, rootfs: Path) -> None:
    changes = [
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "ENV LANG=C.UTF-8",
        'CMD ["python3"]',
        f"LABEL {STAND_IN_LABEL}=debootstrap-{SUITE}",
    ]
    tar = shutil.which("tar") or "/bin/tar"
    archive = subprocess.Popen(  # noqa: S603
        [tar, "-C", str(rootfs), "--numeric-owner", "-cf", "-", "."], stdout=subprocess.PIPE
    )
    flags = [f"--change={change}" for change in changes]
    try:
        run([engine.name, "import", *flags, "-", BASE], stdin=archive.stdout)
    finally:
        if archive.stdout is not None:
            archive.stdout.close()
        archive.wait()


def unmount_below(root: Path) -> None:
    prefix = f"{root.resolve()}/"
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for mount in sorted((m for m in mounts if m.startswith(prefix)), reverse=True):
        capture(["umount", "--lazy", mount])


def debian_mirror() -> str | None:
    """The Debian mirror this machine's apt uses for the main archive, if it names one."""
    candidates: list[str] = []
    sources = Path("/etc/apt/sources.list.d")
    for path in sorted(sources.glob("*.sources")) if sources.is_dir() else []:
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith("URIs:"):
                candidates += line.split()[1:]
    listing = Path("/etc/apt/sources.list")
    if listing.is_file():
        for line in listing.read_text(errors="replace").splitlines():
            words = line.split()
            if len(words) >= 3 and words[0] == "deb":  # noqa: PLR2004 - deb URI suite
                candidates.append(next(w for w in words[1:] if not w.startswith("[")))
    for uri in candidates:
        if urlsplit(uri).scheme in {"http", "https"} and uri.rstrip("/").endswith("/debian"):
            return uri
    return None


def configure_stand_in(rootfs: Path) -> None:
    """What the official image has that minbase lacks, and this machine's way to pip."""
    for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for path in (rootfs / leftover).glob("*"):
            if path.is_file():
                path.unlink()
    python = rootfs / "usr/local/bin/python"
    python.unlink(missing_ok=True)
    python.symlink_to("/usr/bin/python3")
    settings = machine_pip_settings()
    bundle = settings.pop("cert", None) or os.environ.get("SSL_CERT_FILE") or CA_BUNDLE
    if Path(bundle).is_file():
        shutil.copyfile(bundle, rootfs / CA_BUNDLE.lstrip("/"))
    lines = ["[global]", f"cert = {CA_BUNDLE}", "disable-pip-version-check = true"]
    lines += [f"{key} = {value}" for key, value in sorted(settings.items())]
    (rootfs / "etc/pip.conf").write_text("\n".join(lines) + "\n")


def machine_pip_settings() -> dict[str, str]:
    """This machine's pip settings (files and PIP_* variables, as `pip config list` shows them)
    that make sense in an image: indexes over http(s) without credentials, timeouts, the CA
    bundle (its host path; the caller copies the file)."""
    code, out = capture([sys.executable, "-m", "pip", "config", "list"])
    settings: dict[str, str] = {}
    for line in out.splitlines() if code == 0 else []:
        name, _, quoted = line.partition("=")
        key = name.rsplit(".", 1)[-1]
        value = quoted.strip().strip("'\"")
        if key == "cert":
            settings["cert"] = value
        elif key in PIP_KEYS:
            kept = [v for v in value.split() if _portable(key, v)]
            if kept:
                settings["timeout" if key == "default-timeout" else key] = " ".join(kept)
    return settings


def _portable(key: str, value: str) -> bool:
    if key.endswith("index-url"):
        url = urlsplit(value)
        return url.scheme in {"http", "https"} and not (url.username or url.password)
    return True


# ---- the image --------------------------------------------------------------------------------


def build(engine: Engine, tag: str) -> str:
    """Build the Dockerfile as ``tag``; return the new image id."""
    print(ensure_base(engine), flush=True)
    previous = {name: engine.image_id(name) for name in (tag, builder_tag(tag))}
    common = [engine.name, "build", *engine.build_options()]
    if not engine.is_docker:
        common.append("--pull=never")  # ensure_base has put the base in the store
    # The builder stage gets its own tag: untagged, its last layers would count as leftovers.
    run([*common, "--target", "builder", "-t", builder_tag(tag), "-f", "Dockerfile", "."], cwd=ROOT)
    run([*common, "-t", tag, "-f", "Dockerfile", "."], cwd=ROOT)
    image = engine.image_id(tag)
    if image is None:
        raise ImageError(f"the build did not produce {tag}")
    for name, old in previous.items():
        if old is not None and old != engine.image_id(name):
            remove_leftovers(engine, old)
    return image


def builder_tag(tag: str) -> str:
    """face-auth:latest -> face-auth-builder:latest"""
    name, _, version = tag.rpartition(":") if ":" in tag.rsplit("/", 1)[-1] else (tag, "", "latest")
    return f"{name}{BUILDER_TAG_SUFFIX}:{version}"


def remove_leftovers(engine: Engine, image: str) -> None:
    """Remove an image the new build replaced: both engines remove with it the untagged build
    steps that led only to it (podman keeps every step as an image)."""
    capture([engine.name, "rmi", image])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build_parser = commands.add_parser("build", help="the base if needed, then the image")
    build_parser.add_argument("--tag", default=DEFAULT_TAG)
    commands.add_parser("base", help=f"only make sure {BASE} is there")
    args = parser.parse_args(argv)
    try:
        engine = find_engine()
        if args.command == "base":
            print(ensure_base(engine))
            return 0
        started = time.monotonic()
        image = build(engine, args.tag)
    except ImageError as error:
        print(f"image: {error}", file=sys.stderr)
        return 1
    size = engine.size_bytes(args.tag) / 1e9
    print(f"{args.tag} {image[:19]}: built with {engine.name} in "
          f"{time.monotonic() - started:.0f} s, {size:.2f} GB")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
