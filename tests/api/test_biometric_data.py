"""Biometric data at rest and the user's own data, through the app, with the real models and
database: sealed templates, a template copied onto another account, crypto-shredding on
deletion, start-up migration and key rotation, data export and account deletion."""

import base64
import os
import stat
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from pymongo import MongoClient

from app import create_app
from face_auth.config import Settings
from face_auth.data_access import (
    Database,
    DataKeyRepository,
    EmbeddingRepository,
    TemplateCipher,
    connect,
)
from face_auth.data_access.template_cipher import master_key_id
from face_auth.wiring import template_cipher
from tests.api.test_face_api import post_frames, signed_in
from tests.api.test_face_attempts import comparisons, db_of, enrolled_then_logged_out
from tests.api.test_login import create_user, login
from tests.data_access.test_template_cipher import embedding, floats_in
from tests.face_data import PersonFrames
from tests.support import PASSWORD, csrf_headers


@pytest.fixture
def app_database(settings: Settings) -> Iterator[Database]:
    assert settings.mongodb_uri is not None
    database = connect(settings.mongodb_uri.get_secret_value(), settings.database_name, 1000)
    yield database
    database.close()


def app_embeddings(settings: Settings, database: Database) -> EmbeddingRepository:
    """The templates as the app reads them (its master key from the data directory)."""
    return EmbeddingRepository(database, template_cipher(settings, database))


def keyed(database: Database, master_key: bytes) -> EmbeddingRepository:
    return EmbeddingRepository(
        database, TemplateCipher(master_key, (), DataKeyRepository(database))
    )


def delete_account(client: TestClient, password: str) -> Any:
    return client.request("DELETE", "/api/v1/me", json={"password": password},
                          headers=csrf_headers(client))  # fmt: skip


@pytest.mark.models
def test_a_template_copied_onto_another_account_is_refused_without_a_comparison(
    client: TestClient, alice: PersonFrames, bob: PersonFrames, mongo: MongoClient,
    settings: Settings,
) -> None:  # fmt: skip
    victim = enrolled_then_logged_out(client, "victim", alice)
    attacker = enrolled_then_logged_out(client, "attacker", bob)
    db = db_of(mongo, settings)
    # With write access to the database, the attacker puts their template on the victim.
    copied = db["embeddings"].find_one(
        {"user_id": attacker["id"]}, {"_id": False, "user_id": False}
    )
    db["embeddings"].update_one({"user_id": victim["id"]}, {"$set": copied})

    assert login(client, victim["email"], PASSWORD).json()["next"] == "verify_face"
    refused = post_frames(client, "verify", bob.verify)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == "enroll_again"
    assert comparisons(db, victim["id"]) == 0
    event = db["audit"].find_one({"user_id": victim["id"], "event": "template_unreadable"})
    assert event["reason"] == "authentication_failed"
    assert client.get("/api/v1/face").json()["template_current"] is False


@pytest.mark.models
def test_export_then_face_deletion_shreds_the_key_then_account_deletion_erases_everything(
    client: TestClient, alice: PersonFrames, mongo: MongoClient, settings: Settings,
    app_database: Database,
) -> None:  # fmt: skip
    user = signed_in(client, "owner")
    response = post_frames(client, "enroll", alice.enroll)
    assert response.status_code == 200, response.text
    enrolled = response.json()
    user_id = client.get("/api/v1/me").json()["user"]["id"]
    db = db_of(mongo, settings)

    # At rest: no float anywhere in the document; the app's key file is private.
    document = db["embeddings"].find_one({"user_id": user_id})
    assert floats_in(document) == [] and isinstance(document["sealed"], bytes)
    assert stat.S_IMODE(settings.template_master_key_path.stat().st_mode) == 0o600
    template = app_embeddings(settings, app_database).get(user_id)
    assert abs(np.linalg.norm(template.template) - 1) < 1e-5
    assert len(template.embeddings) == enrolled["frames_used"]

    exported = client.get("/api/v1/me/export")
    assert exported.status_code == 200
    assert exported.headers["content-disposition"].startswith("attachment")
    body = exported.json()
    assert body["profile"]["email"] == user["email"] and "password_hash" not in exported.text
    face = body["face_template"]
    assert (face["dimensions"], face["frames"]) == (128, enrolled["frames_used"])
    assert face["usable"] is True and face["vectors_included"] is False
    assert body["recovery_codes"]["left"] == settings.recovery_codes
    events = [event["event"] for event in body["audit_events"]]
    assert {"user_registered", "password_verified", "face_enrolled"} <= set(events)
    assert floats_in(body) == []  # no embedding, no score

    # Deleting the face deletes its data key: an old copy of the template is unreadable.
    old_copy = {key: value for key, value in document.items() if key != "_id"}
    assert client.delete("/api/v1/face", headers=csrf_headers(client)).status_code == 204
    assert db["data_keys"].count_documents({"_id": user_id}) == 0
    db["embeddings"].insert_one(old_copy)
    assert app_embeddings(settings, app_database).get(user_id).unreadable == "no_data_key"
    db["embeddings"].delete_one({"user_id": user_id})
    assert post_frames(client, "enroll", alice.enroll).status_code == 200  # a new data key

    # Deleting the account: the current password, then everything goes.
    account_page = client.get("/application/").text
    assert "/api/v1/me/export" in account_page and "/application/account/delete" in account_page
    assert client.get("/application/account/delete").status_code == 200
    form = client.post("/application/account/delete", data={"password": "not my password"},
                       headers=csrf_headers(client))  # fmt: skip
    assert form.status_code == 422 and "not right" in form.text
    wrong = delete_account(client, "not my password")
    assert wrong.status_code == 422 and "password" in wrong.json()["fields"]
    assert delete_account(client, PASSWORD).status_code == 204
    assert client.get("/api/v1/me").status_code == 401
    for collection, key in (("users", "_id"), ("embeddings", "user_id"), ("data_keys", "_id"),
                            ("recovery_codes", "_id"), ("face_attempts", "_id")):  # fmt: skip
        query = {key: user_id} if collection != "users" else {"email": user["email"]}
        assert db[collection].count_documents(query) == 0, collection
    assert db["sessions"].count_documents({"user_id": user_id, "revoked_at": None}) == 0
    assert db["audit"].count_documents({"user_id": user_id, "event": "account_deleted"}) == 1
    assert login(client, user["email"], PASSWORD).status_code == 401


def test_export_and_account_deletion_need_both_factors(client: TestClient) -> None:
    user = create_user(client, "halfway")
    login(client, user["email"], PASSWORD)
    for response in (client.get("/api/v1/me/export"), delete_account(client, PASSWORD)):
        assert response.status_code == 401
        assert response.json()["error"] == "factor_required"
    assert login(client, user["email"], PASSWORD).status_code == 200  # still there


def test_start_up_rewraps_data_keys_and_encrypts_plaintext_templates(
    settings: Settings, app_database: Database
) -> None:
    old_key, new_key = os.urandom(32), os.urandom(32)
    keyed(app_database, old_key).replace(embedding("sealed-user"))
    plaintext = embedding("plaintext-user").model_dump(exclude={"unreadable"})
    app_database.db["embeddings"].insert_one(plaintext)

    encoded = base64.b64encode(new_key).decode()
    rotated = settings.model_copy(update={
        "template_master_key": SecretStr(encoded),
        "template_previous_master_keys": SecretStr(f" {base64.b64encode(old_key).decode()} ,"),
    })  # fmt: skip
    with TestClient(create_app(rotated)):
        pass
    keys = {doc["_id"]: doc["master_key_id"] for doc in app_database.db["data_keys"].find()}
    assert keys == dict.fromkeys(["sealed-user", "plaintext-user"], master_key_id(new_key))
    assert floats_in(list(app_database.db["embeddings"].find())) == []
    # The old key is no longer needed.
    current = keyed(app_database, new_key)
    assert current.get("sealed-user") == embedding("sealed-user")
    assert current.get("plaintext-user") == embedding("plaintext-user")
