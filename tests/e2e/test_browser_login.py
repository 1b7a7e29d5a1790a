"""The whole two-step login in a real Chromium, with a (fake) camera playing real photos.

Each test gets a fresh browser context; the camera it sees is chosen by the browser it opens:
Jerry's enrollment video, another video of Jerry, Mindy's video (each a head turn to the left,
the one movement the server asks for), a flat photo of Jerry turned like a head, or a refused
camera.
"""

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import expect

from face_auth.config import Settings
from face_auth.constant import ACCESS_COOKIE
from tests.e2e.conftest import DENIED, ENROLL, FLAT, OTHER, VERIFY
from tests.e2e.pages import (
    CAMERA_DENIED,
    LIVENESS_REFUSALS,
    MISMATCH,
    VERIFIED,
    Tab,
    User,
    confirm,
    enroll_on_page,
    expect_application,
    face_result,
    log_out,
    login_on_page,
    register_on_page,
    register_via_api,
    start_capture,
)

pytestmark = [pytest.mark.e2e, pytest.mark.models]

# Face tries per password sign-in (the server under test runs the default).
TRIES = Settings.model_fields["face_max_failures"].default

OpenTab = Callable[[str], Tab]


def factors(tab: Tab) -> list[str]:
    """The session's factors, asked with the page's own cookies."""
    response = tab.page.context.request.get("/api/v1/me")
    assert response.status == 200, response.text()
    return response.json()["factors"]


def test_register_log_in_and_enroll_from_the_camera(open_tab: OpenTab) -> None:
    user = User.new("Jerry Seinfeld")
    tab = open_tab(ENROLL)

    register_on_page(tab, user, shots=True)
    login_on_page(tab, user, "/application/face/enroll", shots=True)
    assert factors(tab) == ["pwd"]
    expect(tab.page.locator("#enroll-window")).to_contain_text(
        "You can enroll with your password alone until"
    )
    codes = enroll_on_page(tab, user, shots=True)

    assert len(codes) == 10
    assert factors(tab) == ["pwd", "face"]
    expect(tab.page.get_by_role("link", name="Re-enroll my face")).to_be_visible()
    expect(tab.page.locator("#recovery-codes-left")).to_have_text("10 recovery codes left")
    tab.shot("application")

    # Shown once: re-enrolling (full session) shows no codes, and the page never lists them.
    tab.page.goto("/application/face/enroll")
    assert enroll_on_page(tab, user) == []
    assert not any(code in tab.page.content() for code in codes)


def test_a_recovery_code_re_enrolls_from_a_new_camera(
    open_tab: OpenTab, enrolled_with_codes: tuple[User, list[str]]
) -> None:
    user, codes = enrolled_with_codes
    tab = open_tab(VERIFY)
    page = tab.page

    login_on_page(tab, user, "/application/face/verify")
    page.get_by_role("link", name="Use a recovery code").click()
    tab.path_is("/application/face/recover")
    page.fill("#code", "wrong-code")
    page.get_by_role("button", name="Continue to enrollment").click()
    expect(page.get_by_role("alert")).to_contain_text("This code is not valid")
    page.fill("#code", codes[0].lower())
    tab.shot("recovery-code")
    page.get_by_role("button", name="Continue to enrollment").click()
    tab.path_is("/application/face/enroll")
    assert enroll_on_page(tab, user) == []  # not a first enrollment: no new codes
    expect(page.locator("#recovery-codes-left")).to_have_text("9 recovery codes left")

    # Regenerate (after a confirmation): a new set, shown once with a download; the used and
    # unused old codes die.
    confirm(tab, "New recovery codes", "Replace my recovery codes")
    expect(page.locator("h1")).to_have_text("Your new recovery codes")
    fresh = [text.strip() for text in page.locator("#recovery-code-list li").all_inner_texts()]
    assert len(fresh) == 10 and not set(fresh) & set(codes)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the codes").click()
    assert Path(download_info.value.path()).read_text().split() == fresh
    page.get_by_role("link", name="I have saved them").click()
    expect(page.locator("#recovery-codes-left")).to_have_text("10 recovery codes left")


def test_log_in_again_and_verify_the_same_face(open_tab: OpenTab, enrolled_user: User) -> None:
    tab = open_tab(VERIFY)  # another photo of the enrolled person

    login_on_page(tab, enrolled_user, "/application/face/verify")
    assert factors(tab) == ["pwd"]
    start_capture(tab, "verify", shots=True)
    assert face_result(tab) == VERIFIED
    expect(tab.page.locator("#result-message")).to_have_class(re.compile(r"\bsuccess\b"))
    tab.shot("verified")

    expect_application(tab, enrolled_user)
    assert factors(tab) == ["pwd", "face"]
    tab.shot("application")

    log_out(tab)
    tab.page.goto("/application/")
    tab.path_is("/auth/login")


def test_another_face_is_refused_and_the_app_stays_closed(
    open_tab: OpenTab, enrolled_user: User
) -> None:
    tab = open_tab(OTHER)  # Mindy at Jerry's password

    login_on_page(tab, enrolled_user, "/application/face/verify")
    start_capture(tab, "verify")
    assert face_result(tab) == MISMATCH
    page = tab.page
    expect(page.locator("#result-message")).to_have_class(re.compile(r"\berror\b"))
    expect(page.locator("#frame-reasons li")).to_have_count(0)  # the frames were fine: a mismatch
    expect(page.get_by_role("button", name="Try again")).to_be_enabled()
    expect(page.locator("#tries-left")).to_have_text(
        f"{TRIES - 1} tries left before you must sign in with your password again."
    )
    expect(page.locator("#oval")).to_have_attribute("data-state", "problem")
    tab.path_is("/application/face/verify")
    tab.shot("refused")

    assert factors(tab) == ["pwd"]
    page.goto("/application/")
    tab.path_is("/application/face/verify")
    expect(page.locator("h1")).to_have_text("Verify your face")
    api = page.context.request.get("/api/v1/application")
    assert api.status == 401
    assert api.json()["next"] == "verify_face"


def test_a_flat_photo_is_refused_with_the_liveness_message(
    open_tab: OpenTab, enrolled_user: User
) -> None:
    tab = open_tab(FLAT)  # a photo of Jerry held up and turned as a plane, at his password

    login_on_page(tab, enrolled_user, "/application/face/verify")
    start_capture(tab, "verify")
    page = tab.page
    expect(page.locator("#challenge-arrow")).to_have_text("←")
    assert face_result(tab) in LIVENESS_REFUSALS
    expect(page.locator("#result-message")).to_have_class(re.compile(r"\berror\b"))
    expect(page.get_by_role("button", name="Try again")).to_be_enabled()
    tab.shot("flat-photo-refused")

    assert factors(tab) == ["pwd"]
    api = page.context.request.get("/api/v1/application")
    assert api.status == 401


def test_camera_denied_explains_what_to_do(open_tab: OpenTab, live_app: str) -> None:
    user = User.new("Mindy Kaling")
    register_via_api(live_app, user)
    tab = open_tab(DENIED)

    login_on_page(tab, user, "/application/face/enroll")
    page = tab.page
    page.get_by_role("button", name="Start camera and capture").click()
    status = page.locator("#status")
    # After a server round trip for the challenge, which a loaded 2-core machine may slow.
    expect(status).to_have_text(CAMERA_DENIED, timeout=15_000)
    expect(status).to_have_class(re.compile(r"\berror\b"))
    expect(page.locator("#progress")).to_be_hidden()
    expect(page.get_by_role("button", name="Start camera and capture")).to_be_enabled()
    tab.shot("camera-denied")

    state = page.evaluate("navigator.permissions.query({name: 'camera'}).then(s => s.state)")
    assert state == "denied"
    tab.path_is("/application/face/enroll")
    assert factors(tab) == ["pwd"]


def test_protected_url_sends_each_visitor_to_their_step(open_tab: OpenTab, live_app: str) -> None:
    tab = open_tab(ENROLL)
    page = tab.page

    # No cookie at all: the password step.
    for typed in ("/application/", "/application", "/application/face/verify"):
        page.goto(typed)
        tab.path_is("/auth/login")
        expect(page.locator("h1")).to_have_text("Sign in")
    tab.shot("no-cookie")

    # The password cookie only: the face step, never the app.
    user = User.new("Mindy Kaling")
    register_via_api(live_app, user)
    login_on_page(tab, user, "/application/face/enroll")
    [cookie] = [c for c in page.context.cookies() if c["name"] == ACCESS_COOKIE]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    page.goto("/application/")
    tab.path_is("/application/face/enroll")
    expect(page.locator("h1")).to_have_text("Enroll your face")
    page.goto("/application/face/verify")  # nothing enrolled yet: enroll first
    tab.path_is("/application/face/enroll")
    tab.shot("password-cookie-only")
    api = page.context.request.get("/api/v1/application")
    assert api.status == 401
    assert api.json()["next"] == "enroll_face"

    # The cookie gone again: back to the password step.
    page.context.clear_cookies()
    page.goto("/application/")
    tab.path_is("/auth/login")
