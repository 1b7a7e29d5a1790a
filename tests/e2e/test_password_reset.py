"""Password reset by email, end to end in Chromium, with mail on: the app sends to a real SMTP
server on loopback (aiosmtpd, tests/mailbox.py) and the test reads the links from its mailbox.
Registration needs the mailed verification link first; a reset ends every session and the
sign-in after it still needs the face."""

import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from playwright.sync_api import expect
from pymongo import MongoClient

from face_auth.face_pipeline import FaceModels
from tests.e2e.conftest import ENROLL, VERIFY
from tests.e2e.pages import (
    VERIFIED,
    Tab,
    User,
    enroll_on_page,
    expect_application,
    face_result,
    login_on_page,
    start_capture,
)
from tests.mailbox import Mailbox, link_in
from tests.support import running_app

pytestmark = [pytest.mark.e2e, pytest.mark.models]

OpenTab = Callable[[str], Tab]
NEW_PASSWORD = "quiet lantern orchard"


@pytest.fixture(scope="module")
def live_app(
    live_app_env: dict[str, str],
    mailbox: Mailbox,
    face_models: FaceModels,  # the weights are installed before the server starts
    artifacts_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """This module's server: the e2e settings with mail on, sending to the local SMTP server
    (its links point at the server's own address, its public URL)."""
    env = {
        **live_app_env,
        "FACE_AUTH_DATABASE_NAME": f"e2e_mail_{uuid.uuid4().hex[:12]}",
        "FACE_AUTH_DATA_DIR": str(tmp_path_factory.mktemp("e2e-mail-app") / "data"),
        "FACE_AUTH_SMTP_HOST": "127.0.0.1",
        "FACE_AUTH_SMTP_PORT": str(mailbox.port),
        "FACE_AUTH_SMTP_SECURITY": "none",
        "FACE_AUTH_MAIL_FROM": "face_auth <no-reply@face-auth.test>",
    }
    with running_app(env, artifacts_dir / "app-mail.log", timeout=180) as base_url:
        yield base_url
    with MongoClient(env["MONGODB_URI"]) as client:
        client.drop_database(env["FACE_AUTH_DATABASE_NAME"])


def sign_in_refused(tab: Tab, user: User, password: str, message: str) -> None:
    page = tab.page
    page.goto("/auth/login")
    page.fill("#email", user.email)
    page.fill("#password", password)
    page.get_by_role("button", name="Continue").click()
    tab.path_is("/auth/login")
    expect(page.get_by_role("alert")).to_contain_text(message)


def register_and_verify(tab: Tab, user: User, mailbox: Mailbox) -> None:
    """Register on the page; sign-in waits for the mailed link, which confirms the address."""
    page = tab.page
    page.goto("/auth/register")
    for field in ("name", "username", "email", "phone"):
        page.fill(f"#{field}", getattr(user, field))
    page.fill("#password", user.password)
    page.fill("#password_confirm", user.password)
    page.get_by_role("button", name="Create account").click()
    tab.path_is("/auth/login?verify_email=1")
    expect(page.get_by_role("status")).to_contain_text("We have mailed you a link")

    sign_in_refused(tab, user, user.password, "Confirm your email address first")
    expect(page.get_by_role("button", name="Send me a new link")).to_be_visible()
    tab.shot("email-not-verified")

    verification = mailbox.wait_for(user.email)
    assert verification["Subject"] == "Confirm your email address for face_auth"
    page.goto(link_in(verification))
    expect(page.locator("h1")).to_have_text("Confirm your email address")
    page.get_by_role("button", name="Confirm my email address").click()
    tab.path_is("/auth/login?email_verified=1")
    expect(page.get_by_role("status")).to_have_text(
        "Email address confirmed. Sign in with your password."
    )


def test_password_reset_by_email_ends_sessions_and_still_needs_the_face(
    open_tab: OpenTab, mailbox: Mailbox
) -> None:
    user = User.new("Jerry Seinfeld")
    first = open_tab(ENROLL)
    register_and_verify(first, user, mailbox)
    login_on_page(first, user, "/application/face/enroll")
    enroll_on_page(first, user)  # a full session stays open in this browser

    # On another device: "Forgot password?", the mail, the link.
    second = open_tab(VERIFY)
    page = second.page
    page.goto("/auth/login")
    page.get_by_role("link", name="Forgot password?").click()
    second.path_is("/auth/forgot-password")
    page.fill("#email", user.email)
    second.shot("forgot-password")
    page.get_by_role("button", name="Send me a link").click()
    expect(page.get_by_role("status")).to_contain_text("If an account uses this address")
    reset_mail = mailbox.wait_for(user.email, count=2)
    assert reset_mail["Subject"] == "Reset your face_auth password"
    link = link_in(reset_mail)
    assert link.startswith(f"{page.url.split('/auth/')[0]}/auth/reset-password?token=")

    page.goto(link)
    expect(page.locator("h1")).to_have_text("Choose a new password")
    page.fill("#new_password", "password123")  # the password rules still apply
    page.fill("#new_password_confirm", "password123")
    page.get_by_role("button", name="Set the new password").click()
    expect(page.locator("#new_password-error")).to_contain_text("most common")
    page.fill("#new_password", NEW_PASSWORD)
    page.fill("#new_password_confirm", NEW_PASSWORD)
    second.shot("reset-password")
    page.get_by_role("button", name="Set the new password").click()
    second.path_is("/auth/login?password_reset=1")
    expect(page.get_by_role("status")).to_contain_text("your face is still checked")

    # The link worked once; the first browser's full session is over.
    page.goto(link)
    expect(page.get_by_role("alert")).to_contain_text("This link is not valid")
    first.page.goto("/application/")
    first.path_is("/auth/login")

    # The old password is refused; the new one opens only the face step.
    sign_in_refused(second, user, user.password, "Email or password is incorrect")
    login_on_page(second, replace(user, password=NEW_PASSWORD), "/application/face/verify")
    page.goto("/application/")
    second.path_is("/application/face/verify")
    start_capture(second, "verify")
    assert face_result(second) == VERIFIED
    expect_application(second, user)
    second.shot("signed-in-after-reset")
