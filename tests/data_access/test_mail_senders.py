"""Delivering mail through a real SMTP server on loopback (aiosmtpd), the development log,
and the queue's behaviour when the server is down."""

import logging
import ssl
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from face_auth.config import Settings
from face_auth.logger import RedactQueryTokens
from face_auth.mail import LinkLogSender, MailQueue, OutgoingMail, SmtpSender, mail_sender
from tests.mailbox import Mailbox, link_in, self_signed_certificate, starttls_smtp_server
from tests.support import free_port

LINK = "http://127.0.0.1:8000/auth/reset-password?token=abc"


def mail(to: str) -> OutgoingMail:
    return OutgoingMail(to=to, subject="Reset your face_auth password", text=f"Open:\n\n{LINK}\n",
                        kind="password_reset", user_id="u1", link=LINK)  # fmt: skip


def test_smtp_sender_delivers_a_plain_text_mail(mail_settings: Settings, mailbox: Mailbox) -> None:
    sender = mail_sender(mail_settings)
    assert isinstance(sender, SmtpSender)
    sender.send(mail("smtp.sender@example.com"))
    received = mailbox.wait_for("smtp.sender@example.com")
    assert received["From"] == "face_auth <no-reply@face-auth.test>"
    assert received["To"] == "smtp.sender@example.com"
    assert received["Subject"] == "Reset your face_auth password"
    assert received["Message-ID"].endswith("@face-auth.test>")
    assert received["Date"]
    assert link_in(received) == LINK


def test_without_an_smtp_host_the_link_goes_to_the_log(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    assert settings.mail_enabled is False
    sender = mail_sender(settings)
    assert isinstance(sender, LinkLogSender)
    caplog.set_level(logging.INFO, logger="face_auth.mail.senders")
    sender.send(mail("dev@example.com"))
    [record] = [r for r in caplog.records if r.getMessage() == "mail_link_logged"]
    assert record.__dict__["link"] == LINK
    assert record.__dict__["kind"] == "password_reset"
    assert "dev@example.com" not in str(record.__dict__)  # the address is not logged


def test_a_server_that_is_down_is_logged_and_the_queue_keeps_going(
    mail_settings: Settings, mailbox: Mailbox, caplog: pytest.LogCaptureFixture
) -> None:
    down = Settings(**{**mail_settings.model_dump(exclude_unset=True), "smtp_port": free_port()})
    queue = MailQueue(mail_sender(down))
    caplog.set_level(logging.INFO, logger="face_auth.mail.queue")
    queue.post(lambda: mail("lost@example.com"))
    queue.post(lambda: None)  # nothing to send (an unknown address)
    queue.flush(15)
    queue.close()
    assert [r.getMessage() for r in caplog.records] == ["mail_failed"]
    assert caplog.records[0].__dict__["exc_type"] == "ConnectionRefusedError"
    working = MailQueue(mail_sender(mail_settings))
    working.post(lambda: mail("after.failure@example.com"))
    working.close()  # finishes what was posted
    assert mailbox.messages_to("after.failure@example.com")


def test_smtp_credentials_are_never_sent_in_the_clear_to_another_host() -> None:
    with pytest.raises(ValidationError, match="unencrypted"):
        Settings(smtp_host="smtp.example.com", smtp_security="none",
                 smtp_username=SecretStr("me"), smtp_password=SecretStr("pw"))  # fmt: skip
    assert Settings(smtp_host="127.0.0.1", smtp_security="none",
                    smtp_username=SecretStr("me")).mail_enabled  # fmt: skip
    assert Settings(smtp_host="smtp.example.com", smtp_username=SecretStr("me")).mail_enabled


def test_tokens_in_request_lines_are_redacted_from_the_access_log() -> None:
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/auth/reset-password?token=SECRET&x=1", "1.1", 200), None,
    )  # fmt: skip
    assert RedactQueryTokens().filter(record)
    assert "SECRET" not in record.getMessage()
    assert "/auth/reset-password?token=[redacted]&x=1" in record.getMessage()


def test_starttls_checks_the_certificate_then_logs_in(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = self_signed_certificate(tmp_path)
    with starttls_smtp_server(cert, key, "mailer", "s3cret pass") as server:
        config = {**settings.model_dump(exclude_unset=True), "smtp_host": "127.0.0.1",
                  "smtp_port": server.port, "smtp_security": "starttls",
                  "smtp_username": SecretStr("mailer")}  # fmt: skip
        sender = mail_sender(Settings(**config, smtp_password=SecretStr("s3cret pass")))
        # A certificate nobody vouches for: refused before anything is sent.
        with pytest.raises(ssl.SSLCertVerificationError):
            sender.send(mail("tls@example.com"))
        # Trusted (as if a CA had signed it), the mail goes: the server takes mail only after
        # STARTTLS and a login.
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        sender.send(mail("tls@example.com"))
        assert link_in(server.wait_for("tls@example.com")) == LINK
