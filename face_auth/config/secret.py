import base64
import binascii
import os
import secrets
import time
from pathlib import Path

MIN_SECRET_CHARS = 32


def load_or_create_secret(path: Path) -> str:
    """Return the signing secret kept at `path`, creating it (mode 0600) on first use.

    O_EXCL makes two processes starting at once agree on one secret.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_existing(path)
    secret = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secret)
    return secret


def _read_existing(path: Path, attempts: int = 20) -> str:
    # Another process may have created the file an instant ago and not written it yet.
    for _ in range(attempts):
        secret = path.read_text(encoding="utf-8").strip()
        if len(secret) >= MIN_SECRET_CHARS:
            return secret
        time.sleep(0.05)
    raise RuntimeError(f"signing secret in {path} is too short or empty; delete it to regenerate")


MASTER_KEY_BYTES = 32


def decode_master_key(text: str) -> bytes:
    """A master key from its base64 text; ValueError (not naming the key) unless 32 bytes."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a template master key must be base64") from None
    if len(key) != MASTER_KEY_BYTES:
        raise ValueError(f"a template master key must be {MASTER_KEY_BYTES} bytes (base64)")
    return key


def split_keys(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def load_or_create_master_key(path: Path) -> bytes:
    """The template master key kept (base64) at `path`, created (mode 0600) on first use."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_existing_key(path)
    key = secrets.token_bytes(MASTER_KEY_BYTES)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(base64.b64encode(key).decode("ascii"))
    return key


def _read_existing_key(path: Path, attempts: int = 20) -> bytes:
    for _ in range(attempts):  # another process may be writing it this instant
        text = path.read_text(encoding="utf-8").strip()
        if text:
            return decode_master_key(text)
        time.sleep(0.05)
    raise RuntimeError(f"template master key in {path} is empty; restore it from a backup")
