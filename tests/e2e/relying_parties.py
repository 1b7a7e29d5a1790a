"""The relying parties the OpenID Connect tests run, each as its own process on a loopback port:
openid-client's (tests/e2e/node/relying_party.mjs, node) and Authlib's
(tests/e2e/relying_party.py). Neither is face_auth code; both read the provider's discovery
document and sign users in on their library's defaults."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support import ROOT, free_port

NODE_DIR = Path(__file__).with_name("node")
NODE_RELYING_PARTY = NODE_DIR / "relying_party.mjs"
AUTHLIB_RELYING_PARTY = Path(__file__).with_name("relying_party.py")


def install_openid_client() -> None:
    """openid-client as package-lock.json pins it: `npm ci` unless that version is installed
    (`make test` has run it already: the `oidc-clients` target)."""
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise RuntimeError("the openid-client tests need node and npm (make oidc-clients)")
    pinned = json.loads((NODE_DIR / "package.json").read_text())["dependencies"]["openid-client"]
    installed = NODE_DIR / "node_modules" / "openid-client" / "package.json"
    if not installed.exists() or json.loads(installed.read_text())["version"] != pinned:
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True, timeout=300
        )


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    inherited = {
        key: value
        for key, value in os.environ.items()
        if key != "MONGODB_URI" and not key.startswith(("FACE_AUTH_", "RP_"))
    }
    return {**inherited, **extra}


def register_client(env: dict[str, str], callback: str, *extra: str) -> dict[str, str]:
    """`face-auth clients add`, as an operator registers an application (RS256 by default)."""
    command = [sys.executable, "-m", "face_auth.cli.main", "clients", "add",
               "--name", "Example RP", "--redirect-uri", callback, *extra]  # fmt: skip
    done = subprocess.run(
        command,
        check=False,
        cwd=ROOT,
        env=clean_env(env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


@contextmanager
def relying_party(
    kind: str, issuer: str, app_env: dict[str, str], log_path: Path
) -> Iterator[tuple[str, dict[str, str]]]:
    """Register a client for a new relying party of `kind` ("openid-client" or "authlib"),
    run it until it answers, yield its URL and registration; stop it."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    registered = register_client(app_env, f"{url}/callback")
    env = clean_env({"RP_ISSUER": issuer, "RP_PORT": str(port),
                     "RP_CLIENT_ID": registered["client_id"],
                     "RP_CLIENT_SECRET": registered["client_secret"]})  # fmt: skip
    if kind == "openid-client":
        install_openid_client()
        command = ["node", str(NODE_RELYING_PARTY)]
    else:
        command = [sys.executable, str(AUTHLIB_RELYING_PARTY)]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            command, cwd=NODE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, f"the relying party exited: {log_path.read_text()}"
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the relying party did not start"
            time.sleep(0.1)
        yield url, registered
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
