"""Structured logging: one JSON object per line, never secrets."""

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

# Values under these keys are dropped even if a caller passes them by mistake.
REDACTED_KEYS = frozenset(
    {
        "password",
        "password_confirm",
        "token",
        "access_token",
        "csrf_token",
        "secret",
        "embedding",
        "embeddings",
        "template",
        "authorization",
        "cookie",
    }
)
_RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "color_message",
}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key in _RESERVED or key.startswith("_"):
                continue
            event[key] = "[redacted]" if key.lower() in REDACTED_KEYS else value
        if record.exc_info:
            event["exc_type"] = record.exc_info[0].__name__ if record.exc_info[0] else None
        return json.dumps(event, default=str)


# A mailed link's token in a request line (uvicorn's access log: GET /auth/reset-password?token=).
_QUERY_TOKEN = re.compile(r"([?&]token=)[^&\s\"]+")


class RedactQueryTokens(logging.Filter):
    """Replace `token=` query values in a record's arguments (the access log's request path):
    a password reset link must not be usable by someone who reads the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(
            isinstance(arg, str) and "token=" in arg for arg in record.args
        ):
            record.args = tuple(
                _QUERY_TOKEN.sub(r"\1[redacted]", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        return True


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactQueryTokens())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(name)


def log_event(logger: logging.Logger, event: str, level: int = logging.INFO, **fields: Any) -> None:
    logger.log(level, event, extra=fields)
