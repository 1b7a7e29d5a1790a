import io
import json
import logging
import stat
from pathlib import Path

import pytest

from face_auth.config import load_or_create_secret
from face_auth.logger import JsonFormatter, log_event


def test_secret_is_created_once_with_0600(tmp_path: Path) -> None:
    path = tmp_path / "data" / "secret"
    first = load_or_create_secret(path)
    assert len(first) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret(path) == first


def test_truncated_secret_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_text("short")
    with pytest.raises(RuntimeError, match="too short"):
        load_or_create_secret(path)


def test_log_events_are_one_json_line_and_redact_secrets() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        log_event(logger, "login", user_id="u1", password="hunter22", token="abc.def.ghi")
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    event = json.loads(lines[0])
    assert event["event"] == "login"
    assert event["user_id"] == "u1"
    assert "hunter22" not in lines[0] and "abc.def.ghi" not in lines[0]
