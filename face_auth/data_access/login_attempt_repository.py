from datetime import datetime, timedelta

from pymongo import ReturnDocument

from face_auth.constant import LOGIN_ATTEMPTS_COLLECTION
from face_auth.data_access.database import Database
from face_auth.data_access.errors import translate_unavailable


class LoginAttemptRepository:
    """Failed password checks per email address (known or not, so a lock reveals nothing about
    which accounts exist). Records expire through a TTL index."""

    def __init__(self, database: Database) -> None:
        self._attempts = database.db[LOGIN_ATTEMPTS_COLLECTION]

    @translate_unavailable
    def locked_until(self, email: str, now: datetime) -> datetime | None:
        document = self._attempts.find_one({"_id": email, "locked_until": {"$gt": now}})
        return document["locked_until"] if document else None

    @translate_unavailable
    def record_failure(
        self, email: str, now: datetime, window: timedelta, max_failures: int, lock_for: timedelta
    ) -> datetime | None:
        """Count one failure; once `max_failures` fall inside `window`, lock for `lock_for`.
        Returns the lock's end when this failure locked the address."""
        document = self._attempts.find_one_and_update(
            {"_id": email, "expires_at": {"$gt": now}},
            {"$inc": {"failures": 1}},
            return_document=ReturnDocument.AFTER,
        )
        if document is None:  # first failure, or the previous window ran out
            self._attempts.replace_one(
                {"_id": email},
                {"failures": 1, "locked_until": None, "expires_at": now + window},
                upsert=True,
            )
            failures = 1
        else:
            failures = int(document["failures"])
        if failures < max_failures:
            return None
        locked_until = now + lock_for
        self._attempts.update_one(
            {"_id": email},
            {"$set": {"locked_until": locked_until, "expires_at": locked_until, "failures": 0}},
        )
        return locked_until

    @translate_unavailable
    def clear(self, email: str) -> bool:
        return self._attempts.delete_one({"_id": email}).deleted_count == 1
