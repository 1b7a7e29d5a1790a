"""A real SMTP server on loopback (aiosmtpd) and the mailbox the tests read: what the app
sends through smtplib arrives here, parsed."""

import email
import ipaddress
import re
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support import free_port

# How long a test waits for a mail: the app sends from its background queue.
MAIL_TIMEOUT = 15.0
_LINK = re.compile(r"https?://\S+")


class Mailbox:
    """The messages the local SMTP server accepted, with their envelope recipients."""

    def __init__(self) -> None:
        self.port = 0
        self._messages: list[tuple[list[str], EmailMessage]] = []
        self._arrived = threading.Condition()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=default)
        assert isinstance(message, EmailMessage)
        with self._arrived:
            self._messages.append((list(envelope.rcpt_tos), message))
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    def messages_to(self, address: str) -> list[EmailMessage]:
        with self._arrived:
            return [message for rcpts, message in self._messages if address in rcpts]

    def wait_for(self, address: str, count: int = 1, timeout: float = MAIL_TIMEOUT) -> EmailMessage:
        """The `count`-th mail to `address`, waiting for it to arrive."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                found = [message for rcpts, message in self._messages if address in rcpts]
                if len(found) >= count:
                    return found[count - 1]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no mail #{count} to {address} within {timeout} s")
                self._arrived.wait(left)


def text_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return body.get_content()


def link_in(message: EmailMessage) -> str:
    """The one link a mail carries."""
    links = _LINK.findall(text_of(message))
    assert len(links) == 1, links
    return links[0]


def token_in(message: EmailMessage) -> str:
    return link_in(message).split("token=", 1)[1]


@contextmanager
def local_smtp_server() -> Iterator[Mailbox]:
    """aiosmtpd on 127.0.0.1, a free port, no TLS (loopback only), until the block ends."""
    mailbox = Mailbox()
    mailbox.port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (PEM files), signed by itself."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@contextmanager
def starttls_smtp_server(
    cert_path: Path, key_path: Path, username: str, password: str
) -> Iterator[Mailbox]:
    """aiosmtpd that requires STARTTLS (the given certificate) and then a login."""
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert_path, key_path)

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str,
                      auth_data: Any) -> AuthResult:  # fmt: skip
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == username.encode()
            and (auth_data.password == password.encode())
        )
        return AuthResult(success=ok)

    mailbox = Mailbox()
    mailbox.port = free_port()
    controller = Controller(
        mailbox, hostname="127.0.0.1", port=mailbox.port, tls_context=tls,
        require_starttls=True, auth_required=True, authenticator=authenticator,
    )  # fmt: skip
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()
