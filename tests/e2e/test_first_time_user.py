"""What a first-time user meets on the pages (issue 26): the instruction and a 3-2-1 countdown
before the capture, a "now" cue while it runs, tries left and a clear end when they are spent,
Start held back with a countdown while the account's face step is paused, nothing personal
after Back once logged out, confirmations before destructive actions, local times, an export
that says when the session has ended, and error pages (not JSON) for browser navigations.
"""

import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
from playwright.sync_api import expect

from face_auth.config import Settings
from tests.e2e.camera import ACTION
from tests.e2e.conftest import ENROLL, OTHER, VERIFY
from tests.e2e.pages import (
    ENROLLED_WITH_CODES,
    FRAMES,
    MISMATCH,
    VERIFIED,
    Tab,
    User,
    confirm,
    expect_application,
    face_result,
    log_out,
    login_on_page,
    register_via_api,
    save_recovery_codes,
    start_capture,
)
from tests.support import csrf_headers

pytestmark = [pytest.mark.e2e, pytest.mark.models]

OpenTab = Callable[[str], Tab]
DEFAULTS = Settings.model_fields
TRIES = DEFAULTS["face_max_failures"].default
ACCOUNT_TRIES = DEFAULTS["face_account_max_failures"].default
HOLD_SECONDS = DEFAULTS["face_hold_seconds"].default
INSTRUCTION = "Turn your head slowly to your left, then back"  # the pinned ACTION's

# Records, in order, what the face page shows: the countdown's numbers, the cue on the
# picture and the progress text, each time one of them changes.
RECORD_FACE_PAGE = """() => {
  window.faceEvents = [];
  window.faceClock = [];  // performance.now() of each event, ms
  document.getElementById("start").addEventListener("click", () => {
    window.faceEvents.push("click");
    window.faceClock.push(Math.round(performance.now()));
  });
  const watch = (id) => {
    const element = document.getElementById(id);
    new MutationObserver(() => {
      if (!element.hidden && element.textContent.trim()) {
        window.faceEvents.push(id + ":" + element.textContent.trim());
        window.faceClock.push(Math.round(performance.now()));
      }
    }).observe(element, {childList: true, characterData: true, subtree: true,
                         attributes: true, attributeFilter: ["hidden"]});
  };
  ["countdown", "cue", "progress-text", "result-message"].forEach(watch);
}"""


def blank_jpeg() -> bytes:
    ok, encoded = cv2.imencode(".jpg", np.full((480, 640, 3), 128, np.uint8))
    assert ok
    return encoded.tobytes()


def fail_face_tries(client: httpx.Client | None, tab: Tab | None, count: int) -> None:
    """Spend `count` face tries of a password session with a grey picture (a liveness
    refusal counts as a failed try, on the session and on the account): through an API
    client, or with the cookies of a browser tab."""
    frame = {"name": "frame.jpg", "mimeType": "image/jpeg", "buffer": blank_jpeg()}
    for _ in range(count):
        if client is not None:
            headers = csrf_headers(client)
            nonce = client.post("/api/v1/face/challenge", headers=headers).json()["nonce"]
            files = {"frames": ("frame.jpg", frame["buffer"], "image/jpeg")}
            response = client.post(
                "/api/v1/face/verify", files=files, data={"nonce": nonce}, headers=headers
            )
        else:
            assert tab is not None
            request = tab.page.context.request
            token = tab.page.locator('meta[name="csrf-token"]').get_attribute("content") or ""
            headers = {"X-CSRF-Token": token}
            nonce = request.post("/api/v1/face/challenge", headers=headers).json()["nonce"]
            answer = request.post(
                "/api/v1/face/verify", multipart={"frames": frame, "nonce": nonce},
                headers=headers,
            )  # fmt: skip
            response = httpx.Response(answer.status, content=answer.body())
        assert response.status_code in (400, 401, 422), response.text


def hold_the_face_step(base_url: str, user: User) -> None:
    """Fail the account's face step ACCOUNT_TRIES times in a row over password sign-ins made
    through the API: the account's face step is then paused for HOLD_SECONDS."""
    left = ACCOUNT_TRIES
    while left > 0:
        with httpx.Client(base_url=base_url) as client:
            body = {"email": user.email, "password": user.password}
            session = client.post("/api/v1/sessions", json=body, headers=csrf_headers(client))
            assert session.status_code == 200, session.text
            spent = min(TRIES, left)
            fail_face_tries(client, None, spent)
            left -= spent


def test_instruction_and_countdown_come_before_the_capture(
    open_tab: OpenTab, live_app: str
) -> None:
    user = User.new("Jerry Seinfeld")
    register_via_api(live_app, user)
    tab = open_tab(ENROLL)
    page = tab.page
    login_on_page(tab, user, "/application/face/enroll")

    # Before Start: what will happen, with the movement shown (the server asks only ACTION).
    expect(page.locator("#face-intro")).to_contain_text(f"take {FRAMES} pictures")
    expect(page.locator("#face-intro")).to_contain_text("count down 3, 2, 1")
    instruction = page.locator("#instruction")
    expect(instruction).to_be_visible()
    expect(instruction).to_have_attribute("data-action", ACTION.value)
    expect(instruction).to_contain_text(INSTRUCTION)
    expect(page.locator("#challenge-arrow")).to_have_text("←")
    assert (
        page.locator(".demo-features").evaluate("e => getComputedStyle(e).animationName")
        == "demo-left"
    )
    expect(page.locator("#countdown")).to_be_hidden()
    expect(page.get_by_text("Step 2 of 2: your face")).to_be_visible()
    tab.shot("instruction")
    # Reduced motion: the demonstration stands still (the text and arrow still say it).
    page.emulate_media(reduced_motion="reduce")
    assert (
        page.locator(".demo-features").evaluate("e => getComputedStyle(e).animationName") == "none"
    )
    page.emulate_media(reduced_motion="no-preference")

    page.evaluate(RECORD_FACE_PAGE)
    page.get_by_role("button", name="Start camera and capture").click()
    expect(page.locator("#countdown")).to_have_text("3")
    tab.shot("countdown", full_page=False)
    message = face_result(tab)
    assert message == ENROLLED_WITH_CODES

    events: list[str] = page.evaluate("window.faceEvents")
    first_picture = events.index(f"progress-text:Picture 1 of {FRAMES}")
    countdown = [e for e in events[:first_picture] if e.startswith("countdown:")]
    assert countdown == ["countdown:3", "countdown:2", "countdown:1"], events
    assert not any(e.startswith("countdown:") for e in events[first_picture:]), events
    now_turn = events.index("cue:Now turn left ←")
    come_back = events.index("cue:Now back to the camera")
    assert events.index("countdown:1") < now_turn < first_picture < come_back, events
    # How long each part takes, for the record (test-artifacts/e2e/<test>/timings.json).
    clock: list[int] = page.evaluate("window.faceClock")
    last_picture = events.index(f"progress-text:Picture {FRAMES} of {FRAMES}")
    result = next(i for i, e in enumerate(events) if e.startswith("result-message:"))
    timings = {
        "click_to_countdown_ms": clock[events.index("countdown:3")] - clock[0],
        "countdown_ms": clock[first_picture] - clock[events.index("countdown:3")],
        "capture_ms": clock[last_picture] - clock[first_picture],
        "upload_and_check_ms": clock[result] - clock[last_picture],
        "click_to_result_ms": clock[result] - clock[0],
    }
    (tab.shots_dir / "timings.json").write_text(json.dumps(timings, indent=2))
    assert events[0] == "click", events

    # After a success: the recovery codes first, in view; no per-picture details, no camera.
    expect(page.locator("#recovery-codes")).to_be_in_viewport()
    expect(page.locator("#camera")).to_be_hidden()
    expect(page.locator("#frame-reasons li")).to_have_count(0)
    tab.shot("codes-first")
    save_recovery_codes(tab)
    expect_application(tab, user)

    # Re-enrolling while signed in: the signed-in header, no "Step 2 of 2", no logging out.
    page.get_by_role("link", name="Re-enroll my face").click()
    tab.path_is("/application/face/enroll")
    expect(page.get_by_text("Step 2 of 2")).to_have_count(0)
    expect(page.get_by_role("button", name="Cancel and log out")).to_have_count(0)
    expect(page.locator("header").get_by_role("link", name="Your account")).to_be_visible()
    expect(page.locator("#back-to-account")).to_be_visible()


def test_tries_left_and_the_last_try_is_explained(open_tab: OpenTab, enrolled_user: User) -> None:
    tab = open_tab(OTHER)  # Mindy at Jerry's password
    page = tab.page
    login_on_page(tab, enrolled_user, "/application/face/verify")
    expect(page.locator("#tries-left")).to_be_hidden()  # all tries left: nothing to warn

    start_capture(tab, "verify")
    assert face_result(tab) == MISMATCH
    tries = page.locator("#tries-left")
    expect(tries).to_have_text(
        f"{TRIES - 1} tries left before you must sign in with your password again."
    )
    expect(page.locator("#oval")).to_have_attribute("data-state", "problem")
    expect(page.locator("#oval-reason")).to_be_hidden()  # the pictures were fine: a mismatch
    tab.shot("tries-left")

    # Spend all but one (as the page's own cookie would), then the last one on the page.
    fail_face_tries(None, tab, TRIES - 2)
    page.reload()
    expect(tries).to_have_text("1 try left before you must sign in with your password again.")
    start_capture(tab, "verify")
    message = face_result(tab)
    assert message.startswith("That was the last face try of this sign-in"), message
    assert "Sign in with your password again" in message
    again = page.get_by_role("link", name="Sign in with your password again")
    expect(again).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Start|Try again"))).to_be_hidden()
    tab.path_is("/application/face/verify")  # no jump: the user reads, then goes on
    tab.shot("last-try")
    again.click()
    tab.path_is("/auth/login")


def test_start_waits_out_a_hold_with_a_countdown(
    open_tab: OpenTab, enrolled_user: User, live_app: str
) -> None:
    hold_the_face_step(live_app, enrolled_user)
    tab = open_tab(VERIFY)
    page = tab.page
    login_on_page(tab, enrolled_user, "/application/face/verify")

    start = page.locator("#start")
    expect(page.locator("#held")).to_be_visible()
    expect(start).to_be_disabled()
    countdown = page.locator("#hold-countdown")
    expect(countdown).to_have_text(re.compile(r"^\d+ seconds$"))
    first = int(countdown.inner_text().split()[0])
    assert 0 < first <= HOLD_SECONDS
    expect(start).to_have_text(re.compile(r"^Wait \d+ seconds$"))
    tab.shot("held")
    # The countdown is live: it goes down while Start stays disabled.
    page.wait_for_function(
        f"() => parseInt(document.getElementById('hold-countdown').textContent) < {first}"
    )
    expect(start).to_be_disabled()
    # Clicking a disabled Start does nothing: no challenge, no capture.
    start.click(force=True)
    expect(page.locator("#progress")).to_be_hidden()


def test_back_after_logout_shows_no_personal_data(open_tab: OpenTab, enrolled_user: User) -> None:
    tab = open_tab(VERIFY)
    page = tab.page
    login_on_page(tab, enrolled_user, "/application/face/verify")
    start_capture(tab, "verify")
    assert face_result(tab) == VERIFIED
    expect_application(tab, enrolled_user)
    response = page.reload()
    assert response is not None
    assert response.headers["cache-control"] == "no-store"

    log_out(tab)
    page.go_back()
    page.wait_for_load_state()
    tab.path_is("/auth/login")
    content = page.content()
    for personal in (enrolled_user.email, enrolled_user.phone, enrolled_user.username):
        assert personal not in content
    expect(page.locator("h1")).to_have_text("Sign in")
    tab.shot("back-after-logout")


def test_destructive_actions_ask_for_a_confirmation(open_tab: OpenTab, enrolled_user: User) -> None:
    tab = open_tab(VERIFY)
    page = tab.page
    login_on_page(tab, enrolled_user, "/application/face/verify")
    start_capture(tab, "verify")
    assert face_result(tab) == VERIFIED
    expect_application(tab, enrolled_user)

    for button in ("Delete my face data", "New recovery codes", "Sign out everywhere"):
        expect(page.get_by_role("button", name=button, exact=True)).to_have_class(
            re.compile(r"\bdanger-outline\b")
        )
    expect(page.get_by_role("link", name="Delete my account")).to_have_class(
        re.compile(r"\bdanger-outline\b")
    )

    # Cancel: nothing happens.
    page.get_by_role("button", name="Delete my face data", exact=True).click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Delete your face data?")
    expect(dialog.get_by_role("button", name="Delete my face data")).to_have_class(
        re.compile(r"\bdanger\b")
    )
    tab.shot("confirm-delete-face")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    tab.path_is("/application/")
    expect(page.locator("#face-state")).to_have_text("Enrolled")

    # Confirmed: the face data goes.
    confirm(tab, "Delete my face data", "Delete my face data")
    tab.path_is("/application/?face_deleted=1")
    expect(page.locator("#face-state")).to_have_text("Not enrolled")
    expect(page.get_by_role("link", name="Enroll my face")).to_be_visible()


def test_account_page_times_export_and_error_pages(
    open_tab: OpenTab, enrolled_user: User, live_app: str
) -> None:
    tab = open_tab(VERIFY)
    page = tab.page
    not_found: list[str] = []
    page.on("response", lambda r: not_found.append(r.url) if r.status == 404 else None)
    login_on_page(tab, enrolled_user, "/application/face/verify")
    start_capture(tab, "verify")
    assert face_result(tab) == VERIFIED
    expect_application(tab, enrolled_user)

    # The session's end in the browser's zone (this session opened in Kolkata), UTC on hover.
    context = page.context
    assert context.browser is not None
    kolkata = context.browser.new_context(
        base_url=live_app,
        locale="en-GB",
        timezone_id="Asia/Kolkata",
        storage_state=context.storage_state(),
    )
    try:
        elsewhere = kolkata.new_page()
        elsewhere.goto("/application/")
        ends = elsewhere.locator(".details time")
        utc = ends.get_attribute("datetime") or ""
        expect(ends).to_have_attribute("title", re.compile(r"UTC$"))
        expect(ends).to_have_text(re.compile(r"^\d\d:\d\d \S+$"))
        expect(ends).not_to_have_text(re.compile("UTC"))
        shown = datetime.fromisoformat(utc).astimezone(timezone(timedelta(hours=5, minutes=30)))
        assert ends.inner_text().startswith(shown.strftime("%H:%M"))
    finally:
        kolkata.close()

    # Signed-in pages show the signed-in header.
    page.goto("/auth/password")
    expect(page.locator("header").get_by_role("link", name="Your account")).to_be_visible()
    expect(page.locator("header").get_by_role("link", name="Sign in")).to_have_count(0)
    page.goto("/application/")

    # Download my data: a file while signed in; a message once the session has ended.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download my data (JSON)").click()
    download = download_info.value
    assert download.suggested_filename == "face_auth-my-data.json"
    exported = json.loads(Path(download.path()).read_text())
    assert enrolled_user.email in json.dumps(exported)
    page.context.clear_cookies()
    page.get_by_role("link", name="Download my data (JSON)").click()
    problem = page.locator("#export-problem")
    expect(problem).to_contain_text("Your session has ended")
    expect(problem.get_by_role("link", name="Sign in again")).to_be_visible()
    tab.shot("export-session-ended")

    # A browser opening an API address signed out: a page, not JSON.
    response = page.goto("/api/v1/me/export")
    assert response is not None and response.status == 401
    assert response.headers["content-type"].startswith("text/html")
    expect(page.locator("h1")).to_have_text("Sign-in required")
    # ... while an API client still gets JSON.
    api = page.context.request.get("/api/v1/me/export")
    assert api.status == 401 and api.json()["error"] == "not_authenticated"

    # The favicon: linked, served, and no 404 on any page.
    icon = page.context.request.get("/favicon.ico")
    assert icon.status == 200 and icon.headers["content-type"] == "image/x-icon"
    assert page.context.request.get("/static/favicon.svg").status == 200
    assert not not_found, not_found


def test_a_password_can_be_shown_before_signing_in(open_tab: OpenTab, enrolled_user: User) -> None:
    tab = open_tab(VERIFY)
    page = tab.page
    page.goto("/auth/login")
    page.fill("#email", enrolled_user.email)
    page.fill("#password", enrolled_user.password)
    password = page.locator("#password")
    toggle = page.get_by_role("button", name="Show password")
    expect(password).to_have_attribute("type", "password")
    toggle.click()
    expect(password).to_have_attribute("type", "text")
    expect(password).to_have_value(enrolled_user.password)
    hide = page.get_by_role("button", name="Hide password")
    expect(hide).to_have_attribute("aria-pressed", "true")
    tab.shot("password-shown")
    # Shown, the password still signs in (and goes back to a password field on submit).
    page.get_by_role("button", name="Continue").click()
    tab.path_is("/application/face/verify")
