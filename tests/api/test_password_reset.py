"""Password reset by email and email verification, through the app, with mail going to a real
SMTP server on loopback (tests/mailbox.py) and the app's real database."""

import logging
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from pymongo import MongoClient

from app import create_app
from face_auth.business_val.accounts.email_links import hash_token
from face_auth.config import Settings
from face_auth.constant import ACCESS_COOKIE
from tests.api.test_face_api import post_frames
from tests.api.test_login import login
from tests.face_data import PersonFrames
from tests.mailbox import Mailbox, link_in, text_of, token_in
from tests.support import PASSWORD, csrf_headers, registration

NEW_PASSWORD = "quiet lantern orchard"


@pytest.fixture
def mail_client(mail_settings: Settings) -> Iterator[TestClient]:
    """The app with mail on: verification required, links mailed to the local SMTP server."""
    with TestClient(create_app(mail_settings), follow_redirects=False) as test_client:
        yield test_client


def post(client: TestClient, path: str, body: dict[str, str]) -> httpx.Response:
    return client.post(path, json=body, headers=csrf_headers(client))


def register(client: TestClient, suffix: str) -> dict[str, str]:
    user = registration(suffix)
    response = post(client, "/api/v1/users", user)
    assert response.status_code == 201, response.text
    user["verification"] = response.json()["email_verification_required"]
    return user


def verified_user(client: TestClient, mailbox: Mailbox, suffix: str) -> dict[str, str]:
    user = register(client, suffix)
    token = token_in(mailbox.wait_for(user["email"]))
    assert post(client, "/api/v1/email/verify", {"token": token}).status_code == 204
    return user


def ask_reset(client: TestClient, email: str) -> httpx.Response:
    return post(client, "/api/v1/password/forgot", {"email": email})


def reset(client: TestClient, token: str, password: str = NEW_PASSWORD) -> httpx.Response:
    body = {"token": token, "new_password": password, "new_password_confirm": password}
    return post(client, "/api/v1/password/reset", body)


def test_verification_is_required_before_the_first_sign_in_when_mail_is_on(
    mail_client: TestClient, mailbox: Mailbox, mail_settings: Settings
) -> None:
    user = register(mail_client, "verify")
    assert user["verification"] is True

    refused = login(mail_client, user["email"], PASSWORD)
    assert refused.status_code == 403
    assert refused.json()["error"] == "email_not_verified"
    assert ACCESS_COOKIE not in mail_client.cookies
    # Only the right password learns that: a wrong one gets the usual answer.
    assert login(mail_client, user["email"], "wrong password here").status_code == 401

    mail = mailbox.wait_for(user["email"])
    assert mail["Subject"] == "Confirm your email address for face_auth"
    assert mail["From"] == mail_settings.mail_from
    link = link_in(mail)
    assert link.startswith("http://testserver/auth/verify-email?token=")
    # The landing page asks for a click (a mail scanner fetching the link uses nothing).
    page = mail_client.get(link.removeprefix("http://testserver"))
    assert page.status_code == 200 and "Confirm my email address" in page.text
    assert login(mail_client, user["email"], PASSWORD).status_code == 403

    token = token_in(mail)
    assert post(mail_client, "/api/v1/email/verify", {"token": token}).status_code == 204
    signed_in = login(mail_client, user["email"], PASSWORD)
    assert signed_in.status_code == 200
    assert signed_in.json() == {**signed_in.json(), "next": "enroll_face", "factors": ["pwd"]}
    again = post(mail_client, "/api/v1/email/verify", {"token": token})
    assert again.status_code == 400 and again.json()["error"] == "invalid_link"


def test_a_new_verification_link_can_be_asked_for_with_the_same_answer_for_any_address(
    mail_client: TestClient, mailbox: Mailbox
) -> None:
    user = register(mail_client, "resend")
    mailbox.wait_for(user["email"])
    known = post(mail_client, "/api/v1/email/verification", {"email": user["email"]})
    unknown = post(mail_client, "/api/v1/email/verification", {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()

    second = mailbox.wait_for(user["email"], count=2)
    assert post(mail_client, "/api/v1/email/verify", {"token": token_in(second)}).status_code == 204
    assert login(mail_client, user["email"], PASSWORD).status_code == 200
    mail_client.app.state.email_links.flush(10)
    assert mailbox.messages_to("nobody@example.com") == []


@pytest.mark.models
def test_reset_by_mail_ends_every_session_and_the_face_is_still_required(
    mail_client: TestClient, mailbox: Mailbox, mongo: MongoClient, mail_settings: Settings,
    alice: PersonFrames,
) -> None:  # fmt: skip
    user = verified_user(mail_client, mailbox, "reset")
    assert login(mail_client, user["email"], PASSWORD).status_code == 200
    assert post_frames(mail_client, "enroll", alice.enroll).status_code == 200
    full_session = mail_client.cookies[ACCESS_COOKIE]
    assert mail_client.get("/api/v1/me").json()["factors"] == ["pwd", "face"]

    mail_client.cookies.clear()
    answer = ask_reset(mail_client, user["email"])
    assert answer.status_code == 202
    mail = mailbox.wait_for(user["email"], count=2)
    assert mail["Subject"] == "Reset your face_auth password"
    token = token_in(mail)
    assert "30 minutes" in text_of(mail)
    # Stored hashed only.
    stored = mongo[mail_settings.database_name]["email_tokens"].find_one(
        {"purpose": "password_reset"}
    )
    assert stored["_id"] == hash_token(token) and token not in str(stored)

    done = reset(mail_client, token)
    assert done.status_code == 200, done.text
    assert done.json() == {"sessions_ended": 1, "next": "login", "redirect": "/auth/login"}
    # The full session that was live is over; no session was issued by the reset.
    mail_client.cookies.set(ACCESS_COOKIE, full_session)
    assert mail_client.get("/api/v1/me").status_code == 401
    mail_client.cookies.clear()

    assert login(mail_client, user["email"], PASSWORD).status_code == 401
    signed_in = login(mail_client, user["email"], NEW_PASSWORD)
    assert signed_in.status_code == 200
    assert signed_in.json()["next"] == "verify_face"
    assert signed_in.json()["factors"] == ["pwd"]
    assert mail_client.get("/application/").headers["location"] == "/application/face/verify"
    assert mail_client.get("/api/v1/application").status_code == 401
    verified = post_frames(mail_client, "verify", alice.verify)
    assert verified.status_code == 200, verified.text
    assert mail_client.get("/api/v1/me").json()["factors"] == ["pwd", "face"]


def test_a_reset_link_works_once(mail_client: TestClient, mailbox: Mailbox) -> None:
    user = verified_user(mail_client, mailbox, "once")
    ask_reset(mail_client, user["email"])
    token = token_in(mailbox.wait_for(user["email"], count=2))
    assert reset(mail_client, token).status_code == 200
    reused = reset(mail_client, token, "another fine sentence")
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_link"
    assert login(mail_client, user["email"], NEW_PASSWORD).status_code == 200


def test_an_expired_reset_link_is_refused(
    mail_client: TestClient, mailbox: Mailbox, mongo: MongoClient, mail_settings: Settings
) -> None:
    user = verified_user(mail_client, mailbox, "expired")
    ask_reset(mail_client, user["email"])
    token = token_in(mailbox.wait_for(user["email"], count=2))
    tokens = mongo[mail_settings.database_name]["email_tokens"]
    record = tokens.find_one({"_id": hash_token(token)})
    # As if its 30 minutes had passed (tests/business_val lets one really expire).
    tokens.update_one({"_id": record["_id"]}, {"$set": {"expires_at": record["issued_at"]}})

    refused = reset(mail_client, token)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_link"
    page = mail_client.get("/auth/reset-password", params={"token": token})
    assert page.status_code == 400 and "Ask for a new link" in page.text
    assert login(mail_client, user["email"], PASSWORD).status_code == 200


def test_the_new_password_follows_the_password_rules_and_the_link_survives_a_refusal(
    mail_client: TestClient, mailbox: Mailbox
) -> None:
    user = verified_user(mail_client, mailbox, "rules")
    ask_reset(mail_client, user["email"])
    token = token_in(mailbox.wait_for(user["email"], count=2))
    for weak, expected in (("password123", "common"), ("user_rules 2026!", "your name")):
        refused = reset(mail_client, token, weak)
        assert refused.status_code == 422
        assert expected in refused.json()["fields"]["new_password"]
    assert reset(mail_client, token).status_code == 200


def test_unknown_and_known_addresses_get_the_same_answer(
    mail_client: TestClient, mailbox: Mailbox
) -> None:
    user = verified_user(mail_client, mailbox, "same")
    known = ask_reset(mail_client, user["email"])
    unknown = ask_reset(mail_client, "no.such.person@example.com")
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert "If an account uses this address" in known.json()["message"]
    # The pages answer alike too.
    pages = [
        mail_client.post("/auth/forgot-password", data={"email": email,
                         "csrf_token": csrf_headers(mail_client)["X-CSRF-Token"]})
        for email in (user["email"], "no.such.person@example.com")
    ]  # fmt: skip
    assert [page.status_code for page in pages] == [200, 200]
    assert pages[0].text.replace(user["email"], "") == pages[1].text.replace(
        "no.such.person@example.com", ""
    )
    mailbox.wait_for(user["email"], count=3)
    mail_client.app.state.email_links.flush(10)
    assert mailbox.messages_to("no.such.person@example.com") == []


def test_asking_for_links_is_rate_limited_like_the_login_form(
    mail_client: TestClient, mail_settings: Settings
) -> None:
    for address in ("someone@example.com", "nobody.at.all@example.com"):
        answers = [ask_reset(mail_client, address) for _ in range(mail_settings.login_max_failures)]
        assert {answer.status_code for answer in answers} == {202}
        held = ask_reset(mail_client, address)
        assert held.status_code == 429
        assert held.json()["error"] == "too_many_link_requests"
        assert int(held.headers["Retry-After"]) >= 1
    # Another address from the same client is still answered.
    assert ask_reset(mail_client, "third@example.com").status_code == 202


def test_with_mail_off_sign_up_needs_no_verification_and_the_reset_link_is_logged(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    user = register(client, "devmail")
    assert user["verification"] is False
    assert login(client, user["email"], PASSWORD).status_code == 200
    client.cookies.clear()

    caplog.set_level(logging.INFO, logger="face_auth.mail.senders")
    assert ask_reset(client, user["email"]).status_code == 202
    client.app.state.email_links.flush(10)
    [event] = [record for record in caplog.records if record.getMessage() == "mail_link_logged"]
    link = event.__dict__["link"]
    assert link.startswith("http://testserver/auth/reset-password?token=")
    assert reset(client, link.split("token=", 1)[1]).status_code == 200
    assert login(client, user["email"], NEW_PASSWORD).json()["next"] == "enroll_face"


def test_the_pages_reset_the_password_through_forms(
    mail_client: TestClient, mailbox: Mailbox
) -> None:
    user = verified_user(mail_client, mailbox, "pages")
    login_page = mail_client.get("/auth/login")
    assert 'href="/auth/forgot-password"' in login_page.text
    csrf = csrf_headers(mail_client)["X-CSRF-Token"]
    asked = mail_client.post(
        "/auth/forgot-password", data={"email": user["email"], "csrf_token": csrf}
    )
    assert asked.status_code == 200 and "If an account uses this address" in asked.text
    link = link_in(mailbox.wait_for(user["email"], count=2))
    path = link.removeprefix("http://testserver")
    token = path.split("token=", 1)[1]
    assert 'name="new_password"' in mail_client.get(path).text
    weak = {"token": token, "new_password": "password1", "new_password_confirm": "password1"}
    refused = mail_client.post("/auth/reset-password", data={**weak, "csrf_token": csrf})
    assert refused.status_code == 422 and "common" in refused.text
    good = {"token": token, "new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD}
    done = mail_client.post("/auth/reset-password", data={**good, "csrf_token": csrf})
    assert done.status_code == 303
    assert done.headers["location"] == "/auth/login?password_reset=1"
    assert "your face is still checked" in mail_client.get(done.headers["location"]).text
    # Without the CSRF token the form is refused.
    assert mail_client.post("/auth/reset-password", data=good).status_code == 403


def test_unverified_sign_in_page_offers_a_new_link(
    mail_client: TestClient, mailbox: Mailbox
) -> None:
    user = register(mail_client, "unverified")
    csrf = csrf_headers(mail_client)["X-CSRF-Token"]
    form = {"email": user["email"], "password": PASSWORD, "csrf_token": csrf}
    page = mail_client.post("/auth/login", data=form)
    assert page.status_code == 403
    assert "Confirm your email address first" in page.text
    assert 'action="/auth/resend-verification"' in page.text
    resent = mail_client.post(
        "/auth/resend-verification", data={"email": user["email"], "csrf_token": csrf}
    )
    assert resent.status_code == 200
    link = link_in(mailbox.wait_for(user["email"], count=2))
    token = link.split("token=", 1)[1]
    confirmed = mail_client.post("/auth/verify-email", data={"token": token, "csrf_token": csrf})
    assert confirmed.headers["location"] == "/auth/login?email_verified=1"
    assert mail_client.post("/auth/login", data=form).status_code == 303
