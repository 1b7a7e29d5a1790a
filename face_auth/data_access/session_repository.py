from datetime import datetime

from pymongo import ReturnDocument

from face_auth.constant import SESSIONS_COLLECTION
from face_auth.data_access.database import Database
from face_auth.data_access.errors import translate_unavailable


class SessionRepository:
    """Server-side record of every issued token (by jti): a token is valid only while its
    record exists and is not revoked. The TTL index removes records once they expire."""

    def __init__(self, database: Database) -> None:
        self._sessions = database.db[SESSIONS_COLLECTION]

    @translate_unavailable
    def add(
        self, jti: str, user_id: str, amr: list[str], issued_at: datetime, expires_at: datetime
    ) -> None:
        self._sessions.insert_one(
            {
                "_id": jti,
                "user_id": user_id,
                "amr": amr,
                "issued_at": issued_at,
                "expires_at": expires_at,
                "revoked_at": None,
            }
        )

    @translate_unavailable
    def is_active(self, jti: str, now: datetime) -> bool:
        query = {"_id": jti, "revoked_at": None, "expires_at": {"$gt": now}}
        return self._sessions.count_documents(query, limit=1) > 0

    @translate_unavailable
    def revoke(self, jti: str, now: datetime) -> bool:
        result = self._sessions.update_one(
            {"_id": jti, "revoked_at": None}, {"$set": {"revoked_at": now}}
        )
        return result.modified_count == 1

    @translate_unavailable
    def count_face_failure(self, jti: str) -> int:
        """Add one failed face check to this session and return the session's total."""
        document = self._sessions.find_one_and_update(
            {"_id": jti},
            {"$inc": {"face_failures": 1}},
            projection={"face_failures": True},
            return_document=ReturnDocument.AFTER,
        )
        return int(document["face_failures"]) if document else 0

    @translate_unavailable
    def revoke_all_for_user(self, user_id: str, now: datetime) -> int:
        result = self._sessions.update_many(
            {"user_id": user_id, "revoked_at": None}, {"$set": {"revoked_at": now}}
        )
        return result.modified_count
