from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from face_auth.constant import RECOVERY_CODES_COLLECTION
from face_auth.data_access.database import Database
from face_auth.data_access.errors import translate_unavailable
from face_auth.entity import CodeStatus


class RecoveryCodeRepository:
    """One-time codes per account (`_id` is the user id), as hashes only: the recovery codes
    shown at first enrollment, and the enrollment code an administrator hands out after a face
    reset. Using a code removes it in the same atomic update that matched it."""

    def __init__(self, database: Database) -> None:
        self._codes = database.durable(RECOVERY_CODES_COLLECTION)

    @translate_unavailable
    def issue_first(self, user_id: str, hashes: list[str], now: datetime) -> bool:
        """Store the account's first set of recovery codes; False (and nothing stored) when
        codes were issued before. Atomic: of two concurrent first enrollments one wins."""
        try:
            result = self._codes.update_one(
                {"_id": user_id, "issued_at": None},
                {"$set": {"codes": hashes, "issued_at": now}},
                upsert=True,
            )
        except DuplicateKeyError:  # the document exists and has codes
            return False
        return result.modified_count == 1 or result.upserted_id is not None

    @translate_unavailable
    def replace(self, user_id: str, hashes: list[str], now: datetime) -> None:
        self._codes.update_one(
            {"_id": user_id}, {"$set": {"codes": hashes, "issued_at": now}}, upsert=True
        )

    @translate_unavailable
    def use_recovery_code(self, user_id: str, code_hash: str) -> bool:
        result = self._codes.update_one(
            {"_id": user_id, "codes": code_hash}, {"$pull": {"codes": code_hash}}
        )
        return result.modified_count == 1

    @translate_unavailable
    def set_enrollment_code(self, user_id: str, code_hash: str, expires_at: datetime) -> None:
        self._codes.update_one(
            {"_id": user_id},
            {"$set": {"enrollment_code": {"hash": code_hash, "expires_at": expires_at}}},
            upsert=True,
        )

    @translate_unavailable
    def use_enrollment_code(self, user_id: str, code_hash: str, now: datetime) -> bool:
        result = self._codes.update_one(
            {
                "_id": user_id,
                "enrollment_code.hash": code_hash,
                "enrollment_code.expires_at": {"$gt": now},
            },
            {"$unset": {"enrollment_code": ""}},
        )
        return result.modified_count == 1

    @translate_unavailable
    def status(self, user_id: str, now: datetime) -> CodeStatus:
        document: dict[str, Any] | None = self._codes.find_one({"_id": user_id})
        if document is None:
            return CodeStatus()
        enrollment = document.get("enrollment_code") or {}
        expires_at = enrollment.get("expires_at")
        return CodeStatus(
            recovery_codes_left=len(document.get("codes") or []),
            recovery_codes_issued_at=document.get("issued_at"),
            enrollment_code_expires_at=expires_at if expires_at and expires_at > now else None,
        )

    @translate_unavailable
    def delete(self, user_id: str) -> None:
        self._codes.delete_one({"_id": user_id})
