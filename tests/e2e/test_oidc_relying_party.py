"""Another application signs a user in with face_auth (OpenID Connect), in a real Chromium.

The relying party is openid-client's (tests/e2e/node/relying_party.mjs: panva's library on its
defaults, not our code), run with node as its own process on another loopback port; the client
is registered with `face-auth clients add`.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from face_auth.business_val.oidc.rules import ACR_MULTI_FACTOR
from tests.e2e.accessibility import serious_violations
from tests.e2e.conftest import VERIFY
from tests.e2e.pages import (
    VERIFIED_FOR_APP,
    Tab,
    User,
    confirm,
    face_result,
    login_on_page,
    start_capture,
)
from tests.e2e.relying_parties import relying_party as run_relying_party

pytestmark = [pytest.mark.e2e, pytest.mark.models]


@dataclass(frozen=True)
class RelyingParty:
    url: str
    client_id: str


@pytest.fixture
def relying_party(
    live_app: str, live_app_env: dict[str, str], artifacts_dir: Path
) -> Iterator[RelyingParty]:
    log = artifacts_dir / "relying_party.log"
    with run_relying_party("openid-client", live_app, live_app_env, log) as (url, registered):
        yield RelyingParty(url=url, client_id=registered["client_id"])


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
    assert face_result(tab) == VERIFIED_FOR_APP
    expect(page.locator("h1")).to_have_text("Allow Example RP?")
    expect(page.locator("#consent-scopes li")).to_have_count(3)
    tab.shot("rp-consent")
    assert not serious_violations(page, "consent")
    page.get_by_role("button", name="Allow").click()

    # Back at the application: openid-client validated the ID token (its signature against our
    # JWKS too) and read userinfo.
    expect(page.locator("h1")).to_have_text("Signed in to Example RP")
    assert page.url.startswith(relying_party.url + "/")
    expect(page.locator("#email")).to_have_text(enrolled_user.email)
    expect(page.locator("#userinfo_email")).to_have_text(enrolled_user.email)
    expect(page.locator("#name")).to_have_text(enrolled_user.name)
    expect(page.locator("#amr")).to_have_text("pwd face")
    expect(page.locator("#acr")).to_have_text(ACR_MULTI_FACTOR)
    keys = httpx.get(f"{live_app}/oauth2/jwks").json()["keys"]
    rs256 = next(key for key in keys if key["alg"] == "RS256")  # the default for clients
    expect(page.locator("#kid")).to_have_text(rs256["kid"])
    tab.shot("rp-signed-in")

    # Signed in to face_auth and consented: the next sign-in asks nothing.
    page.get_by_role("link", name="Sign in again").click()
    expect(page.locator("h1")).to_have_text("Signed in to Example RP")
    expect(page.locator("#email")).to_have_text(enrolled_user.email)

    # The account page lists the application; revoking it asks for consent again next time.
    page.goto(f"{live_app}/application/")
    expect(page.locator("#applications")).to_contain_text("Example RP")
    expect(page.locator("#applications")).to_contain_text("your name and username")
    tab.shot("granted-applications")
    assert not serious_violations(page, "account with an application")
    confirm(tab, "Revoke Example RP", "Revoke access")
    expect(page.locator("#no-applications")).to_be_visible()
    page.goto(relying_party.url + "/login")
    expect(page.locator("h1")).to_have_text("Allow Example RP?")
    page.get_by_role("button", name="Deny").click()
    expect(page.locator("#error")).to_have_text("access_denied")
