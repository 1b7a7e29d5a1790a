"""Liveness state: single-use challenge nonces, and hashes of recently submitted frames."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument

from face_auth.constant import FACE_CHALLENGES_COLLECTION, FRAME_HASHES_COLLECTION
from face_auth.data_access.database import Database
from face_auth.data_access.errors import translate_unavailable

_UINT64 = 1 << 64


@dataclass(frozen=True)
class ChallengeRecord:
    jti: str
    user_id: str
    action: str | None
    expires_at: datetime
    used_at: datetime | None


def _record(document: dict[str, Any]) -> ChallengeRecord:
    return ChallengeRecord(
        jti=str(document["jti"]),
        user_id=str(document["user_id"]),
        action=document.get("action"),
        expires_at=document["expires_at"],
        used_at=document.get("used_at"),
    )


class ChallengeRepository:
    """One document per challenge, keyed by the nonce's hash (the nonce itself is never
    stored). Redeeming is one atomic update, so a nonce serves one request only; the TTL index
    removes challenges once they expire."""

    def __init__(self, database: Database) -> None:
        self._challenges = database.durable(FACE_CHALLENGES_COLLECTION)

    @translate_unavailable
    def add(
        self, nonce_hash: str, jti: str, user_id: str, action: str | None,
        issued_at: datetime, expires_at: datetime,
    ) -> None:  # fmt: skip
        self._challenges.insert_one(
            {
                "_id": nonce_hash,
                "jti": jti,
                "user_id": user_id,
                "action": action,
                "issued_at": issued_at,
                "expires_at": expires_at,
                "used_at": None,
            }
        )

    @translate_unavailable
    def redeem(self, nonce_hash: str, jti: str, now: datetime) -> ChallengeRecord | None:
        """Mark the challenge used if it is this session's, unused and unexpired; None if not."""
        document = self._challenges.find_one_and_update(
            {"_id": nonce_hash, "jti": jti, "used_at": None, "expires_at": {"$gt": now}},
            {"$set": {"used_at": now}},
            return_document=ReturnDocument.AFTER,
        )
        return _record(document) if document else None

    @translate_unavailable
    def find(self, nonce_hash: str) -> ChallengeRecord | None:
        document = self._challenges.find_one({"_id": nonce_hash})
        return _record(document) if document else None


class FrameHashRepository:
    """What is remembered of each submission's frames, per user, until ``expires_at``: a
    perceptual hash and a few landmark positions per frame (no picture, no template)."""

    def __init__(self, database: Database) -> None:
        self._hashes = database.durable(FRAME_HASHES_COLLECTION)

    @translate_unavailable
    def add(
        self,
        user_id: str,
        frames: list[tuple[int, tuple[float, ...] | None]],
        at: datetime,
        expires_at: datetime,
    ) -> None:
        # 64-bit unsigned values do not fit BSON's signed int64: stored as hex strings.
        stored = [
            {"h": f"{value % _UINT64:016x}", "k": None if keys is None else list(keys)}
            for value, keys in frames
        ]
        self._hashes.insert_one(
            {"user_id": user_id, "frames": stored, "at": at, "expires_at": expires_at}
        )

    @translate_unavailable
    def recent(self, user_id: str, now: datetime) -> list[tuple[int, tuple[float, ...] | None]]:
        """Every frame remembered for the user that has not expired."""
        found: list[tuple[int, tuple[float, ...] | None]] = []
        cursor = self._hashes.find(
            {"user_id": user_id, "expires_at": {"$gt": now}}, {"frames": True}
        )
        for document in cursor:
            for frame in document.get("frames", []):
                keys = frame.get("k")
                found.append((int(frame["h"], 16), tuple(keys) if keys is not None else None))
        return found

    @translate_unavailable
    def delete_for_user(self, user_id: str) -> int:
        """Remove the user's frame records (account or biometric data deletion)."""
        return self._hashes.delete_many({"user_id": user_id}).deleted_count
