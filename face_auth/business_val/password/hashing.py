import functools
import re
import secrets
from collections.abc import Iterable

from passlib.context import CryptContext
from passlib.utils.binary import bcrypt64
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from face_auth.constant import (
    BCRYPT_MAX_BYTES,
    PASSWORD_MAX_CHARS,
    PASSWORD_MIN_CHARS,
    SERVICE_NAMES,
)

# Leetspeak, as people write it; 1 and ! read as i or l, so both readings are tried.
_LEET = {"0": "o", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g", "@": "a",
         "$": "s", "+": "t", "|": "l", "€": "e"}  # fmt: skip
_LEET_READINGS = (
    str.maketrans({**_LEET, "1": "i", "!": "i"}),
    str.maketrans({**_LEET, "1": "l", "!": "l"}),
)
_EDGE_DIGITS_AND_SYMBOLS = re.compile(r"^[\W\d_]+|[\W\d_]+$")
_NOT_ALNUM = re.compile(r"[\W_]+")
# Shorter words (a 3-letter name, "abc") would refuse too many good passphrases.
MIN_WORD_CHARS = 4
COMMON_MESSAGE = "This password is one of the most common ones and easy to guess. Choose another."
CONTEXT_MESSAGE = (
    "Do not use your name, username, email address or the name of this service in your password."
)


@functools.cache
def common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords from breaches (zxcvbn's list), lower-cased."""
    return frozenset(word.lower() for word in FREQUENCY_LISTS["passwords"])


def readings(password: str) -> set[str]:
    """How a guesser normalises a password before trying its list: lower case, leetspeak
    undone, digits and symbols at either end dropped (NIST SP 800-63B 5.1.1.2)."""
    lowered = password.lower()
    found = {lowered}
    for table in _LEET_READINGS:
        found.add(lowered.translate(table))
    found |= {_EDGE_DIGITS_AND_SYMBOLS.sub("", reading) for reading in list(found)}
    # The ends dropped before leetspeak is undone too ("passw0rd!" and "p@ssword1").
    stripped = _EDGE_DIGITS_AND_SYMBOLS.sub("", lowered)
    found |= {stripped.translate(table) for table in _LEET_READINGS}
    return found


def is_common(password: str) -> bool:
    common = common_passwords()
    return any(
        reading in common
        for reading in readings(password)
        if len(reading) >= MIN_WORD_CHARS or reading == password.lower()
    )


def context_words(values: Iterable[str]) -> set[str]:
    """The words of the account (username, email's local part, name and its parts) and the
    service's names, squashed to letters and digits."""
    words: set[str] = set(SERVICE_NAMES)
    for value in values:
        words.add(value)
        words.update(value.split())
    squashed = {_NOT_ALNUM.sub("", word.lower()) for word in words}
    return {word for word in squashed if len(word) >= MIN_WORD_CHARS}


def uses_context(password: str, context: Iterable[str]) -> bool:
    words = context_words(context)
    squashed = {_NOT_ALNUM.sub("", reading) for reading in readings(password)}
    return any(word in reading for word in words for reading in squashed)


def bcrypt_problem(password: str) -> str | None:
    """What bcrypt cannot take: more than 72 bytes (refused rather than silently truncated)
    or a NUL byte."""
    if len(password.encode("utf-8")) > BCRYPT_MAX_BYTES:
        return (
            f"This password is longer than {BCRYPT_MAX_BYTES} bytes once encoded "
            "(accented letters and symbols count as several). Use a shorter one."
        )
    if "\x00" in password:
        return "A password may not contain a NUL character."
    return None


def password_problem(password: str, context: Iterable[str] = ()) -> str | None:
    """Why `password` is unacceptable, or None. `context`: the account's username, email local
    part and name, refused (with the service's name) as the password or a part of it."""
    if len(password) < PASSWORD_MIN_CHARS:
        return f"Use at least {PASSWORD_MIN_CHARS} characters."
    if len(password) > PASSWORD_MAX_CHARS:
        return f"Use at most {PASSWORD_MAX_CHARS} characters."
    if problem := bcrypt_problem(password):
        return problem
    if is_common(password):
        return COMMON_MESSAGE
    if uses_context(password, context):
        return CONTEXT_MESSAGE
    return None


def unmatchable_bcrypt_hash(rounds: int) -> str:
    """A well-formed bcrypt hash of cost ``rounds`` that no password matches: a random salt
    and a random digest (184 bits). Verifying against it costs what a real verification
    does; making it costs nothing (hashing a dummy password took 0.28 s of each start-up)."""
    salt = bcrypt64.encode_bytes(secrets.token_bytes(16)).decode("ascii")
    digest = bcrypt64.encode_bytes(secrets.token_bytes(23)).decode("ascii")
    return f"$2b${rounds:02d}${salt}{digest}"


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
        self._dummy_hash = unmatchable_bcrypt_hash(rounds)
        # passlib loads its bcrypt backend on first use, checking it for known bugs with
        # a few hashes (~20 ms): done now, at start-up, not in the first sign-in.
        self._context.handler("bcrypt").get_backend()

    def hash(self, password: str) -> str:
        return self._context.hash(password)

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with another cost than the configured one."""
        return self._context.needs_update(password_hash)

    def verify(self, password: str, password_hash: str | None) -> bool:
        # bcrypt refuses a NUL byte (passlib raises): it never verifies, at the same cost.
        if len(password.encode("utf-8")) > BCRYPT_MAX_BYTES or "\x00" in password:
            self._context.verify("x" * PASSWORD_MIN_CHARS, self._dummy_hash)
            return False
        if password_hash is None:
            self._context.verify(password, self._dummy_hash)
            return False
        return self._context.verify(password, password_hash)
