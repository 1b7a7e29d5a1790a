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
