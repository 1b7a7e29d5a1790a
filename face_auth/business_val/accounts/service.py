from dataclasses import dataclass
from datetime import timedelta

from face_auth.business_val.accounts.email_verification import EmailVerificationPolicy
from face_auth.business_val.accounts.recent_auth import RecentAuthPolicy
from face_auth.business_val.accounts.validation import (
    account_words,
    check_new_password,
    identifier_skeletons,
    normalise_email,
    normalise_name,
    normalise_phone,
    normalise_username,
)
from face_auth.business_val.observer import AuthObserver, NullObserver
from face_auth.business_val.password.hashing import PasswordHasher
from face_auth.business_val.password.lockout import PasswordLockout
from face_auth.business_val.sessions.tokens import IssuedToken, TokenService
from face_auth.constant import (
    FACTOR_FACE,
    FACTOR_PASSWORD,
    NEXT_APPLICATION,
    NEXT_ENROLL_FACE,
    NEXT_REAUTHENTICATE,
    NEXT_VERIFY_FACE,
)
from face_auth.data_access import AuditRepository, EmbeddingRepository, UserRepository
from face_auth.entity import NewUser, SessionClaims, User
from face_auth.exception import (
    AccountDisabled,
    AccountExists,
    AccountLocked,
    EmailNotVerified,
    FactorRequired,
    InvalidCredentials,
    InvalidInput,
    InvalidToken,
    ReauthenticationRequired,
)
from face_auth.logger import get_logger, log_event
from face_auth.utils import utc_now

logger = get_logger(__name__)


@dataclass(frozen=True)
class RegistrationRequest:
    name: str
    username: str
    email: str
    phone: str
    password: str
    password_confirm: str


@dataclass(frozen=True)
class LoginResult:
    issued: IssuedToken
    next_step: str


@dataclass(frozen=True)
class StepUpResult:
    """A step-up's outcome: the next step, and a new password-only session when the face is
    asked next (None: the current session was marked as freshly authenticated)."""

    next_step: str
    issued: IssuedToken | None = None


class AccountService:
    def __init__(
        self,
        *,
        users: UserRepository,
        embeddings: EmbeddingRepository,
        audit: AuditRepository,
        lockout: PasswordLockout,
        hasher: PasswordHasher,
        tokens: TokenService,
        password_token_lifetime: timedelta,
        session_token_lifetime: timedelta,
        recent_auth: RecentAuthPolicy,
        observer: AuthObserver | None = None,
        email_verification: EmailVerificationPolicy | None = None,
    ) -> None:
        self._observer = observer or NullObserver()
        self._verification = email_verification or EmailVerificationPolicy()
        self._users = users
        self._embeddings = embeddings
        self._audit = audit
        self._lockout = lockout
        self._hasher = hasher
        self._tokens = tokens
        self._password_token_lifetime = password_token_lifetime
        self._session_token_lifetime = session_token_lifetime
        self._recent_auth = recent_auth

    def register(self, request: RegistrationRequest, client: str | None = None) -> User:
        """Create the account. Whether the email or username is taken, the same bcrypt work is
        done first, so timing tells nothing; registrations per client are limited."""
        errors: dict[str, str] = {}
        values: dict[str, str] = {}
        for field, normalise, raw in (
            ("name", normalise_name, request.name),
            ("username", normalise_username, request.username),
            ("email", normalise_email, request.email),
            ("phone", normalise_phone, request.phone),
        ):
            value, error = normalise(raw)
            if error:
                errors[field] = error
            else:
                values[field] = value or ""
        context = account_words(request.name, request.username, request.email)
        errors.update(check_new_password(request.password, request.password_confirm, context))
        if errors:
            raise InvalidInput(errors)
        reservation = self._lockout.reserve_registration(client) if client else None
        try:
            password_hash = self._hasher.hash(request.password)
            email_key, username_key = identifier_skeletons(values["email"], values["username"])
            if self._users.exists(values["email"], values["username"], email_key, username_key):
                raise AccountExists()
            new_user = NewUser(
                **values,
                password_hash=password_hash,
                created_at=utc_now(),
                email_skeleton=email_key,
                username_skeleton=username_key,
                verify_email=self._verification.required,
            )
            user = self._users.add(new_user)  # AccountExists if a concurrent sign-up won
        finally:
            if reservation is not None:
                self._lockout.failed(reservation)
        self._audit.record("user_registered", utc_now(), user.id)
        log_event(logger, "user_registered", user_id=user.id)
        return user

    def login(self, email: str, password: str, client: str | None = None) -> LoginResult:
        """Check the password factor. Unknown email and wrong password cost the same bcrypt work
        and give the same error. The attempt is reserved (PasswordLockout) before hashing."""
        normalised, _ = normalise_email(email)
        key = normalised or email.strip().lower()
        user = self._check_password(key, password, client)
        if self._verification.blocks(user):  # told only to someone with the right password
            self._audit.record("login_refused_unverified", utc_now(), user.id)
            log_event(logger, "login_refused_unverified", user_id=user.id)
            self._observer.login_attempt(FACTOR_PASSWORD, "unverified")
            raise EmailNotVerified()
        self._observer.login_attempt(FACTOR_PASSWORD, "success")
        issued = self._tokens.issue(user.id, [FACTOR_PASSWORD], self._password_token_lifetime)
        self._audit.record("password_verified", utc_now(), user.id)
        log_event(logger, "password_verified", user_id=user.id)
        return LoginResult(issued=issued, next_step=self.next_step(claims=issued.claims))

    def _check_password(self, account: str, password: str, client: str | None) -> User:
        try:
            reservation = self._lockout.reserve(account, client)
        except AccountLocked as locked:
            self._observer.login_attempt(FACTOR_PASSWORD, "locked")
            self._audit.record("login_held", utc_now(), retry_after=locked.retry_after)
            log_event(logger, "login_held", retry_after=locked.retry_after)
            raise
        user = self._users.get_by_email(account)
        password_ok = self._hasher.verify(password, user.password_hash if user else None)
        if user is None or not password_ok:
            held_until = self._lockout.failed(reservation)
            self._audit.record("login_failed", utc_now(), user.id if user else None,
                               held=held_until is not None)  # fmt: skip
            log_event(logger, "login_failed", user_id=user.id if user else None,
                      held=held_until is not None)  # fmt: skip
            self._observer.login_attempt(FACTOR_PASSWORD, "failure")
            raise InvalidCredentials()
        self._lockout.succeeded(reservation, account)
        if user.locked_at is not None:  # after the same bcrypt work: timing tells nothing
            self._audit.record("login_refused_locked", utc_now(), user.id)
            log_event(logger, "login_refused_locked", user_id=user.id)
            self._observer.login_attempt(FACTOR_PASSWORD, "disabled")
            raise AccountDisabled()
        if self._hasher.needs_rehash(user.password_hash):  # the cost setting has risen
            self._users.set_password_hash(user.id, self._hasher.hash(password))
            log_event(logger, "password_rehashed", user_id=user.id)
        return user

    def change_password(
        self,
        claims: SessionClaims,
        current_password: str,
        new_password: str,
        new_password_confirm: str,
        client: str | None = None,
    ) -> int:
        """Needs a recent sign-in with both factors and the current password (its guesses count
        like logins'). Every other session of the user ends; returns how many did."""
        self.require_recent_auth(claims)
        user = self.current_user(claims)
        self.check_new_password(user, new_password, new_password_confirm, current_password)
        try:
            self._check_password(user.email, current_password, client)
        except InvalidCredentials as error:
            fields = {"current_password": "This is not your current password."}
            raise InvalidInput(fields, "Your current password is not right.") from error
        self._users.set_password_hash(user.id, self._hasher.hash(new_password))
        ended = self._tokens.revoke_all(user.id, keep=claims)
        self._audit.record("password_changed", utc_now(), user.id, sessions_ended=ended)
        log_event(logger, "password_changed", user_id=user.id, sessions_ended=ended)
        return ended

    def check_new_password(
        self, user: User, new_password: str, confirm: str, current_password: str | None = None
    ) -> None:
        """The password rules (business_val/password/hashing.py: length, bcrypt's limits, the common
        passwords, the account's own words) for a new password of `user`; InvalidInput names
        the fields new_password and new_password_confirm."""
        context = account_words(user.name, user.username, user.email)
        errors = check_new_password(new_password, confirm, context)
        if not errors and new_password == current_password:
            errors = {"new_password": "Choose a password different from the current one."}
        if errors:
            renamed = {"password": "new_password", "password_confirm": "new_password_confirm"}
            raise InvalidInput({renamed.get(field, field): text for field, text in errors.items()})

    def reset_password(self, user: User, new_password: str) -> int:
        """Set the password a reset link allowed (check_new_password first). Every session of
        the user ends, with every OpenID Connect code and token (end_all_sessions); no session
        is issued: the next sign-in asks for the new password, then the face as always.
        Returns how many sessions ended."""
        self._users.set_password_hash(user.id, self._hasher.hash(new_password))
        ended = self._tokens.revoke_all(user.id)
        self._audit.record("password_reset", utc_now(), user.id, sessions_ended=ended)
        log_event(logger, "password_reset", user_id=user.id, sessions_ended=ended)
        return ended

    def count_link_request(self, email: str, client: str | None) -> str:
        """Count a request for a mailed link (password reset, verification) against the address
        and the client, as password attempts are; TooManyLinkRequests when either is held.
        Returns the address, normalised. Known and unknown addresses count the same."""
        normalised, _ = normalise_email(email)
        key = normalised or email.strip().lower()
        self._lockout.reserve_link_request(key, client)
        return key

    def confirm_password(
        self, claims: SessionClaims, password: str, client: str | None = None
    ) -> User:
        """For a sensitive action: a recent sign-in with both factors and the current password
        again (its guesses count like logins'). Returns the user."""
        self.require_recent_auth(claims)
        user = self.current_user(claims)
        try:
            return self._check_password(user.email, password, client)
        except InvalidCredentials as error:
            fields = {"password": "This is not your current password."}
            raise InvalidInput(fields, "Your current password is not right.") from error

    def require_recent_auth(self, claims: SessionClaims) -> None:
        """Raise unless this session may change an authentication factor now (RecentAuthPolicy):
        FactorRequired without both factors, ReauthenticationRequired when its sign-in is
        older than the window."""
        self.require_full_session(claims)
        if not self._recent_auth.decide(claims, utc_now()).recent:
            self._audit.record("reauthentication_required", utc_now(), claims.sub)
            log_event(logger, "reauthentication_required", user_id=claims.sub)
            raise ReauthenticationRequired(NEXT_REAUTHENTICATE)

    def reauthenticate(
        self, claims: SessionClaims, password: str, client: str | None = None
    ) -> StepUpResult:
        """The step-up of a full session: the password again (its guesses count like logins').
        Where the account has a face, the face too: this session ends and a password-only one
        is issued, whose face step gives a freshly authenticated full session. Without a face
        template, this session is marked as freshly authenticated."""
        self.require_full_session(claims)
        user = self.current_user(claims)
        try:
            self._check_password(user.email, password, client)
        except InvalidCredentials as error:
            fields = {"password": "This is not your current password."}
            raise InvalidInput(fields, "Your current password is not right.") from error
        if self._embeddings.has_template(user.id):
            if not self._tokens.revoke(claims):
                raise InvalidToken()
            issued = self._tokens.issue(user.id, [FACTOR_PASSWORD], self._password_token_lifetime)
            self._audit.record("step_up_password_verified", utc_now(), user.id)
            log_event(logger, "step_up_password_verified", user_id=user.id, face_next=True)
            return StepUpResult(next_step=NEXT_VERIFY_FACE, issued=issued)
        if not self._tokens.reauthenticated(claims):
            raise InvalidToken()
        self._audit.record("reauthenticated", utc_now(), user.id)
        log_event(logger, "reauthenticated", user_id=user.id, face_next=False)
        return StepUpResult(next_step=NEXT_APPLICATION)

    def sign_out_everywhere(self, claims: SessionClaims) -> int:
        """End every session of the user, this one included (needs both factors)."""
        self.require_full_session(claims)
        ended = self._tokens.revoke_all(claims.sub)
        self._audit.record("sessions_revoked", utc_now(), claims.sub, sessions_ended=ended)
        log_event(logger, "sessions_revoked", user_id=claims.sub, sessions_ended=ended)
        return ended

    def logout(self, claims: SessionClaims) -> None:
        self._tokens.revoke(claims)
        self._audit.record("logout", utc_now(), claims.sub)
        log_event(logger, "logout", user_id=claims.sub)

    def next_step(self, claims: SessionClaims) -> str:
        if claims.is_full:
            return NEXT_APPLICATION
        if self._embeddings.has_template(claims.sub):
            return NEXT_VERIFY_FACE
        return NEXT_ENROLL_FACE

    def current_user(self, claims: SessionClaims) -> User:
        user = self._users.get_by_id(claims.sub)
        if user is None:  # deleted while the token was alive
            self._tokens.revoke(claims)
            raise InvalidToken()
        return user

    def require_full_session(self, claims: SessionClaims) -> None:
        if not claims.is_full:
            raise FactorRequired(self.next_step(claims))

    def grant_face_factor(self, claims: SessionClaims) -> IssuedToken:
        """Exchange a password-only session for a full one (new jti). The old one is revoked
        first, conditionally: if it was revoked (too many tries, logout) or expired meanwhile,
        nothing is issued. Its auth_time (for the recent-auth window) is the password step's,
        the older of the two proofs."""
        if not self._tokens.revoke(claims):
            raise InvalidToken()
        return self._tokens.issue(
            claims.sub,
            [FACTOR_PASSWORD, FACTOR_FACE],
            self._session_token_lifetime,
            auth_time=claims.iat,
        )
