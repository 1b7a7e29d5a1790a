from dataclasses import dataclass
from datetime import datetime

from pymongo import ReturnDocument

from face_auth.constant import SESSIONS_COLLECTION
from face_auth.data_access.database import Database
from face_auth.data_access.errors import translate_unavailable
from face_auth.entity import SessionFaceState


@dataclass(frozen=True)
class SessionRecord:
    user_id: str
    amr: tuple[str, ...]
    expires_at: datetime
    auth_time: datetime | None = None


class SessionRepository:
    """Server-side record of every issued token (by jti): a token is valid only while its
    record exists and is not revoked. The TTL index removes records once they expire."""

    def __init__(self, database: Database) -> None:
        self._sessions = database.durable(SESSIONS_COLLECTION)

    @translate_unavailable
    def add(
        self,
        jti: str,
        user_id: str,
        amr: list[str],
        issued_at: datetime,
        expires_at: datetime,
        auth_time: datetime | None = None,
    ) -> None:
        self._sessions.insert_one(
            {
                "_id": jti,
                "user_id": user_id,
                "amr": amr,
                "issued_at": issued_at,
                "expires_at": expires_at,
                "auth_time": auth_time,
                "revoked_at": None,
            }
        )

    @translate_unavailable
    def find_live(self, jti: str, now: datetime) -> SessionRecord | None:
        """The record of a session that is neither revoked nor expired."""
        document = self._sessions.find_one(
            {"_id": jti, "revoked_at": None, "expires_at": {"$gt": now}},
            {"user_id": True, "amr": True, "expires_at": True, "auth_time": True},
        )
        if document is None:
            return None
        return SessionRecord(
            user_id=str(document["user_id"]),
            amr=tuple(document["amr"]),
            expires_at=document["expires_at"],
            auth_time=document.get("auth_time"),
        )

    @translate_unavailable
    def set_auth_time(self, jti: str, auth_time: datetime, now: datetime) -> bool:
        """Record a step-up on a live session. False when it is no longer live."""
        result = self._sessions.update_one(
            {"_id": jti, "revoked_at": None, "expires_at": {"$gt": now}},
            {"$set": {"auth_time": auth_time}},
        )
        return result.modified_count == 1

    @translate_unavailable
    def revoke(self, jti: str, now: datetime) -> bool:
        """End a live session. True only for the one call that ended it: a caller that must
        not act on a session revoked or expired meanwhile (granting a factor) checks this."""
        result = self._sessions.update_one(
            {"_id": jti, "revoked_at": None, "expires_at": {"$gt": now}},
            {"$set": {"revoked_at": now}},
        )
        return result.modified_count == 1

    @translate_unavailable
    def face_state(self, jti: str, now: datetime) -> SessionFaceState | None:
        """The face-step state of a live session; None once it is revoked or expired."""
        document = self._sessions.find_one(
            {"_id": jti, "revoked_at": None, "expires_at": {"$gt": now}},
            {"face_attempts": True, "enrollment_authorized_by": True},
        )
        if document is None:
            return None
        return SessionFaceState(
            face_attempts=int(document.get("face_attempts") or 0),
            enrollment_authorized_by=document.get("enrollment_authorized_by"),
        )

    @translate_unavailable
    def reserve_face_attempt(self, jti: str, now: datetime, limit: int) -> int | None:
        """Take one of the session's `limit` face attempts, atomically, before the comparison
        it pays for. Returns the attempt's number (1..limit), or None when the session is
        revoked, expired or has no attempt left."""
        return self._take_one(jti, now, "face_attempts", limit)

    @translate_unavailable
    def reserve_challenge(self, jti: str, now: datetime, limit: int) -> int | None:
        """Count one more liveness challenge on a live session, atomically; its number
        (1..limit), or None when the session is revoked, expired or has asked for ``limit``."""
        return self._take_one(jti, now, "challenges", limit)

    def _take_one(self, jti: str, now: datetime, counter: str, limit: int) -> int | None:
        """Add one to a live session's ``counter`` unless it reached ``limit``; the new value."""
        document = self._sessions.find_one_and_update(
            {
                "_id": jti,
                "revoked_at": None,
                "expires_at": {"$gt": now},
                "$or": [{counter: {"$exists": False}}, {counter: {"$lt": limit}}],
            },
            {"$inc": {counter: 1}},
            projection={counter: True},
            return_document=ReturnDocument.AFTER,
        )
        return int(document[counter]) if document else None

    @translate_unavailable
    def authorize_enrollment(self, jti: str, method: str, now: datetime) -> bool:
        """Mark a live session as allowed to put a face on its account (a one-time code was
        used for it). False when the session is no longer live."""
        result = self._sessions.update_one(
            {"_id": jti, "revoked_at": None, "expires_at": {"$gt": now}},
            {"$set": {"enrollment_authorized_by": method}},
        )
        return result.modified_count == 1

    @translate_unavailable
    def revoke_all_for_user(self, user_id: str, now: datetime, keep: str | None = None) -> int:
        """Revoke every live session of the user, except the one whose jti is `keep`."""
        query: dict[str, object] = {"user_id": user_id, "revoked_at": None}
        if keep is not None:
            query["_id"] = {"$ne": keep}
        result = self._sessions.update_many(query, {"$set": {"revoked_at": now}})
        return result.modified_count
