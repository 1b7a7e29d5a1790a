"""Face templates at rest: sealed under a per-user data key, bound to the user, shredded on
delete, migrated from plaintext, re-wrapped on master-key rotation. Real database, no models."""

import os
import struct
from datetime import UTC, datetime
from typing import Any

import pytest

from face_auth.constant import DATA_KEYS_COLLECTION, EMBEDDINGS_COLLECTION
from face_auth.data_access import (
    Database,
    DataKeyRepository,
    EmbeddingRepository,
    TemplateCipher,
)
from face_auth.data_access.template_cipher import master_key_id
from face_auth.entity import UserEmbedding

OLD_KEY, NEW_KEY = os.urandom(32), os.urandom(32)


def repository(database: Database, current: bytes = OLD_KEY,
               previous: tuple[bytes, ...] = ()) -> EmbeddingRepository:  # fmt: skip
    return EmbeddingRepository(database, TemplateCipher(current, previous,
                                                        DataKeyRepository(database)))  # fmt: skip


def embedding(user_id: str, seed: float = 0.1, frames: int = 6) -> UserEmbedding:
    template = [seed + i / 1000 for i in range(128)]
    rows = [[seed * (f + 1) + i / 997 for i in range(128)] for f in range(frames)]
    return UserEmbedding(user_id=user_id, template=template, embeddings=rows,
                         model_name="Facenet", model_version="v-test",
                         created_at=datetime(2025, 1, 2, tzinfo=UTC))  # fmt: skip


def stored(database: Database, user_id: str) -> dict[str, Any]:
    document = database.db[EMBEDDINGS_COLLECTION].find_one({"user_id": user_id})
    assert document is not None
    return document


def floats_in(value: object) -> list[float]:
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        return [f for item in value.values() for f in floats_in(item)]
    if isinstance(value, list):
        return [f for item in value for f in floats_in(item)]
    return []


def test_the_stored_document_holds_no_floats_and_reads_back_exactly(database: Database) -> None:
    embeddings = repository(database)
    original = embedding("alice")
    embeddings.replace(original)

    document = stored(database, "alice")
    assert floats_in(document) == []
    assert "template" not in document and "embeddings" not in document
    sealed = bytes(document["sealed"])
    assert struct.pack("<d", original.template[0]) not in sealed
    assert document["model_version"] == "v-test"  # metadata stays readable
    assert embeddings.get("alice") == original
    # Each write uses a fresh nonce: the same template never gives the same ciphertext.
    embeddings.replace(original)
    assert bytes(stored(database, "alice")["sealed"]) != sealed


def test_a_template_copied_onto_another_account_does_not_decrypt(database: Database) -> None:
    embeddings = repository(database)
    embeddings.replace(embedding("alice", 0.1))
    embeddings.replace(embedding("mallory", 0.5))
    collection = database.db[EMBEDDINGS_COLLECTION]
    mallory_sealed = stored(database, "mallory")["sealed"]
    collection.update_one({"user_id": "alice"}, {"$set": {"sealed": mallory_sealed}})
    copied = embeddings.get("alice")
    assert copied is not None
    assert copied.unreadable == "authentication_failed" and copied.template == []

    # Copying the wrapped data key along does not help: it is bound to its user too.
    keys = database.db[DATA_KEYS_COLLECTION]
    mallory_key = keys.find_one({"_id": "mallory"})
    keys.update_one({"_id": "alice"}, {"$set": {"wrapped": mallory_key["wrapped"]}})
    assert embeddings.get("alice").unreadable == "authentication_failed"
    assert embeddings.get("mallory").readable


def test_a_tampered_template_does_not_decrypt(database: Database) -> None:
    embeddings = repository(database)
    embeddings.replace(embedding("alice"))
    sealed = bytearray(stored(database, "alice")["sealed"])
    sealed[-20] ^= 1
    database.db[EMBEDDINGS_COLLECTION].update_one(
        {"user_id": "alice"}, {"$set": {"sealed": bytes(sealed)}}
    )
    assert embeddings.get("alice").unreadable == "authentication_failed"


def test_deleting_the_template_shreds_its_data_key(database: Database) -> None:
    embeddings = repository(database)
    embeddings.replace(embedding("alice"))
    old_copy = stored(database, "alice")  # as the oplog or a backup would keep it
    assert database.db[DATA_KEYS_COLLECTION].count_documents({"_id": "alice"}) == 1

    assert embeddings.delete("alice") is True
    assert database.db[DATA_KEYS_COLLECTION].count_documents({"_id": "alice"}) == 0
    database.db[EMBEDDINGS_COLLECTION].insert_one(old_copy)  # the copy comes back
    assert embeddings.get("alice").unreadable == "no_data_key"

    # Enrolling again makes a new data key; the old copy stays unreadable under it.
    embeddings.delete("alice")
    embeddings.replace(embedding("alice", 0.3))
    without_id = {key: value for key, value in old_copy.items() if key != "_id"}
    database.db[EMBEDDINGS_COLLECTION].replace_one({"user_id": "alice"}, without_id)
    assert embeddings.get("alice").unreadable == "authentication_failed"


def test_plaintext_templates_are_refused_then_encrypted_once(database: Database) -> None:
    original = embedding("alice")
    database.db[EMBEDDINGS_COLLECTION].insert_one(original.model_dump(exclude={"unreadable"}))
    database.db[EMBEDDINGS_COLLECTION].insert_one({"user_id": "legacy", "template": []})
    embeddings = repository(database)
    # A plaintext template is never compared: anyone with write access could have put it there.
    assert embeddings.get("alice").unreadable == "plaintext"

    assert embeddings.encrypt_plaintext() == 1
    assert embeddings.encrypt_plaintext() == 0  # idempotent
    document = stored(database, "alice")
    assert floats_in(document) == [] and "sealed" in document
    assert embeddings.get("alice") == original


def test_rotation_rewraps_data_keys_under_the_new_master_key(database: Database) -> None:
    repository(database, OLD_KEY).replace(embedding("alice"))
    keys = database.db[DATA_KEYS_COLLECTION]
    assert keys.find_one({"_id": "alice"})["master_key_id"] == master_key_id(OLD_KEY)

    # The new key alone cannot read it (and says why); with the old one as previous, it can.
    without_old = repository(database, NEW_KEY)
    assert without_old.get("alice").unreadable == "unknown_master_key"
    data_keys = DataKeyRepository(database)
    rotating = TemplateCipher(NEW_KEY, (OLD_KEY,), data_keys)
    assert EmbeddingRepository(database, rotating).get("alice").readable

    report = rotating.rewrap_all()
    assert (report.rewrapped, report.unknown_master_key) == (1, 0)
    assert rotating.rewrap_all().rewrapped == 0  # idempotent
    assert keys.find_one({"_id": "alice"})["master_key_id"] == master_key_id(NEW_KEY)
    # The old key can now be dropped.
    assert repository(database, NEW_KEY).get("alice") == embedding("alice")
    assert repository(database, OLD_KEY).get("alice").unreadable == "unknown_master_key"


def test_rotation_without_the_old_key_leaves_data_keys_for_a_later_run(
    database: Database,
) -> None:
    repository(database, OLD_KEY).replace(embedding("alice"))
    report = TemplateCipher(NEW_KEY, (), DataKeyRepository(database)).rewrap_all()
    assert (report.rewrapped, report.unknown_master_key) == (0, 1)
    # Enrolling again under the new key replaces the unreadable data key.
    embeddings = repository(database, NEW_KEY)
    embeddings.replace(embedding("alice", 0.7))
    assert embeddings.get("alice") == embedding("alice", 0.7)


@pytest.mark.parametrize("frames", [0, 8])
def test_templates_with_any_number_of_frames_round_trip(database: Database, frames: int) -> None:
    embeddings = repository(database)
    embeddings.replace(embedding("alice", frames=frames))
    assert embeddings.get("alice") == embedding("alice", frames=frames)
