"""The single-use links mailed for a password reset or an email verification."""

from datetime import datetime
from typing import Any

from pymongo import ReturnDocument

from face_auth.constant import EMAIL_TOKENS_COLLECTION
from face_auth.data_access.database import Database
from face_auth.data_access.errors import translate_unavailable
from face_auth.entity import EmailToken


def _token(document: dict[str, Any]) -> EmailToken:
    return EmailToken(
        purpose=str(document["purpose"]),
        user_id=str(document["user_id"]),
        email=str(document["email"]),
        expires_at=document["expires_at"],
    )


class EmailTokenRepository:
    """One document per link, keyed by the SHA-256 of its token (the token itself is never
    stored). Using a link is one conditional update (unused, unexpired, for this purpose), so
    of two concurrent uses exactly one wins; the TTL index removes links once they expire."""

    def __init__(self, database: Database) -> None:
        self._tokens = database.durable(EMAIL_TOKENS_COLLECTION)

    @translate_unavailable
    def add(
        self, token_hash: str, purpose: str, user_id: str, email: str,
        issued_at: datetime, expires_at: datetime,
    ) -> None:  # fmt: skip
        self._tokens.insert_one(
            {
                "_id": token_hash,
                "purpose": purpose,
                "user_id": user_id,
                "email": email,
                "issued_at": issued_at,
                "expires_at": expires_at,
                "used_at": None,
            }
        )

    @translate_unavailable
    def find_usable(self, token_hash: str, purpose: str, now: datetime) -> EmailToken | None:
        """The link's record while it may still be used (the page that asks for the new
        password looks before it uses)."""
        document = self._tokens.find_one(self._usable(token_hash, purpose, now))
        return _token(document) if document else None

    @translate_unavailable
    def consume(self, token_hash: str, purpose: str, now: datetime) -> EmailToken | None:
        """Use the link: its record, once; None when it is unknown, used, expired or for
        another purpose."""
        document = self._tokens.find_one_and_update(
            self._usable(token_hash, purpose, now),
            {"$set": {"used_at": now}},
            return_document=ReturnDocument.AFTER,
        )
        return _token(document) if document else None

    @translate_unavailable
    def use_all_for_user(self, user_id: str, purpose: str, now: datetime) -> int:
        """Mark every unused link of the user for `purpose` as used (after a reset, the other
        reset links mailed before it must not work); returns how many."""
        result = self._tokens.update_many(
            {"user_id": user_id, "purpose": purpose, "used_at": None},
            {"$set": {"used_at": now}},
        )
        return result.modified_count

    @translate_unavailable
    def delete_for_user(self, user_id: str) -> None:
        self._tokens.delete_many({"user_id": user_id})

    @staticmethod
    def _usable(token_hash: str, purpose: str, now: datetime) -> dict[str, object]:
        return {
            "_id": token_hash,
            "purpose": purpose,
            "used_at": None,
            "expires_at": {"$gt": now},
        }
