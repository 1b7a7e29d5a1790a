"""`face-auth keys rotate`, and the admin deletions that shred a user's data key."""

import base64
import os

import pytest

from face_auth.config import Settings
from face_auth.data_access import Database, EmbeddingRepository, UserRepository
from face_auth.data_access.template_cipher import master_key_id
from face_auth.entity import NewUser
from face_auth.utils import utc_now
from face_auth.wiring import template_cipher
from tests.business_val.conftest import database
from tests.cli.test_admin_cli import run
from tests.data_access.test_template_cipher import embedding

__all__ = ["database"]


def test_keys_rotate_then_admin_deletions_shred_data_keys(
    cli_env: Settings, database: Database, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    users = UserRepository(database)
    emails = ["reset@example.com", "gone@example.com"]
    ids = [users.add(NewUser(name="U", username=email.split("@")[0], email=email, phone="1",
                             password_hash="x", created_at=utc_now())).id
           for email in emails]  # fmt: skip
    generated = EmbeddingRepository(database, template_cipher(cli_env, database))
    for user_id in ids:
        generated.replace(embedding(user_id))
    old_key = cli_env.template_master_key_path.read_text()  # generated on first use

    new_key = os.urandom(32)
    monkeypatch.setenv("FACE_AUTH_TEMPLATE_MASTER_KEY", base64.b64encode(new_key).decode())
    monkeypatch.setenv("FACE_AUTH_TEMPLATE_PREVIOUS_MASTER_KEYS", old_key)
    code, report = run(capsys, "keys", "rotate")
    assert code == 0
    assert report == {"data_keys_rewrapped": 2, "data_keys_unreadable": 0,
                      "templates_encrypted": 0}  # fmt: skip
    keys = database.db["data_keys"]
    assert {doc["master_key_id"] for doc in keys.find()} == {master_key_id(new_key)}

    monkeypatch.delenv("FACE_AUTH_TEMPLATE_PREVIOUS_MASTER_KEYS")
    assert run(capsys, "face", "reset", emails[0])[1]["reset"] is True
    assert run(capsys, "users", "delete", emails[1])[0] == 0
    assert keys.count_documents({}) == 0

    monkeypatch.setenv("FACE_AUTH_TEMPLATE_MASTER_KEY", "not a key")
    code, output = run(capsys, "keys", "rotate")
    assert code == 1 and "FACE_AUTH_TEMPLATE_MASTER_KEY" in output["error"]
