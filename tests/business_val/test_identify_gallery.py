"""Kiosks, consent and the in-memory gallery against the real database, without HTTP: secrets
stored hashed, rate limits, only opted-in templates searchable, replicas in sync through the
version counter."""

import hashlib
import os
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from face_auth.business_val.face.service import MODEL_VERSION
from face_auth.business_val.identify.kiosks import KioskRateLimit, KioskService
from face_auth.business_val.identify.rules import search
from face_auth.business_val.identify.service import GalleryIndex
from face_auth.data_access import (
    AuditRepository,
    Database,
    DataKeyRepository,
    EmbeddingRepository,
    TemplateCipher,
)
from face_auth.data_access.kiosk_repository import (
    GalleryVersion,
    KioskRepository,
    KioskRequestCounter,
)
from face_auth.entity import UserEmbedding
from face_auth.exception import KioskRateLimited, KioskRequired, NotFound

KEY = os.urandom(32)


def embeddings(database: Database) -> EmbeddingRepository:
    return EmbeddingRepository(database, TemplateCipher(KEY, (), DataKeyRepository(database)))


def template(user_id: str, seed: int, version: str = MODEL_VERSION) -> UserEmbedding:
    vector = np.random.default_rng(seed).standard_normal(128)
    vector /= np.linalg.norm(vector)
    return UserEmbedding(user_id=user_id, template=vector.tolist(), embeddings=[vector.tolist()],
                         model_name="Facenet", model_version=version,
                         created_at=datetime(2026, 1, 2, tzinfo=UTC))  # fmt: skip


def probe_of(seed: int) -> np.ndarray:
    return np.array(template("x", seed).template)


def found(index: GalleryIndex, seed: int) -> str | None:
    gallery = index.refresh()
    candidates = search(gallery.matrix, probe_of(seed))
    if candidates is None or candidates.best < 0.99:
        return None
    return gallery.user_ids[candidates.best_row]


def test_kiosk_secret_is_stored_as_a_hash_and_checked(database: Database) -> None:
    kiosks = KioskService(KioskRepository(database), AuditRepository(database))
    created = kiosks.add("  Front door ")
    assert created.kiosk.name == "Front door"
    assert created.token.startswith(f"fak_{created.kiosk.kiosk_id}.")
    secret = created.token.split(".", 1)[1]
    stored = database.db["kiosks"].find_one({"_id": created.kiosk.kiosk_id})
    assert stored["secret_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(stored)

    assert kiosks.authenticate(created.token).kiosk_id == created.kiosk.kiosk_id
    other = kiosks.add("Lobby")
    forged = f"fak_{created.kiosk.kiosk_id}.{other.token.split('.', 1)[1]}"
    for bad in (None, "", "Bearer", forged, created.token + "x", created.token.upper()):
        with pytest.raises(KioskRequired):
            kiosks.authenticate(bad)

    assert [k.name for k in kiosks.list()] == ["Front door", "Lobby"]
    kiosks.remove(created.kiosk.kiosk_id)
    with pytest.raises(KioskRequired):
        kiosks.authenticate(created.token)
    with pytest.raises(NotFound):
        kiosks.remove(created.kiosk.kiosk_id)
    events = [e["event"] for e in database.db["audit"].find()]
    assert events == ["kiosk_added", "kiosk_added", "kiosk_removed"]


def test_rate_limit_counts_per_kiosk_per_minute(database: Database) -> None:
    kiosks = KioskService(KioskRepository(database), AuditRepository(database))
    first, second = kiosks.add("A").kiosk, kiosks.add("B").kiosk
    limit = KioskRateLimit(3, KioskRequestCounter(database))
    now = datetime(2026, 5, 1, 12, 0, 10, tzinfo=UTC)
    for _ in range(3):
        limit.take(first, now)
    with pytest.raises(KioskRateLimited) as refused:
        limit.take(first, now + timedelta(seconds=5))
    assert refused.value.retry_after == 46  # until the next minute starts
    limit.take(second, now)  # another kiosk has its own count
    limit.take(first, now + timedelta(minutes=1))  # a new window


def test_only_opted_in_usable_templates_are_searchable(database: Database) -> None:
    repository = embeddings(database)
    for number in range(4):
        repository.replace(template(f"user{number}", seed=number))
    repository.replace(template("old-model", seed=10, version="older"))
    index = GalleryIndex(repository)
    assert index.refresh().user_ids == ()

    assert repository.set_identify_consent("user1", datetime.now(UTC))
    assert repository.set_identify_consent("user2", datetime.now(UTC))
    assert repository.set_identify_consent("old-model", datetime.now(UTC))
    assert not repository.set_identify_consent("nobody", datetime.now(UTC))
    assert sorted(index.refresh().user_ids) == ["user1", "user2"]
    assert found(index, 1) == "user1"
    assert found(index, 0) is None  # enrolled but not opted in
    assert found(index, 99) is None  # not enrolled


def test_replicas_follow_consent_withdrawal_deletion_and_re_enrollment(database: Database) -> None:
    repository = embeddings(database)
    replica_a, replica_b = GalleryIndex(repository), GalleryIndex(embeddings(database))
    repository.replace(template("ann", seed=1))
    repository.replace(template("bob", seed=2))
    repository.set_identify_consent("ann", datetime.now(UTC))
    repository.set_identify_consent("bob", datetime.now(UTC))
    assert found(replica_a, 1) == found(replica_b, 1) == "ann"
    loaded = replica_a.version
    assert replica_a.refresh().version == loaded  # nothing changed: no reload

    # Re-enrolling keeps the consent and the new face is what is searched.
    repository.replace(template("ann", seed=5))
    assert repository.identify_consent("ann") is not None
    assert found(replica_b, 1) is None and found(replica_b, 5) == "ann"
    assert replica_b.version > loaded

    repository.set_identify_consent("ann", None)
    assert found(replica_a, 5) is None and found(replica_b, 5) is None
    assert found(replica_a, 2) == "bob"

    # Deleting the face removes the user and the consent with it.
    assert repository.delete("bob")
    assert found(replica_a, 2) is None and found(replica_b, 2) is None
    repository.replace(template("bob", seed=2))
    assert repository.identify_consent("bob") is None
    assert found(replica_a, 2) is None


def test_enrolling_someone_not_opted_in_does_not_move_the_version(database: Database) -> None:
    repository = embeddings(database)
    before = repository.gallery_version()
    repository.replace(template("carol", seed=3))
    repository.replace(template("carol", seed=4))
    repository.delete("carol")
    assert repository.gallery_version() == before


class ReadCounting(EmbeddingRepository):
    """The real repository, noting which templates each index update decrypts."""

    def __init__(self, database: Database) -> None:
        super().__init__(database, TemplateCipher(KEY, (), DataKeyRepository(database)))
        self.reads: list[list[str] | None] = []

    def searchable(self, user_ids=None):  # type: ignore[no-untyped-def]
        self.reads.append(None if user_ids is None else sorted(user_ids))
        return super().searchable(user_ids)


def test_a_change_re_reads_only_the_changed_users_unless_too_many_changed(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = embeddings(database)
    for number in range(5):
        writer.replace(template(f"u{number}", seed=number))
        writer.set_identify_consent(f"u{number}", datetime.now(UTC))
    replica = ReadCounting(database)
    index = GalleryIndex(replica)
    assert sorted(index.refresh().user_ids) == [f"u{n}" for n in range(5)]
    assert replica.reads == [None]  # loaded whole at start

    writer.set_identify_consent("u1", None)
    writer.replace(template("u3", seed=33))
    assert found(index, 1) is None and found(index, 3) is None and found(index, 33) == "u3"
    assert found(index, 4) == "u4"
    assert replica.reads == [None, ["u1", "u3"]]  # patched: two users re-read

    monkeypatch.setattr(GalleryVersion, "RECENT_CHANGES", 2)
    writer.set_identify_consent("u1", datetime.now(UTC))
    writer.delete("u2")
    writer.set_identify_consent("u0", None)  # three changes, two remembered
    assert sorted(index.refresh().user_ids) == ["u1", "u3", "u4"]
    assert replica.reads[-1] is None  # reloaded whole
    assert found(index, 1) == "u1" and found(index, 2) is None


@pytest.mark.parametrize("scan_above", [500, 1], ids=["in-batches", "read-every-key"])
def test_searchable_opens_many_templates_with_their_own_keys_only(
    database: Database, monkeypatch: pytest.MonkeyPatch, scan_above: int
) -> None:
    """The gallery's batch decryption gives what one-by-one decryption gives: each template
    under its own user's key, a shredded or foreign one unreadable."""
    monkeypatch.setattr("face_auth.data_access.data_key_repository._SCAN_ABOVE", scan_above)
    monkeypatch.setattr("face_auth.data_access.data_key_repository._IN_BATCH", 2)
    repository = embeddings(database)
    for number in range(5):
        repository.replace(template(f"u{number}", seed=number))
        repository.set_identify_consent(f"u{number}", datetime.now(UTC))
    repository.replace(template("not-opted-in", seed=9))
    # u3's sealed template copied onto u4: it does not open under u4's key.
    sealed_u3 = database.db["embeddings"].find_one({"user_id": "u3"})["sealed"]
    database.db["embeddings"].update_one({"user_id": "u4"}, {"$set": {"sealed": sealed_u3}})
    database.db["data_keys"].delete_one({"_id": "u2"})  # shredded

    opened = {t.user_id: t for t in repository.searchable()}
    assert sorted(opened) == ["u0", "u1", "u2", "u3", "u4"]
    for user_id in ("u0", "u1", "u3"):
        assert opened[user_id].template == repository.get(user_id).template
        assert opened[user_id].template == pytest.approx(
            template(user_id, int(user_id[1])).template
        )
    assert opened["u2"].unreadable == "no_data_key"
    assert opened["u4"].unreadable == "authentication_failed"
    assert [t.user_id for t in repository.searchable(["u1", "u2", "not-opted-in"])] == [
        "u1",
        "u2",
    ]
