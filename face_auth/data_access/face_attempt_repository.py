from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from face_auth.constant import FACE_ATTEMPTS_COLLECTION
from face_auth.data_access.database import Database
from face_auth.data_access.errors import translate_unavailable
from face_auth.entity import FaceAttempts


class FaceAttemptRepository:
    """Each account's consecutive face failures and hold (one document per user, `_id` is the
    user id). Writes are compare-and-swap on `version`, so concurrent requests on any number of
    workers or replicas each see and change one consistent state; the rule that decides the
    new state lives in business_val.face.attempts."""

    def __init__(self, database: Database) -> None:
        self._attempts = database.durable(FACE_ATTEMPTS_COLLECTION)

    @translate_unavailable
    def get(self, user_id: str) -> FaceAttempts:
        document: dict[str, Any] | None = self._attempts.find_one({"_id": user_id})
        if document is None:
            return FaceAttempts()
        return FaceAttempts(
            failures=int(document.get("failures", 0)),
            held_until=document.get("held_until"),
            version=int(document.get("version", 0)),
        )

    @translate_unavailable
    def swap(self, user_id: str, expected: FaceAttempts, new: FaceAttempts) -> bool:
        """Store `new` only if the stored state is still `expected`; False if it changed."""
        fields = {"failures": new.failures, "held_until": new.held_until}
        if expected.version == 0:
            try:
                self._attempts.insert_one({"_id": user_id, **fields, "version": 1})
            except DuplicateKeyError:
                return False
            return True
        result = self._attempts.update_one(
            {"_id": user_id, "version": expected.version},
            {"$set": fields, "$inc": {"version": 1}},
        )
        return result.modified_count == 1

    @translate_unavailable
    def reset(self, user_id: str) -> None:
        """No failures and no hold (a successful match, or an administrator's reset)."""
        self._attempts.update_one(
            {"_id": user_id, "$or": [{"failures": {"$gt": 0}}, {"held_until": {"$ne": None}}]},
            {"$set": {"failures": 0, "held_until": None}, "$inc": {"version": 1}},
        )

    @translate_unavailable
    def delete(self, user_id: str) -> None:
        self._attempts.delete_one({"_id": user_id})

    @translate_unavailable
    def held_until(self, user_id: str, now: datetime) -> datetime | None:
        document = self._attempts.find_one({"_id": user_id, "held_until": {"$gt": now}})
        return document["held_until"] if document else None
