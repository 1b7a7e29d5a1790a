"""Every page, on a desktop (1280x800) and a phone (390x844): checked with axe-core (no serious
or critical violation, in light and dark mode) and photographed into docs/screenshots, so the
screenshots the README shows are rewritten by every run of `make test-e2e` and cannot go
stale (the test fails if one of them was not).
"""

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.conftest import ROOT
from tests.e2e.accessibility import serious_violations
from tests.e2e.conftest import DENIED, ENROLL, OTHER
from tests.e2e.pages import (
    CAMERA_DENIED,
    ENROLLED_WITH_CODES,
    FACE_RESULT_TIMEOUT_MS,
    MISMATCH,
    VERIFIED,
    Tab,
    User,
    face_result,
    login_on_page,
    register_via_api,
    save_recovery_codes,
    start_capture,
)

pytestmark = [pytest.mark.e2e, pytest.mark.models]

SCREENSHOTS = ROOT / "docs" / "screenshots"
README = ROOT / "README.md"
DEVICES = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
    },
}


@dataclass
class Tour:
    """Screenshots into docs/screenshots and axe-core's verdict on each page photographed."""

    problems: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)

    def shot(
        self, page: Page, name: str, device: str, axe: bool = True, full_page: bool = True
    ) -> None:
        """`full_page` False for a modal dialog: its backdrop covers the viewport only."""
        if axe:
            self.problems += serious_violations(page, f"{name}-{device}")
        path = SCREENSHOTS / f"{name}-{device}.png"
        page.screenshot(path=path, full_page=full_page, animations="disabled")
        self.written.append(path)


@pytest.fixture
def device_tab(
    browsers: Callable[[str], Browser], live_app: str, artifacts_dir: Path
) -> Iterator[Callable[[str, str], Tab]]:
    """A tab of one camera's browser on a device's viewport, in a zone other than UTC (so
    local times show in the screenshots)."""
    contexts: list[BrowserContext] = []
    tabs: list[Tab] = []

    def open_one(camera: str, device: str) -> Tab:
        context = browsers(camera).new_context(
            base_url=live_app, locale="en-GB", timezone_id="Europe/Paris",
            **DEVICES[device],  # type: ignore[arg-type]
        )  # fmt: skip
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        tab = Tab(page=page, shots_dir=artifacts_dir)
        page.on("pageerror", lambda error: tab.errors.append(str(error)))
        tabs.append(tab)
        return tab

    yield open_one
    for context in contexts:
        context.close()
    errors = [error for tab in tabs for error in tab.errors]
    assert not errors, f"JavaScript errors on the page: {errors}"


def contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two CSS rgb() colours."""

    def luminance(colour: str) -> float:
        red, green, blue = (int(part) / 255 for part in re.findall(r"\d+", colour)[:3])
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
                  for c in (red, green, blue)]  # fmt: skip
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def signed_out_pages(tour: Tour, tab: Tab, device: str) -> None:
    page = tab.page
    page.goto("/")
    tour.shot(page, "home", device)
    page.goto("/auth/register")
    page.get_by_role("button", name="Create account").click()  # empty: every field's error
    expect(page.locator(".error-text").first).to_be_visible()
    tour.shot(page, "register-errors", device)
    page.goto("/auth/login")
    tour.shot(page, "login", device)
    for scheme in ("light", "dark"):  # WCAG 1.4.11: a field's border against its background
        page.emulate_media(color_scheme=scheme)
        border, background = page.locator("#email").evaluate(
            "e => [getComputedStyle(e).borderTopColor,"
            " getComputedStyle(e.closest('.card')).backgroundColor]"
        )
        ratio = contrast(border, background)
        assert ratio >= 3, f"input border contrast {ratio:.2f} ({scheme})"
    page.emulate_media(color_scheme="light")
    page.goto("/nowhere")
    tour.shot(page, "not-found", device)
    page.goto("/api/v1/me/export")  # a browser opening an API address, signed out
    expect(page.locator("h1")).to_have_text("Sign-in required")
    tour.shot(page, "api-signed-out", device)


def test_every_page_on_desktop_and_phone_is_accessible_and_photographed(
    device_tab: Callable[[str, str], Tab], live_app: str
) -> None:
    started = time.time() - 1
    tour = Tour()
    user = User.new("Jerry Seinfeld")
    register_via_api(live_app, user)

    # Desktop: the whole first sign-in, the account page and its dialogs.
    tab = device_tab(ENROLL, "desktop")
    page = tab.page
    signed_out_pages(tour, tab, "desktop")
    login_on_page(tab, user, "/application/face/enroll")
    tour.shot(page, "enroll", "desktop")
    page.get_by_role("button", name="Start camera and capture").click()
    expect(page.locator("#countdown")).to_have_text(re.compile("^[32]$"))
    tour.shot(page, "enroll-countdown", "desktop", axe=False, full_page=False)
    page.wait_for_function(
        "() => /^Picture [4-8] of/.test(document.getElementById('progress-text').textContent)"
    )
    tour.shot(page, "enroll-now-turn", "desktop", axe=False, full_page=False)
    if face_result(tab) != ENROLLED_WITH_CODES:
        # A screenshot taken mid-capture can stall the fake camera's video for a moment, and
        # a stalled turn is refused as flat: capture again without shots, as a user retries.
        page.get_by_role("button", name="Try again").click()
        expect(page.locator("#result-message")).to_have_text(
            ENROLLED_WITH_CODES, timeout=FACE_RESULT_TIMEOUT_MS
        )
    tour.shot(page, "recovery-codes", "desktop")
    save_recovery_codes(tab)
    tab.path_is("/application/")
    tour.shot(page, "account", "desktop")
    page.get_by_role("button", name="Delete my face data", exact=True).click()
    expect(page.get_by_role("alertdialog")).to_be_visible()
    tour.shot(page, "confirm-delete-face", "desktop", full_page=False)
    page.get_by_role("alertdialog").get_by_role("button", name="Cancel").click()
    page.goto("/auth/password")
    page.get_by_role("button", name="Change password").click()  # empty: the errors
    tour.shot(page, "change-password", "desktop")
    page.goto("/application/account/delete")
    tour.shot(page, "delete-account", "desktop")
    page.goto("/application/face/enroll")
    tour.shot(page, "re-enroll", "desktop")

    # Another person at this password: refused, tries left.
    other = device_tab(OTHER, "desktop")
    login_on_page(other, user, "/application/face/verify")
    start_capture(other, "verify")
    assert face_result(other) == MISMATCH
    tour.shot(other.page, "refused", "desktop")

    # A refused camera.
    denied_user = User.new("Mindy Kaling")
    register_via_api(live_app, denied_user)
    denied = device_tab(DENIED, "desktop")
    login_on_page(denied, denied_user, "/application/face/enroll")
    denied.page.get_by_role("button", name="Start camera and capture").click()
    expect(denied.page.locator("#status")).to_have_text(CAMERA_DENIED, timeout=15_000)
    tour.shot(denied.page, "camera-denied", "desktop")

    # Phone: signed-out pages, the verify step to the account page, the recovery code page,
    # and a first enrollment's page.
    phone = device_tab(ENROLL, "phone")
    page = phone.page
    signed_out_pages(tour, phone, "phone")
    login_on_page(phone, user, "/application/face/verify")
    page.goto("/application/face/recover")
    tour.shot(page, "recover", "phone")
    page.goto("/application/face/verify")
    tour.shot(page, "verify", "phone")
    start_capture(phone, "verify")
    assert face_result(phone) == VERIFIED
    tour.shot(page, "verified", "phone", axe=False)  # leaves for the account page
    phone.path_is("/application/")
    tour.shot(page, "account", "phone")
    page.emulate_media(color_scheme="dark")
    tour.shot(page, "account-dark", "phone", axe=False)  # axe checked both schemes above
    page.emulate_media(color_scheme="light")
    page.get_by_role("button", name="Sign out everywhere", exact=True).click()
    tour.shot(page, "confirm-sign-out", "phone", full_page=False)
    first_timer = device_tab(ENROLL, "phone")
    login_on_page(first_timer, denied_user, "/application/face/enroll")
    tour.shot(first_timer.page, "enroll", "phone")

    assert not tour.problems, "axe-core found serious or critical problems:\n" + "\n".join(
        tour.problems
    )
    # Every screenshot in docs/screenshots was written by this run (none left stale), and
    # every one the README shows exists.
    stale = [p.name for p in SCREENSHOTS.glob("*.png") if p.stat().st_mtime < started]
    assert not stale, f"screenshots this run did not rewrite (delete or photograph): {stale}"
    shown = re.findall(r"docs/screenshots/([\w.-]+\.png)", README.read_text())
    assert shown, "the README shows no screenshot"
    missing = [name for name in shown if not (SCREENSHOTS / name).exists()]
    assert not missing, f"the README shows screenshots no test writes: {missing}"
