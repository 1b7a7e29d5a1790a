import functools

from passlib.context import CryptContext
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from face_auth.constant import BCRYPT_MAX_BYTES, PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS


@functools.cache
def common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords from breaches (zxcvbn's list), lower-cased."""
    return frozenset(word.lower() for word in FREQUENCY_LISTS["passwords"])


def password_problem(password: str) -> str | None:
    """Why `password` is unacceptable, or None. bcrypt reads only 72 bytes, so longer is refused
    rather than silently truncated."""
    if len(password) < PASSWORD_MIN_CHARS:
        return f"Use at least {PASSWORD_MIN_CHARS} characters."
    if len(password) > PASSWORD_MAX_CHARS:
        return f"Use at most {PASSWORD_MAX_CHARS} characters."
    if "\x00" in password:
        return "A password cannot contain a NUL character."
    if len(password.encode("utf-8")) > BCRYPT_MAX_BYTES:
        return (
            f"This password is longer than {BCRYPT_MAX_BYTES} bytes once encoded "
            "(accented letters and symbols count as several). Use a shorter one."
        )
    if password.lower() in common_passwords():
        return "This password is one of the most common ones and easy to guess. Choose another."
    return None


class PasswordHasher:
    """bcrypt through libpass (imported as passlib)."""

    def __init__(self, rounds: int) -> None:
        self._context = CryptContext(
            schemes=["bcrypt"],
            deprecated="auto",
            bcrypt__rounds=rounds,
            bcrypt__truncate_error=True,
        )
        # Verified against when the email is unknown, so both failures cost the same time.
        self._dummy_hash = self._context.hash("not-a-real-password")

    def hash(self, password: str) -> str:
        return self._context.hash(password)

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with another cost than the configured one."""
        return self._context.needs_update(password_hash)

    def verify(self, password: str, password_hash: str | None) -> bool:
        # bcrypt cannot take these (passlib raises): no stored password has them, so the
        # attempt is wrong, and costs the same time as any other wrong one.
        if len(password.encode("utf-8")) > BCRYPT_MAX_BYTES or "\x00" in password:
            self._context.verify("x" * PASSWORD_MIN_CHARS, self._dummy_hash)
            return False
        if password_hash is None:
            self._context.verify(password, self._dummy_hash)
            return False
        return self._context.verify(password, password_hash)
