from dataclasses import dataclass
from datetime import timedelta

from face_auth.business_val.observer import AuthObserver, NullObserver
from face_auth.business_val.passwords import PasswordHasher
from face_auth.business_val.tokens import IssuedToken, TokenService
from face_auth.business_val.validation import (
    check_new_password,
    normalise_email,
    normalise_name,
    normalise_phone,
    normalise_username,
)
from face_auth.constant import (
    FACTOR_FACE,
    FACTOR_PASSWORD,
    NEXT_APPLICATION,
    NEXT_ENROLL_FACE,
    NEXT_VERIFY_FACE,
)
from face_auth.data_access import (
    AuditRepository,
    EmbeddingRepository,
    LoginAttemptRepository,
    UserRepository,
)
from face_auth.entity import NewUser, SessionClaims, User
from face_auth.exception import (
    AccountExists,
    AccountLocked,
    FactorRequired,
    InvalidCredentials,
    InvalidInput,
    InvalidToken,
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
class LockoutPolicy:
    max_failures: int
    window: timedelta
    lock_for: timedelta


@dataclass(frozen=True)
class LoginResult:
    issued: IssuedToken
    user: User
    next_step: str


class AccountService:
    def __init__(
        self,
        *,
        users: UserRepository,
        embeddings: EmbeddingRepository,
        audit: AuditRepository,
        attempts: LoginAttemptRepository,
        lockout: LockoutPolicy,
        hasher: PasswordHasher,
        tokens: TokenService,
        password_token_lifetime: timedelta,
        session_token_lifetime: timedelta,
        observer: AuthObserver | None = None,
    ) -> None:
        self._observer = observer or NullObserver()
        self._users = users
        self._embeddings = embeddings
        self._audit = audit
        self._attempts = attempts
        self._lockout = lockout
        self._hasher = hasher
        self._tokens = tokens
        self._password_token_lifetime = password_token_lifetime
        self._session_token_lifetime = session_token_lifetime

    def register(self, request: RegistrationRequest) -> User:
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
        errors.update(check_new_password(request.password, request.password_confirm))
        if errors:
            raise InvalidInput(errors)
        if self._users.exists(values["email"], values["username"]):
            raise AccountExists()
        new_user = NewUser(
            **values, password_hash=self._hasher.hash(request.password), created_at=utc_now()
        )
        user = self._users.add(new_user)  # raises AccountExists if a concurrent sign-up won
        self._audit.record("user_registered", utc_now(), user.id)
        log_event(logger, "user_registered", user_id=user.id)
        return user

    def login(self, email: str, password: str) -> LoginResult:
        """Check the password factor. Unknown email and wrong password cost the same bcrypt work
        and give the same error; repeated failures lock the address, known or not."""
        normalised, _ = normalise_email(email)
        key = normalised or email.strip().lower()
        if self._attempts.locked_until(key, utc_now()):
            self._observer.login_attempt(FACTOR_PASSWORD, "locked")
            raise AccountLocked()
        user = self._users.get_by_email(normalised) if normalised else None
        password_ok = self._hasher.verify(password, user.password_hash if user else None)
        if user is None or not password_ok:
            policy = self._lockout
            locked = self._attempts.record_failure(
                key, utc_now(), policy.window, policy.max_failures, policy.lock_for
            )
            self._audit.record("login_failed", utc_now(), user.id if user else None)
            log_event(logger, "login_failed", user_id=user.id if user else None,
                      locked=locked is not None)  # fmt: skip
            self._observer.login_attempt(FACTOR_PASSWORD, "failure")
            raise InvalidCredentials()
        self._attempts.clear(key)
        self._observer.login_attempt(FACTOR_PASSWORD, "success")
        issued = self._tokens.issue(user.id, [FACTOR_PASSWORD], self._password_token_lifetime)
        self._audit.record("password_verified", utc_now(), user.id)
        log_event(logger, "password_verified", user_id=user.id)
        return LoginResult(issued=issued, user=user, next_step=self.next_step(claims=issued.claims))

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

    def has_face_template(self, user_id: str) -> bool:
        return self._embeddings.has_template(user_id)

    def grant_face_factor(self, claims: SessionClaims) -> IssuedToken:
        """Exchange a password-only session for a full one (new jti), revoking the old."""
        issued = self._tokens.issue(
            claims.sub, [FACTOR_PASSWORD, FACTOR_FACE], self._session_token_lifetime
        )
        self._tokens.revoke(claims)
        return issued
