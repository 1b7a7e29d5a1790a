from datetime import datetime
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pymongo.errors import DuplicateKeyError

from face_auth.constant import USERS_COLLECTION
from face_auth.data_access.database import Database
from face_auth.data_access.errors import translate_unavailable
from face_auth.entity import NewUser, User
from face_auth.exception import AccountExists


def _object_id(user_id: str) -> ObjectId | None:
    try:
        return ObjectId(user_id)
    except InvalidId:
        return None


def _to_user(document: dict[str, Any]) -> User:
    return User(id=str(document.pop("_id")), **document)


class UserRepository:
    def __init__(self, database: Database) -> None:
        self._users = database.durable(USERS_COLLECTION)

    @translate_unavailable
    def add(self, new_user: NewUser) -> User:
        """Insert; the unique indexes decide races, so exactly one of two equal sign-ups wins."""
        document = new_user.model_dump()
        try:
            result = self._users.insert_one(document)
        except DuplicateKeyError as error:
            raise AccountExists() from error
        return User(id=str(result.inserted_id), **new_user.model_dump())

    @translate_unavailable
    def get_by_email(self, email: str) -> User | None:
        document = self._users.find_one({"email": email})
        return _to_user(document) if document else None

    @translate_unavailable
    def get_by_id(self, user_id: str) -> User | None:
        object_id = _object_id(user_id)
        if object_id is None:
            return None
        document = self._users.find_one({"_id": object_id})
        return _to_user(document) if document else None

    @translate_unavailable
    def set_password_hash(self, user_id: str, password_hash: str) -> bool:
        object_id = _object_id(user_id)
        if object_id is None:
            return False
        result = self._users.update_one(
            {"_id": object_id}, {"$set": {"password_hash": password_hash}}
        )
        return result.modified_count == 1

    @translate_unavailable
    def set_email_verified(self, user_id: str, verified_at: datetime) -> bool:
        """Record that the account's email address was proven (a mailed link was opened);
        False when there is no such user or it was verified before (the first time stays)."""
        object_id = _object_id(user_id)
        if object_id is None:
            return False
        result = self._users.update_one(
            {"_id": object_id, "email_verified_at": None},
            {"$set": {"email_verified_at": verified_at}},
        )
        return result.modified_count == 1

    @translate_unavailable
    def set_locked(self, user_id: str, locked_at: datetime | None) -> bool:
        """Lock (a time) or unlock (None) the account; False when there is no such user."""
        object_id = _object_id(user_id)
        if object_id is None:
            return False
        result = self._users.update_one({"_id": object_id}, {"$set": {"locked_at": locked_at}})
        return result.matched_count == 1

    @translate_unavailable
    def exists(
        self, email: str, username: str, email_skeleton: str = "", username_skeleton: str = ""
    ) -> bool:
        """An account with this email or username, or one that looks the same (skeletons)."""
        alternatives: list[dict[str, str]] = [{"email": email}, {"username": username}]
        if email_skeleton:
            alternatives.append({"email_skeleton": email_skeleton})
        if username_skeleton:
            alternatives.append({"username_skeleton": username_skeleton})
        query = {"$or": alternatives}
        return self._users.count_documents(query, limit=1) > 0

    @translate_unavailable
    def list_all(self, limit: int = 1000) -> list[User]:
        return [_to_user(document) for document in self._users.find().sort("email", 1).limit(limit)]

    @translate_unavailable
    def delete(self, user_id: str) -> bool:
        object_id = _object_id(user_id)
        if object_id is None:
            return False
        return self._users.delete_one({"_id": object_id}).deleted_count == 1
