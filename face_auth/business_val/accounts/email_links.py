"""The links mailed to an account's address: a password reset, and the verification of the
address at registration. What to send and when is decided here; face_auth/mail delivers.

A link carries a random 32-byte token; only its SHA-256 is stored, with its purpose, owner and
expiry (reset: password_reset_minutes, verification: email_verification_hours). Using a link
is one atomic update, so it works once. The look-up is by hash: its timing says nothing
usable about the token. Asking for a link answers the same for any address, known or not
(the look-up and the mail happen off the request, in the mail queue), and is counted like a
password attempt, per address and per client.

A reset never signs anyone in: it sets the password, ends every session of the account
(and its OpenID Connect tokens), and the next sign-in asks for the new password and then the
face (or a recovery code), as always.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from face_auth.business_val.accounts.service import AccountService
from face_auth.config import Settings
from face_auth.constant import RESET_PASSWORD_PATH, VERIFY_EMAIL_PATH
from face_auth.data_access import AuditRepository, EmailTokenRepository, UserRepository
from face_auth.entity import EmailToken, User
from face_auth.exception import InvalidLink
from face_auth.logger import get_logger, log_event
from face_auth.mail import MailQueue, OutgoingMail
from face_auth.utils import utc_now

logger = get_logger(__name__)

PURPOSE_RESET = "password_reset"
PURPOSE_VERIFY = "email_verification"
TOKEN_BYTES = 32
# What the forms answer to any address, so that they tell nothing about which have accounts.
RESET_REQUESTED = (
    "If an account uses this address, we have sent it a link to choose a new password. "
    "Check your mailbox (and its spam folder); the link works once, for {minutes} minutes."
)
VERIFICATION_REQUESTED = (
    "If an account with this address is waiting for confirmation, we have sent it a new link. "
    "Check your mailbox (and its spam folder)."
)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    """A link's token (32 random bytes, URL-safe) and the hash that is stored."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, hash_token(token)


@dataclass(frozen=True)
class EmailLinkPolicy:
    reset_lifetime: timedelta
    verify_lifetime: timedelta
    # Where the links point: the configured public origin, never a request's Host header.
    public_origin: str

    @classmethod
    def from_settings(cls, settings: Settings) -> "EmailLinkPolicy":
        return cls(
            reset_lifetime=timedelta(minutes=settings.password_reset_minutes),
            verify_lifetime=timedelta(hours=settings.email_verification_hours),
            public_origin=settings.public_origin,
        )

    def link(self, path: str, token: str) -> str:
        return f"{self.public_origin}{path}?{urlencode({'token': token})}"

    @property
    def reset_minutes(self) -> int:
        return int(self.reset_lifetime.total_seconds() // 60)


class EmailLinks:
    def __init__(
        self,
        *,
        policy: EmailLinkPolicy,
        accounts: AccountService,
        users: UserRepository,
        tokens: EmailTokenRepository,
        audit: AuditRepository,
        queue: MailQueue,
    ) -> None:
        self.policy = policy
        self._accounts = accounts
        self._users = users
        self._tokens = tokens
        self._audit = audit
        self._queue = queue

    # Password reset

    def request_password_reset(self, email: str, client: str | None = None) -> str:
        """Mail a reset link if the address has an account; the answer is the same either
        way (the returned message). Counted per address and client (TooManyLinkRequests)."""
        address = self._accounts.count_link_request(email, client)
        self._queue.post(lambda: self._reset_mail(address))
        return RESET_REQUESTED.format(minutes=self.policy.reset_minutes)

    def _reset_mail(self, address: str) -> OutgoingMail | None:
        user = self._users.get_by_email(address)
        self._audit.record("password_reset_requested", utc_now(), user.id if user else None)
        log_event(logger, "password_reset_requested", user_id=user.id if user else None)
        if user is None:
            return None
        link = self._issue(user, PURPOSE_RESET, RESET_PASSWORD_PATH, self.policy.reset_lifetime)
        text = (
            f"Hello {user.name},\n\n"
            "Someone (we hope you) asked to reset the password of your face_auth account.\n"
            f"Open this link within {self.policy.reset_minutes} minutes to choose a new "
            f"password:\n\n{link}\n\n"
            "The link works once. Signing in afterwards still checks your face (or asks for a "
            "recovery code), and every device signed in to your account is signed out.\n\n"
            "If you did not ask for this, ignore this mail: your password stays as it is.\n"
        )
        return OutgoingMail(to=user.email, subject="Reset your face_auth password", text=text,
                            kind=PURPOSE_RESET, user_id=user.id, link=link)  # fmt: skip

    def reset_link_usable(self, token: str) -> bool:
        """Whether the page may ask for a new password (nothing is used yet)."""
        return self._usable(token, PURPOSE_RESET) is not None

    def reset_password(self, token: str, new_password: str, new_password_confirm: str) -> int:
        """Use a reset link: the password rules first (a refused password leaves the link
        usable), then the link, once; then the new password, and every session ends. Returns
        how many sessions ended. InvalidLink for an unknown, used or expired link."""
        record = self._usable(token, PURPOSE_RESET)
        user = self._owner(record)
        self._accounts.check_new_password(user, new_password, new_password_confirm)
        now = utc_now()
        if self._tokens.consume(hash_token(token), PURPOSE_RESET, now) is None:
            raise InvalidLink()  # used meanwhile by a concurrent request
        self._tokens.use_all_for_user(user.id, PURPOSE_RESET, now)  # older links die too
        ended = self._accounts.reset_password(user, new_password)
        self._users.set_email_verified(user.id, now)  # the link proved the address
        return ended

    # Email verification

    def registered(self, user: User) -> bool:
        """After a registration: mail the verification link when the account needs one.
        True when it does (its sign-in waits for the link)."""
        if not user.verify_email:
            return False
        self._queue.post(lambda: self._verification_mail(user.email))
        return True

    def request_verification(self, email: str, client: str | None = None) -> str:
        """A new verification link for an account waiting for one; the same answer for any
        address. Counted like a reset request."""
        address = self._accounts.count_link_request(email, client)
        self._queue.post(lambda: self._verification_mail(address))
        return VERIFICATION_REQUESTED

    def _verification_mail(self, address: str) -> OutgoingMail | None:
        user = self._users.get_by_email(address)
        if user is None or not user.verify_email or user.email_verified_at is not None:
            return None
        lifetime = self.policy.verify_lifetime
        link = self._issue(user, PURPOSE_VERIFY, VERIFY_EMAIL_PATH, lifetime)
        hours = int(lifetime.total_seconds() // 3600)
        text = (
            f"Hello {user.name},\n\n"
            "Please confirm that this is your email address, to finish creating your "
            f"face_auth account (user name {user.username}):\n\n{link}\n\n"
            f"The link works once, for {hours} hours. If you did not create this account, "
            "ignore this mail.\n"
        )
        return OutgoingMail(to=user.email, subject="Confirm your email address for face_auth",
                            text=text, kind=PURPOSE_VERIFY, user_id=user.id,
                            link=link)  # fmt: skip

    def verification_link_usable(self, token: str) -> bool:
        return self._usable(token, PURPOSE_VERIFY) is not None

    def verify_email(self, token: str) -> None:
        """Use a verification link, once: the account may sign in from now on."""
        now = utc_now()
        record = self._tokens.consume(hash_token(token), PURPOSE_VERIFY, now)
        user = self._owner(record)
        self._users.set_email_verified(user.id, now)
        self._audit.record("email_verified", now, user.id)
        log_event(logger, "email_verified", user_id=user.id)

    # Shared

    def _issue(self, user: User, purpose: str, path: str, lifetime: timedelta) -> str:
        token, token_hash = new_token()
        now = utc_now()
        self._tokens.add(token_hash, purpose, user.id, user.email, now, now + lifetime)
        log_event(logger, "email_link_issued", purpose=purpose, user_id=user.id)
        return self.policy.link(path, token)

    def _usable(self, token: str, purpose: str) -> EmailToken | None:
        if not token:
            return None
        return self._tokens.find_usable(hash_token(token), purpose, utc_now())

    def _owner(self, record: EmailToken | None) -> User:
        """The account a link was mailed to, if it still has that address."""
        user = self._users.get_by_id(record.user_id) if record is not None else None
        if record is None or user is None or user.email != record.email:
            raise InvalidLink()
        return user

    def flush(self, timeout: float | None = None) -> None:
        """Wait for the mails posted so far (tests)."""
        self._queue.flush(timeout)

    def close(self) -> None:
        self._queue.close()
