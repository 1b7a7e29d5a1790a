import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Literal, Protocol

from face_auth.config import Settings
from face_auth.logger import get_logger, log_event
from face_auth.mail.message import OutgoingMail
from face_auth.utils import utc_now

logger = get_logger(__name__)


class MailSender(Protocol):
    def send(self, mail: OutgoingMail) -> None:
        """Deliver the mail, or raise (smtplib.SMTPException or OSError)."""


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: Literal["starttls", "ssl", "none"]
    username: str | None
    password: str | None
    timeout_seconds: float
    sender: str

    @classmethod
    def from_settings(cls, settings: Settings) -> "SmtpConfig":
        assert settings.smtp_host, "mail is off: no SMTP host"
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            username=settings.smtp_username.get_secret_value() if settings.smtp_username else None,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            timeout_seconds=settings.smtp_timeout_seconds,
            sender=settings.mail_from,
        )


class SmtpSender:
    """One SMTP connection per mail (they are rare): TLS from the start (ssl) or after
    STARTTLS, certificates checked against the system's CAs; login only when a user is set."""

    def __init__(self, config: SmtpConfig) -> None:
        self._config = config

    def message(self, mail: OutgoingMail) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self._config.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Date"] = format_datetime(utc_now())
        domain = parseaddr(self._config.sender)[1].rpartition("@")[2] or None
        message["Message-ID"] = make_msgid(domain=domain)
        # Plain ASCII as is (the link stays whole in any reader); otherwise quoted-printable.
        message.set_content(mail.text, cte="7bit" if mail.text.isascii() else "quoted-printable")
        return message

    def send(self, mail: OutgoingMail) -> None:
        config = self._config
        context = ssl.create_default_context()
        connection: smtplib.SMTP
        if config.security == "ssl":
            connection = smtplib.SMTP_SSL(
                config.host, config.port, timeout=config.timeout_seconds, context=context
            )
        else:
            connection = smtplib.SMTP(config.host, config.port, timeout=config.timeout_seconds)
        with connection:
            if config.security == "starttls":
                connection.starttls(context=context)
            if config.username is not None:
                connection.login(config.username, config.password or "")
            connection.send_message(self.message(mail))
        log_event(logger, "mail_sent", kind=mail.kind, user_id=mail.user_id)


class LinkLogSender:
    """Mail off (development): the link goes to the log as one `mail_link_logged` event
    instead of a mailbox. Anyone who reads the log can use the link: never in production."""

    def send(self, mail: OutgoingMail) -> None:
        log_event(logger, "mail_link_logged", kind=mail.kind, user_id=mail.user_id,
                  link=mail.link)  # fmt: skip


def mail_sender(settings: Settings) -> MailSender:
    """SMTP when a host is configured; otherwise the development log."""
    if settings.mail_enabled:
        return SmtpSender(SmtpConfig.from_settings(settings))
    return LinkLogSender()
