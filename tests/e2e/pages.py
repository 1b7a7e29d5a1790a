"""What a person does on the pages, step by step, in a real Chromium driven by Playwright."""

import itertools
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from face_auth.config import Settings
from tests.support import PASSWORD, csrf_headers

# The first face request of a fresh server also warms TensorFlow up: allow for it on 2 cores.
FACE_RESULT_TIMEOUT_MS = 90_000
# Pictures the page captures for a liveness challenge (the server under test runs the
# default challenge mode: face_capture_frames).
FRAMES = Settings.model_fields["face_capture_frames"].default

# What face_capture.js shows; the tests read these from the page.
ENROLLED = "Your face is enrolled. Taking you to your account…"
ENROLLED_WITH_CODES = "Your face is enrolled. Save your recovery codes before you go on."
RECOVERY_CODES = 10
VERIFIED = "Face verified. Taking you to your account…"
# ... when an application (OpenID Connect) sent the user to sign in.
VERIFIED_FOR_APP = "Face verified. Taking you back to the application that sent you here…"
MISMATCH = "The face does not match the enrolled face."
# Liveness refusals of a flat picture turned to the left (face_pipeline/liveness.py MESSAGES).
LIVENESS_REFUSALS = (
    "The picture looks flat: use your real face, not a photo or screen.",
    "Turn your head slowly to your left, then back as shown, while the pictures are taken.",
)
CAMERA_DENIED = (
    "Camera access was denied. Allow the camera for this site in your browser's site settings "
    "(the camera icon in the address bar), then reload this page."
)


@dataclass(frozen=True)
class User:
    name: str
    username: str
    email: str
    phone: str = "+44 20 7946 0958"
    password: str = PASSWORD

    @classmethod
    def new(cls, name: str) -> "User":
        tag = uuid.uuid4().hex[:8]
        handle = name.split(maxsplit=1)[0].lower()
        return cls(name=name, username=f"{handle}_{tag}", email=f"{handle}.{tag}@example.com")


@dataclass
class Tab:
    """One browser context and its page, with numbered screenshots and the page's JS errors."""

    page: Page
    shots_dir: Path
    numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    errors: list[str] = field(default_factory=list)

    def shot(self, name: str, full_page: bool = True) -> Path:
        """`full_page` False during a capture: a full-page screenshot resizes the page and
        stalls the camera's video for a moment, which would skew the captured head turn."""
        path = self.shots_dir / f"{next(self.numbers):02d}-{name}.png"
        self.page.screenshot(path=path, full_page=full_page)
        return path

    def path_is(self, path: str) -> None:
        expect(self.page).to_have_url(re.compile(rf"^https?://[^/]+{re.escape(path)}$"))


def register_via_api(base_url: str, user: User) -> None:
    """A quick account for tests about later steps (the page itself is tested in the flow)."""
    body = {
        "name": user.name,
        "username": user.username,
        "email": user.email,
        "phone": user.phone,
        "password": user.password,
        "password_confirm": user.password,
    }
    with httpx.Client(base_url=base_url) as client:
        response = client.post("/api/v1/users", json=body, headers=csrf_headers(client))
    assert response.status_code == 201, response.text


def register_on_page(tab: Tab, user: User, shots: bool = False) -> None:
    page = tab.page
    page.goto("/auth/register")
    expect(page.locator("h1")).to_have_text("Create your account")
    page.fill("#name", user.name)
    page.fill("#username", user.username)
    page.fill("#email", user.email)
    page.fill("#phone", user.phone)
    page.fill("#password", user.password)
    page.fill("#password_confirm", user.password)
    if shots:
        tab.shot("register")
    page.get_by_role("button", name="Create account").click()
    tab.path_is("/auth/login?registered=1")
    expect(page.get_by_role("status")).to_have_text("Account created. Sign in with your password.")


def login_on_page(tab: Tab, user: User, expected_path: str, shots: bool = False) -> None:
    """The password step; `expected_path` is the face step the app must send us to."""
    page = tab.page
    if "/auth/login" not in page.url:
        page.goto("/auth/login")
    expect(page.locator("h1")).to_have_text("Sign in")
    page.fill("#email", user.email)
    page.fill("#password", user.password)
    if shots:
        tab.shot("password")
    page.get_by_role("button", name="Continue").click()
    tab.path_is(expected_path)


def start_capture(tab: Tab, mode: str, shots: bool = False) -> None:
    """On the face page: check it is the right step, press the button, watch the progress."""
    page = tab.page
    title = "Enroll your face" if mode == "enroll" else "Verify your face"
    expect(page.locator("h1")).to_have_text(title)
    expect(page.locator("#face-step")).to_have_attribute("data-endpoint", f"/api/v1/face/{mode}")
    if shots:
        tab.shot(f"{mode}-page")
    page.get_by_role("button", name=re.compile("Start camera and capture|Try again")).click()
    progress = page.locator("#progress-text")
    if shots:
        # Mid-capture, checked on every animation frame: the window lasts about a second.
        page.wait_for_function(
            "() => /^Picture [3-7] of /.test(document.getElementById('progress-text').textContent)",
            timeout=15_000,
        )
        tab.shot(f"{mode}-capturing", full_page=False)
    expect(progress).to_have_text(f"Picture {FRAMES} of {FRAMES}", timeout=15_000)


def face_result(tab: Tab) -> str:
    message = tab.page.locator("#result-message")
    expect(message).to_be_visible(timeout=FACE_RESULT_TIMEOUT_MS)
    return message.inner_text()


def expect_application(tab: Tab, user: User) -> None:
    page = tab.page
    tab.path_is("/application/")
    expect(page.locator("h1")).to_have_text(f"Welcome, {user.name}")
    expect(page.locator(".badge")).to_have_text("Signed in with password and face")
    expect(page.locator(".details")).to_contain_text(user.email)


def enroll_on_page(tab: Tab, user: User, shots: bool = False) -> list[str]:
    """From the enrollment page to the protected app, with the camera. A first enrollment
    shows the recovery codes once, with a download; they are returned (as downloaded)."""
    start_capture(tab, "enroll", shots)
    message = face_result(tab)
    expect(tab.page.locator("#result-message")).to_have_class(re.compile(r"\bsuccess\b"))
    codes: list[str] = []
    if message == ENROLLED_WITH_CODES:
        codes = save_recovery_codes(tab, shots)
    else:
        assert message == ENROLLED
    if shots:
        tab.shot("enrolled")
    expect_application(tab, user)
    return codes


def save_recovery_codes(tab: Tab, shots: bool = False) -> list[str]:
    """The codes panel: the listed codes equal the downloaded file; continue to the app."""
    page = tab.page
    listed = page.locator("#recovery-code-list li")
    expect(listed).to_have_count(RECOVERY_CODES)
    codes = [text.strip() for text in listed.all_inner_texts()]
    assert all(re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){5}", code) for code in codes), codes
    if shots:
        tab.shot("recovery-codes")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the codes").click()
    download = download_info.value
    assert download.suggested_filename == "face_auth-recovery-codes.txt"
    assert Path(download.path()).read_text().split() == codes
    page.get_by_role("button", name="I have saved them: continue").click()
    return codes


def confirm(tab: Tab, button: str, confirm_with: str) -> None:
    """A destructive action: its button opens a dialog; only the dialog's button acts."""
    page = tab.page
    page.get_by_role("button", name=button, exact=True).first.click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name=confirm_with).click()


def log_out(tab: Tab) -> None:
    tab.page.locator("main").get_by_role("button", name="Log out").click()
    tab.path_is("/auth/login")
    expect(tab.page.locator("h1")).to_have_text("Sign in")
