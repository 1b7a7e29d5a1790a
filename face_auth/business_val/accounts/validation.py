import re
import unicodedata
from collections.abc import Iterable

from email_validator import EmailNotValidError, validate_email

from face_auth.business_val.accounts.identifiers import email_skeleton, skeleton
from face_auth.business_val.password.hashing import password_problem

_USERNAME = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{1,30})[a-z0-9]$")
_PHONE_SEPARATORS = re.compile(r"[\s().-]")
_PHONE = re.compile(r"^\+?[0-9]{7,15}$")
NAME_MAX_CHARS = 100


def normalise_email(raw: str) -> tuple[str | None, str | None]:
    """(normalised lowercase email, None) or (None, error message). NFKC first (a fullwidth
    letter is the ASCII one); the domain goes through IDNA/UTS #46 (email-validator)."""
    try:
        result = validate_email(unicodedata.normalize("NFKC", raw).strip(),
                                check_deliverability=False)  # fmt: skip
    except EmailNotValidError:
        return None, "Enter a valid email address."
    return result.normalized.lower(), None


def identifier_skeletons(email: str, username: str) -> tuple[str, str]:
    """The look-alike keys of a normalised email and username (TS #39): equal skeletons of
    another account's mean "taken"."""
    local, _, domain = email.rpartition("@")
    return email_skeleton(local, domain), skeleton(username)


def account_words(name: str, username: str, email: str) -> list[str]:
    """What a password must not be built from: the name, the username, the email's local
    part (the domain is usually a provider's)."""
    return [name, username, email.rpartition("@")[0] or email]


def normalise_username(raw: str) -> tuple[str | None, str | None]:
    username = unicodedata.normalize("NFKC", raw).strip().lower()
    if not _USERNAME.match(username):
        return None, (
            "Use 3 to 32 letters, digits, dots, dashes or underscores, "
            "starting and ending with a letter or digit."
        )
    return username, None


def normalise_phone(raw: str) -> tuple[str | None, str | None]:
    phone = _PHONE_SEPARATORS.sub("", raw.strip())
    if not _PHONE.match(phone):
        return None, "Enter a phone number of 7 to 15 digits, optionally starting with +."
    return phone, None


def normalise_name(raw: str) -> tuple[str | None, str | None]:
    name = " ".join(raw.split())
    if not 1 <= len(name) <= NAME_MAX_CHARS:
        return None, f"Enter your name (up to {NAME_MAX_CHARS} characters)."
    return name, None


def check_new_password(
    password: str, confirmation: str, context: Iterable[str] = ()
) -> dict[str, str]:
    """`context`: the account's username, email and name (see password_problem)."""
    problem = password_problem(password, context)
    if problem:
        return {"password": problem}
    if password != confirmation:
        return {"password_confirm": "The passwords do not match."}
    return {}
