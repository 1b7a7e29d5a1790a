"""Identify mode's state: registered kiosks (their secrets stored as hashes), each kiosk's
request count per minute, and the gallery's version counter."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from face_auth.constant import (
    IDENTIFY_GALLERY_COLLECTION,
    KIOSK_REQUESTS_COLLECTION,
    KIOSKS_COLLECTION,
)
from face_auth.data_access.database import Database
from face_auth.data_access.errors import translate_unavailable
from face_auth.entity.kiosk import Kiosk

_GALLERY_VERSION_ID = "version"


def _kiosk(document: dict[str, Any]) -> Kiosk:
    return Kiosk(
        kiosk_id=str(document["_id"]),
        name=str(document["name"]),
        created_at=document["created_at"],
    )


class KioskRepository:
    """One document per kiosk, keyed by its id, holding a hash of its secret (never the
    secret)."""

    def __init__(self, database: Database) -> None:
        self._kiosks = database.durable(KIOSKS_COLLECTION)

    @translate_unavailable
    def add(self, kiosk: Kiosk, secret_hash: str) -> bool:
        """False when the id is taken."""
        try:
            self._kiosks.insert_one(
                {"_id": kiosk.kiosk_id, "name": kiosk.name, "created_at": kiosk.created_at,
                 "secret_hash": secret_hash}
            )  # fmt: skip
        except DuplicateKeyError:
            return False
        return True

    @translate_unavailable
    def find(self, kiosk_id: str) -> tuple[Kiosk, str] | None:
        """The kiosk and its secret's hash."""
        document = self._kiosks.find_one({"_id": kiosk_id})
        return (_kiosk(document), str(document["secret_hash"])) if document else None

    @translate_unavailable
    def list_all(self) -> list[Kiosk]:
        return [_kiosk(document) for document in self._kiosks.find().sort("created_at", 1)]

    @translate_unavailable
    def remove(self, kiosk_id: str) -> bool:
        return self._kiosks.delete_one({"_id": kiosk_id}).deleted_count == 1


class KioskRequestCounter:
    """Requests per kiosk per fixed window, counted atomically in the database (so replicas
    share the count); the TTL index (Database.ensure_indexes) removes past windows."""

    def __init__(self, database: Database) -> None:
        self._counts = database.db[KIOSK_REQUESTS_COLLECTION]

    @translate_unavailable
    def count(self, kiosk_id: str, window_start: datetime, expires_at: datetime) -> int:
        """Add one request to the kiosk's window; returns the window's count with it."""
        document = self._counts.find_one_and_update(
            {"_id": f"{kiosk_id}:{window_start.isoformat()}"},
            {"$inc": {"count": 1}, "$setOnInsert": {"expires_at": expires_at}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return int(document["count"])


@dataclass(frozen=True)
class GalleryChanges:
    """The gallery's version and the users whose searchable template changed in the last
    versions: ``users[-k:]`` changed in versions ``version - k + 1 .. version`` (None when
    more changed since the asked version than are kept: reload everything)."""

    version: int
    users: tuple[str, ...] | None


class GalleryVersion:
    """A counter bumped whenever the set of searchable templates changes (an opted-in template
    replaced or deleted, a consent given or withdrawn), with the ids of the last
    RECENT_CHANGES users changed, in the same document and the same atomic update. Each
    replica reads the counter before a search (one lookup by _id) and, when it moved, patches
    its in-memory index with those users' templates."""

    RECENT_CHANGES = 1000

    def __init__(self, database: Database) -> None:
        self._state = database.durable(IDENTIFY_GALLERY_COLLECTION)

    @translate_unavailable
    def current(self) -> int:
        document = self._state.find_one({"_id": _GALLERY_VERSION_ID}, {"n": True})
        return int(document["n"]) if document else 0

    @translate_unavailable
    def changes_since(self, version: int) -> GalleryChanges:
        document = self._state.find_one({"_id": _GALLERY_VERSION_ID})
        if document is None:
            return GalleryChanges(0, ())
        current, recent = int(document["n"]), [str(user) for user in document.get("recent", [])]
        missed = current - version
        if version < 0 or missed > len(recent):
            return GalleryChanges(current, None)
        return GalleryChanges(current, tuple(recent[len(recent) - missed :]) if missed else ())

    @translate_unavailable
    def bump(self, user_id: str) -> int:
        document = self._state.find_one_and_update(
            {"_id": _GALLERY_VERSION_ID},
            {
                "$inc": {"n": 1},
                "$push": {"recent": {"$each": [user_id], "$slice": -self.RECENT_CHANGES}},
            },
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return int(document["n"])
