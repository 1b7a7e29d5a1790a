from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from face_auth.constant import LOGIN_ATTEMPTS_COLLECTION
from face_auth.data_access.database import Database
from face_auth.data_access.errors import translate_unavailable

# A retry follows a record that another request created, refunded or let expire between this
# request's conditional update and its read; three are plenty.
_RETRIES = 3


@dataclass(frozen=True)
class AttemptRecord:
    """Password attempts under one key (an email address, or a client address).

    `failures` counts attempts reserved and not refunded; `remaining` is how many more may be
    reserved before a hold; while `held_until` lies ahead none may."""

    failures: int
    remaining: int
    held_until: datetime | None


def _record(document: dict[str, Any]) -> AttemptRecord:
    return AttemptRecord(
        failures=int(document["failures"]),
        remaining=int(document["remaining"]),
        held_until=document.get("held_until"),
    )


class LoginAttemptRepository:
    """Stores and counts password attempts atomically; the rules that set the numbers live in
    business_val.password.lockout. Records expire through a TTL index on `expires_at`."""

    def __init__(self, database: Database) -> None:
        self._attempts = database.durable(LOGIN_ATTEMPTS_COLLECTION)

    @translate_unavailable
    def reserve(
        self, key: str, now: datetime, allowance: int, keep_for: timedelta
    ) -> AttemptRecord | None:
        """Take one attempt under `key` (a fresh key starts with `allowance`). None when none
        may be taken now: the key is held, or its attempts are all in flight or spent."""
        for _ in range(_RETRIES):
            document = self._attempts.find_one_and_update(
                {
                    "_id": key,
                    "remaining": {"$gt": 0},
                    "expires_at": {"$gt": now},
                    "$or": [{"held_until": None}, {"held_until": {"$lte": now}}],
                },
                {"$inc": {"remaining": -1, "failures": 1}, "$max": {"expires_at": now + keep_for}},
                return_document=ReturnDocument.AFTER,
            )
            if document is not None:
                return _record(document)
            existing = self._attempts.find_one({"_id": key})
            if existing is None:
                fresh = {
                    "_id": key,
                    "failures": 1,
                    "remaining": allowance - 1,
                    "held_until": None,
                    "expires_at": now + keep_for,
                }
                try:
                    self._attempts.insert_one(fresh)
                    return _record(fresh)
                except DuplicateKeyError:  # a concurrent first attempt created it: take from it
                    continue
            if existing["expires_at"] > now:
                held_until = existing.get("held_until")
                held = held_until is not None and held_until > now
                if held or existing.get("remaining", 0) <= 0:
                    return None  # held, or every attempt is taken
                # Created or given back by a concurrent request after our update missed it.
                continue
            # Expired, and the TTL monitor has not removed it yet: start afresh.
            self._attempts.delete_one({"_id": key, "expires_at": {"$lte": now}})
        return None

    @translate_unavailable
    def get(self, key: str, now: datetime) -> AttemptRecord | None:
        document = self._attempts.find_one({"_id": key, "expires_at": {"$gt": now}})
        return _record(document) if document else None

    @translate_unavailable
    def hold(
        self, key: str, failures: int, until: datetime, keep_for: timedelta, then_allow: int
    ) -> bool:
        """After `failures` failed attempts have spent the allowance: hold the key until
        `until`, then allow `then_allow` more (the rule's number). False when another request
        moved it first."""
        result = self._attempts.update_one(
            {"_id": key, "failures": failures, "remaining": 0},
            {
                "$set": {"held_until": until, "remaining": then_allow},
                "$max": {"expires_at": until + keep_for},
            },
        )
        return result.modified_count == 1

    @translate_unavailable
    def refund(self, key: str) -> None:
        """Give back one reserved attempt (it succeeded)."""
        self._attempts.update_one({"_id": key}, {"$inc": {"remaining": 1, "failures": -1}})

    @translate_unavailable
    def locked_until(self, key: str, now: datetime) -> datetime | None:
        document = self._attempts.find_one({"_id": key, "held_until": {"$gt": now}})
        return document["held_until"] if document else None

    @translate_unavailable
    def clear(self, key: str) -> bool:
        return self._attempts.delete_one({"_id": key}).deleted_count == 1
