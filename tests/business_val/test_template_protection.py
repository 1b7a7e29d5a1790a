"""Start-up protection of templates and account erasure, against the real database."""

import os
from datetime import timedelta

from face_auth.business_val.face.template_protection import protect_templates
from face_auth.config import Settings
from face_auth.data_access import (
    AuditRepository,
    Database,
    DataKeyRepository,
    EmbeddingRepository,
    SessionRepository,
    TemplateCipher,
    UserRepository,
)
from face_auth.data_access.oidc_repository import AccessTokenRepository, ConsentRepository
from face_auth.data_access.recovery_code_repository import RecoveryCodeRepository
from face_auth.entity import NewUser
from face_auth.entity.oidc import AccessToken, ConsentGrant
from face_auth.utils import utc_now
from face_auth.wiring import Repositories, account_eraser
from tests.data_access.test_template_cipher import embedding

KEY, UNKNOWN_KEY = os.urandom(32), os.urandom(32)


def cipher(database: Database, key: bytes = KEY) -> TemplateCipher:
    return TemplateCipher(key, (), DataKeyRepository(database))


def test_protection_reports_what_it_did_and_warns_of_unknown_master_keys(
    database: Database,
) -> None:
    audit = AuditRepository(database)
    EmbeddingRepository(database, cipher(database, UNKNOWN_KEY)).replace(embedding("lost"))
    database.db["embeddings"].insert_one(embedding("legacy").model_dump(exclude={"unreadable"}))
    embeddings = EmbeddingRepository(database, cipher(database))

    report = protect_templates(cipher(database), embeddings, audit)
    assert report.as_dict() == {
        "data_keys_rewrapped": 0, "data_keys_unreadable": 1, "templates_encrypted": 1,
    }  # fmt: skip
    assert audit.find(None)[-1]["event"] == "template_keys_maintained"
    again = protect_templates(cipher(database), embeddings, audit)
    assert again.templates_encrypted == 0


def test_erasing_an_account_removes_its_data_key_and_everything_else(
    database: Database, settings: Settings
) -> None:
    users = UserRepository(database)
    user = users.add(NewUser(name="A", username="a", email="a@example.com", phone="1",
                             password_hash="x", created_at=utc_now()))  # fmt: skip
    repos = Repositories(settings, database, cipher(database))
    embeddings = repos.embeddings
    embeddings.replace(embedding(user.id))
    sessions = SessionRepository(database)
    sessions.add("jti-1", user.id, ["pwd", "face"], utc_now(), utc_now() + timedelta(minutes=5))
    codes = RecoveryCodeRepository(database)
    codes.replace(user.id, ["hash"], utc_now())
    consents, tokens = ConsentRepository(database), AccessTokenRepository(database)
    consents.save(ConsentGrant(user_id=user.id, client_id="rp", client_name="RP",
                               scopes=("openid",), granted_at=utc_now()))  # fmt: skip
    tokens.add(AccessToken(token_id="t1", client_id="rp", user_id=user.id, scope="openid",
                           code_id=None, issued_at=utc_now(),
                           expires_at=utc_now() + timedelta(minutes=5)))  # fmt: skip
    eraser = account_eraser(repos)

    assert eraser.erase(user, "account_deleted") == 1
    assert consents.list_for_user(user.id) == []
    assert tokens.find_live("t1", utc_now()) is None
    assert users.get_by_id(user.id) is None
    assert embeddings.get(user.id) is None
    assert DataKeyRepository(database).get(user.id) is None
    assert codes.status(user.id, utc_now()).recovery_codes_left == 0
    assert sessions.find_live("jti-1", utc_now()) is None
