from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from face_auth.constant import DATA_KEYS_COLLECTION
from face_auth.data_access.database import Database
from face_auth.data_access.errors import translate_unavailable


@dataclass(frozen=True)
class WrappedKey:
    """A user's data key as stored: encrypted by the master key whose id is `master_key_id`."""

    user_id: str
    wrapped: bytes
    master_key_id: str


# get_many: ids per `$in` query, and above how many ids every key is read instead.
_IN_BATCH = 50
_SCAN_ABOVE = 500


def _wrapped_key(document: dict[str, Any]) -> WrappedKey:
    return WrappedKey(
        user_id=str(document["_id"]),
        wrapped=bytes(document["wrapped"]),
        master_key_id=str(document["master_key_id"]),
    )


class DataKeyRepository:
    """One wrapped data key per user (`_id` is the user id). Deleting it makes every copy of
    the data it encrypted unreadable, wherever that copy lies (oplog, journal, backups)."""

    def __init__(self, database: Database) -> None:
        self._keys = database.durable(DATA_KEYS_COLLECTION)

    @translate_unavailable
    def get(self, user_id: str) -> WrappedKey | None:
        document: dict[str, Any] | None = self._keys.find_one({"_id": user_id})
        return _wrapped_key(document) if document else None

    @translate_unavailable
    def get_many(self, user_ids: list[str]) -> dict[str, WrappedKey]:
        """The data keys of these users that exist. SecantusDB answers a long `$in` slowly
        (1,000 ids: 1.1 s; 20 queries of 50: 0.1 s; reading all 1,000 keys: 13 ms), so the
        ids are asked 50 at a time, or every key is read when many are wanted."""
        wanted = set(user_ids)
        if len(wanted) > _SCAN_ABOVE:
            found = (d for d in self._keys.find() if str(d["_id"]) in wanted)
        else:
            ordered = sorted(wanted)
            found = (
                document
                for start in range(0, len(ordered), _IN_BATCH)
                for document in self._keys.find(
                    {"_id": {"$in": ordered[start : start + _IN_BATCH]}}
                )
            )
        return {str(document["_id"]): _wrapped_key(document) for document in found}

    @translate_unavailable
    def add(self, key: WrappedKey, now: datetime) -> bool:
        """Store a new data key; False when the user has one already (a concurrent request
        created it): the caller then uses that one."""
        try:
            self._keys.insert_one(
                {"_id": key.user_id, "wrapped": key.wrapped,
                 "master_key_id": key.master_key_id, "created_at": now}
            )  # fmt: skip
        except DuplicateKeyError:
            return False
        return True

    @translate_unavailable
    def rewrap(self, old: WrappedKey, new: WrappedKey, now: datetime) -> bool:
        """Replace the wrapping only if it is still `old` (a compare-and-swap)."""
        result = self._keys.update_one(
            {"_id": old.user_id, "master_key_id": old.master_key_id, "wrapped": old.wrapped},
            {"$set": {"wrapped": new.wrapped, "master_key_id": new.master_key_id,
                      "rewrapped_at": now}},
        )  # fmt: skip
        return result.modified_count == 1

    @translate_unavailable
    def wrapped_by_other_keys(self, master_key_id: str) -> list[WrappedKey]:
        documents = self._keys.find({"master_key_id": {"$ne": master_key_id}})
        return [_wrapped_key(document) for document in documents]

    @translate_unavailable
    def delete(self, user_id: str) -> bool:
        return self._keys.delete_one({"_id": user_id}).deleted_count == 1
