import logging
import smtplib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from face_auth.logger import get_logger, log_event
from face_auth.mail.message import OutgoingMail
from face_auth.mail.senders import MailSender

logger = get_logger(__name__)

# Composes the mail (looking the account up, storing the link's hash), or None: nothing to
# send (an unknown address, an account verified already).
Compose = Callable[[], OutgoingMail | None]


class MailQueue:
    """Composes and sends each mail on one background thread, in order. A request only posts
    the job: it never waits for the SMTP server, and its timing does not tell whether an
    address has an account (the look-up happens in the job). A failure is logged; the user can
    ask for another mail."""

    def __init__(self, sender: MailSender) -> None:
        self._sender = sender
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mail")

    def post(self, compose: Compose) -> None:
        self._worker.submit(self._run, compose)

    def _run(self, compose: Compose) -> None:
        try:
            mail = compose()
            if mail is None:
                return
            self._sender.send(mail)
        except (smtplib.SMTPException, OSError) as error:
            log_event(logger, "mail_failed", level=logging.ERROR, exc_type=type(error).__name__)
            return
        except Exception as error:  # a job must never kill the worker silently
            log_event(logger, "mail_job_failed", level=logging.ERROR,
                      exc_type=type(error).__name__)  # fmt: skip
            return

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every job posted so far has run (tests, shutdown)."""
        self._worker.submit(lambda: None).result(timeout)

    def close(self) -> None:
        """Finish the jobs posted so far, then stop the thread."""
        self._worker.shutdown(wait=True)
