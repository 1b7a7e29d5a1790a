"""The mailed links' rules against the real database and a real SMTP server on loopback,
without HTTP: tokens hashed, single use even when raced, expiry, what a reset ends, what
verification blocks."""

import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta

import pytest

from face_auth.business_val import AccountService, PasswordHasher, TokenService
from face_auth.business_val.accounts.email_links import (
    PURPOSE_RESET,
    EmailLinkPolicy,
    EmailLinks,
    hash_token,
)
from face_auth.business_val.accounts.email_verification import EmailVerificationPolicy
from face_auth.business_val.accounts.recent_auth import RecentAuthPolicy
from face_auth.business_val.accounts.service import RegistrationRequest
from face_auth.business_val.password.lockout import LockoutPolicy, PasswordLockout
from face_auth.config import Settings
from face_auth.constant import FACTOR_FACE, FACTOR_PASSWORD
from face_auth.data_access import (
    AuditRepository,
    Database,
    DataKeyRepository,
    EmailTokenRepository,
    EmbeddingRepository,
    LoginAttemptRepository,
    TemplateCipher,
    UserRepository,
)
from face_auth.data_access.oidc_repository import AccessTokenRepository
from face_auth.entity import User
from face_auth.entity.oidc import AccessToken
from face_auth.exception import (
    EmailNotVerified,
    InvalidCredentials,
    InvalidInput,
    InvalidLink,
    InvalidToken,
    TooManyLinkRequests,
)
from face_auth.mail import MailQueue, SmtpConfig, SmtpSender
from face_auth.utils import utc_now
from face_auth.wiring import Repositories, email_links, oidc_revocation
from tests.mailbox import Mailbox, text_of, token_in
from tests.support import PASSWORD, registration

NEW_PASSWORD = "quiet lantern orchard"
LOCKOUT = LockoutPolicy(
    max_failures=3,
    client_max_failures=10,
    registrations_per_client=100,
    window=timedelta(minutes=15),
    first_hold=timedelta(seconds=30),
    max_hold=timedelta(minutes=5),
)


def accounts_service(database: Database, tokens: TokenService, required: bool) -> AccountService:
    cipher = TemplateCipher(os.urandom(32), (), DataKeyRepository(database))
    return AccountService(
        users=UserRepository(database),
        embeddings=EmbeddingRepository(database, cipher),
        audit=AuditRepository(database),
        lockout=PasswordLockout(LOCKOUT, LoginAttemptRepository(database)),
        hasher=PasswordHasher(12),
        tokens=tokens,
        password_token_lifetime=timedelta(minutes=5),
        session_token_lifetime=timedelta(minutes=30),
        recent_auth=RecentAuthPolicy(timedelta(minutes=5)),
        email_verification=EmailVerificationPolicy(required=required),
    )


class Services:
    def __init__(self, database: Database, mail_settings: Settings) -> None:
        self.database = database
        repos = Repositories(mail_settings, database)
        self.tokens = TokenService("x" * 64, "HS256", repos.sessions, oidc_revocation(repos))
        self.accounts = accounts_service(database, self.tokens, required=True)
        self.links = email_links(mail_settings, repos, self.accounts)

    def register(self, suffix: str) -> User:
        """What the register routes do: the account, then its verification mail."""
        user = self.accounts.register(RegistrationRequest(**registration(suffix)))
        assert self.links.registered(user) is True
        return user


@pytest.fixture
def services(database: Database, mail_settings: Settings) -> Iterator[Services]:
    built = Services(database, mail_settings)
    yield built
    built.links.close()


def reset_token(services: Services, mailbox: Mailbox, user: User, count: int = 1) -> str:
    services.links.request_password_reset(user.email)
    return token_in(mailbox.wait_for(user.email, count=count))


def test_a_link_stores_only_the_hash_of_32_random_bytes(
    services: Services, mailbox: Mailbox
) -> None:
    user = services.register("hashed")
    token = token_in(mailbox.wait_for(user.email))
    assert len(token) == 43  # base64url of 32 bytes
    [stored] = services.database.db["email_tokens"].find({"user_id": user.id})
    assert stored["_id"] == hash_token(token) != token
    assert token not in str(stored)
    assert stored["purpose"] == "email_verification"
    lifetime = stored["expires_at"] - stored["issued_at"]
    assert timedelta(hours=24) - timedelta(seconds=1) < lifetime <= timedelta(hours=24)


def test_verification_blocks_sign_in_until_the_link_is_used_once(
    services: Services, mailbox: Mailbox
) -> None:
    user = services.register("gate")
    with pytest.raises(EmailNotVerified):
        services.accounts.login(user.email, PASSWORD)
    with pytest.raises(InvalidCredentials):  # the wrong password learns nothing more
        services.accounts.login(user.email, "not the password at all")
    token = token_in(mailbox.wait_for(user.email))
    with pytest.raises(InvalidLink):  # a verification link is no reset link
        services.links.reset_password(token, NEW_PASSWORD, NEW_PASSWORD)
    services.links.verify_email(token)
    assert services.accounts.login(user.email, PASSWORD).next_step == "enroll_face"
    with pytest.raises(InvalidLink):
        services.links.verify_email(token)


def test_accounts_registered_with_mail_off_are_never_blocked(
    database: Database, services: Services
) -> None:
    relaxed = accounts_service(database, services.tokens, required=False)
    user = relaxed.register(RegistrationRequest(**registration("before")))
    assert user.verify_email is False
    assert services.links.registered(user) is False
    # Mail turned on later: this account was never asked to verify, so it is not blocked.
    assert services.accounts.login(user.email, PASSWORD).next_step == "enroll_face"


def test_an_expired_link_is_refused(
    database: Database, services: Services, mailbox: Mailbox, mail_settings: Settings
) -> None:
    user = services.register("expiry")
    services.links.verify_email(token_in(mailbox.wait_for(user.email)))
    short = EmailLinkPolicy.from_settings(mail_settings)
    short = replace(short, reset_lifetime=timedelta(seconds=1))
    links = EmailLinks(
        policy=short, accounts=services.accounts, users=UserRepository(database),
        tokens=EmailTokenRepository(database), audit=AuditRepository(database),
        queue=MailQueue(SmtpSender(SmtpConfig.from_settings(mail_settings))),
    )  # fmt: skip
    try:
        links.request_password_reset(user.email)
        token = token_in(mailbox.wait_for(user.email, count=2))
        assert links.reset_link_usable(token)
        time.sleep(1.2)
        assert not links.reset_link_usable(token)
        with pytest.raises(InvalidLink):
            links.reset_password(token, NEW_PASSWORD, NEW_PASSWORD)
    finally:
        links.close()
    assert services.accounts.login(user.email, PASSWORD).issued.token


def test_concurrent_uses_of_one_link_let_exactly_one_through(
    services: Services, mailbox: Mailbox
) -> None:
    user = services.register("race")
    services.links.verify_email(token_in(mailbox.wait_for(user.email)))
    token = reset_token(services, mailbox, user, count=2)

    def use(i: int) -> str:
        password = f"{NEW_PASSWORD} {i}"
        try:
            services.links.reset_password(token, password, password)
        except InvalidLink:
            return ""
        return password

    with ThreadPoolExecutor(max_workers=6) as pool:
        winners = [password for password in pool.map(use, range(6)) if password]
    assert len(winners) == 1
    assert services.accounts.login(user.email, winners[0]).issued.token


def test_a_reset_ends_every_session_and_oidc_token_and_issues_none(
    services: Services, mailbox: Mailbox
) -> None:
    user = services.register("ends")
    services.links.verify_email(token_in(mailbox.wait_for(user.email)))
    lifetime = timedelta(minutes=5)
    full = services.tokens.issue(user.id, [FACTOR_PASSWORD, FACTOR_FACE], lifetime)
    other = services.tokens.issue(user.id, [FACTOR_PASSWORD], lifetime)
    oidc_tokens = AccessTokenRepository(services.database)
    oidc_tokens.add(AccessToken(token_id="t1", client_id="rp", user_id=user.id, scope="openid",
                                code_id=None, issued_at=utc_now(), session_id=full.claims.jti,
                                expires_at=utc_now() + lifetime))  # fmt: skip
    first = reset_token(services, mailbox, user, count=2)
    second = reset_token(services, mailbox, user, count=3)

    assert services.links.reset_password(second, NEW_PASSWORD, NEW_PASSWORD) == 2
    for issued in (full, other):
        with pytest.raises(InvalidToken):
            services.tokens.verify(issued.token)
    assert oidc_tokens.find_live("t1", utc_now()) is None
    # The earlier link died with the reset.
    with pytest.raises(InvalidLink):
        services.links.reset_password(first, "yet another sentence", "yet another sentence")
    # The new password opens the password step only: the face comes next.
    with pytest.raises(InvalidCredentials):
        services.accounts.login(user.email, PASSWORD)
    result = services.accounts.login(user.email, NEW_PASSWORD)
    assert result.issued.claims.amr == (FACTOR_PASSWORD,)
    assert not result.issued.claims.is_full
    events = [event["event"] for event in AuditRepository(services.database).find(user.id)]
    assert "password_reset" in events


def test_the_password_rules_apply_and_a_refusal_leaves_the_link_usable(
    services: Services, mailbox: Mailbox
) -> None:
    user = services.register("weak")
    services.links.verify_email(token_in(mailbox.wait_for(user.email)))
    token = reset_token(services, mailbox, user, count=2)
    for password, confirm, field in (
        ("p@ssw0rd!", "p@ssw0rd!", "new_password"),  # a common password, leetspeak undone
        ("short", "short", "new_password"),
        (NEW_PASSWORD, NEW_PASSWORD + "x", "new_password_confirm"),
    ):
        with pytest.raises(InvalidInput) as refused:
            services.links.reset_password(token, password, confirm)
        assert field in refused.value.fields
    assert services.links.reset_link_usable(token)
    services.links.reset_password(token, NEW_PASSWORD, NEW_PASSWORD)


def test_unknown_addresses_get_the_same_answer_and_no_mail(
    services: Services, mailbox: Mailbox
) -> None:
    user = services.register("known")
    known = services.links.request_password_reset(user.email.upper())
    unknown = services.links.request_password_reset("stranger@example.com")
    assert known == unknown
    services.links.flush(10)
    assert "30 minutes" in text_of(mailbox.wait_for(user.email, count=2))
    assert mailbox.messages_to("stranger@example.com") == []
    assert services.database.db["email_tokens"].count_documents({"purpose": PURPOSE_RESET}) == 1


def test_link_requests_are_held_per_address_and_per_client(services: Services) -> None:
    for _ in range(LOCKOUT.max_failures):
        services.links.request_password_reset("target@example.com", "203.0.113.1")
    with pytest.raises(TooManyLinkRequests) as held:
        services.links.request_verification("target@example.com", "198.51.100.2")
    assert 1 <= held.value.retry_after <= 30
    for i in range(LOCKOUT.client_max_failures - LOCKOUT.max_failures):
        services.links.request_password_reset(f"other{i}@example.com", "203.0.113.1")
    with pytest.raises(TooManyLinkRequests):
        services.links.request_password_reset("fresh@example.com", "203.0.113.1")
