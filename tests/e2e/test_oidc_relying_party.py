"""Another application signs a user in with face_auth (OpenID Connect), in a real Chromium.

The relying party (tests/e2e/relying_party.py: Authlib's client, not our code) runs as its own
process on another loopback port; the client is registered with `face-auth clients add`.
"""

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from face_auth.business_val.oidc import ACR_MULTI_FACTOR
from tests.e2e.conftest import VERIFY
from tests.e2e.pages import VERIFIED, Tab, User, face_result, login_on_page, start_capture
from tests.support import ROOT, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.models]

RELYING_PARTY = Path(__file__).with_name("relying_party.py")


@dataclass(frozen=True)
class RelyingParty:
    url: str
    client_id: str


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    inherited = {
        key: value
        for key, value in os.environ.items()
        if key != "MONGODB_URI" and not key.startswith(("FACE_AUTH_", "RP_"))
    }
    return {**inherited, **extra}


def register_client(env: dict[str, str], callback: str) -> dict[str, str]:
    command = [sys.executable, "-m", "face_auth.cli.main", "clients", "add",
               "--name", "Example RP", "--redirect-uri", callback]  # fmt: skip
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


@pytest.fixture
def relying_party(
    live_app: str, live_app_env: dict[str, str], artifacts_dir: Path
) -> Iterator[RelyingParty]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    client = register_client(live_app_env, f"{url}/callback")
    env = clean_env({"RP_ISSUER": live_app, "RP_PORT": str(port),
                     "RP_CLIENT_ID": client["client_id"],
                     "RP_CLIENT_SECRET": client["client_secret"]})  # fmt: skip
    with open(artifacts_dir / "relying_party.log", "ab") as log:
        process = subprocess.Popen(
            [sys.executable, str(RELYING_PARTY)], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, "the relying party exited; see relying_party.log"
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the relying party did not start"
            time.sleep(0.1)
        yield RelyingParty(url=url, client_id=client["client_id"])
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_an_application_signs_a_user_in_with_password_and_face(
    open_tab: Callable[[str], Tab],
    enrolled_user: User,
    relying_party: RelyingParty,
    live_app: str,
) -> None:
    tab = open_tab(VERIFY)
    page = tab.page
    page.goto(relying_party.url + "/")
    page.get_by_role("link", name="Sign in with face_auth").click()

    # face_auth's own pages: password, then face, then consent.
    expect(page.locator("#continue-notice")).to_be_visible()
    tab.shot("rp-password")
    login_on_page(tab, enrolled_user, "/application/face/verify")
    start_capture(tab, "verify")
    assert face_result(tab) == VERIFIED
    expect(page.locator("h1")).to_have_text("Allow Example RP?")
    expect(page.locator("#consent-scopes li")).to_have_count(3)
    tab.shot("rp-consent")
    page.get_by_role("button", name="Allow").click()

    # Back at the application, which validated the ID token against our JWKS.
    expect(page.locator("h1")).to_have_text("Signed in to Example RP")
    assert page.url.startswith(relying_party.url + "/")
    expect(page.locator("#email")).to_have_text(enrolled_user.email)
    expect(page.locator("#userinfo_email")).to_have_text(enrolled_user.email)
    expect(page.locator("#name")).to_have_text(enrolled_user.name)
    expect(page.locator("#amr")).to_have_text("pwd face")
    expect(page.locator("#acr")).to_have_text(ACR_MULTI_FACTOR)
    [key] = httpx.get(f"{live_app}/oauth2/jwks").json()["keys"]
    expect(page.locator("#kid")).to_have_text(key["kid"])
    tab.shot("rp-signed-in")

    # Signed in to face_auth and consented: the next sign-in asks nothing.
    page.get_by_role("link", name="Sign in again").click()
    expect(page.locator("h1")).to_have_text("Signed in to Example RP")
    expect(page.locator("#email")).to_have_text(enrolled_user.email)

    # The account page lists the application; revoking it asks for consent again next time.
    page.goto(f"{live_app}/application/")
    expect(page.locator("#applications")).to_contain_text("Example RP")
    tab.shot("granted-applications")
    page.get_by_role("button", name="Revoke Example RP").click()
    expect(page.locator("#no-applications")).to_be_visible()
    page.goto(relying_party.url + "/login")
    expect(page.locator("h1")).to_have_text("Allow Example RP?")
    page.get_by_role("button", name="Deny").click()
    expect(page.locator("#error")).to_have_text("access_denied")
