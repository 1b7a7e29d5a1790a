"""A real SMTP server on loopback (aiosmtpd) and the mailbox the tests read: what the app
sends through smtplib arrives here, parsed."""

import email
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller

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
