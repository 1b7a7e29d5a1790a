import struct
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo import ReturnDocument

from face_auth.constant import EMBEDDINGS_COLLECTION
from face_auth.data_access.database import Database
from face_auth.data_access.errors import translate_unavailable
from face_auth.data_access.kiosk_repository import GalleryChanges, GalleryVersion
from face_auth.data_access.template_cipher import TemplateCipher, Unreadable
from face_auth.entity import UserEmbedding

# The associated-data purpose of a sealed template (with the user id).
TEMPLATE_PURPOSE = "face-template"
# Sealed plaintext: dimensions and frame count (two little-endian uint16), then the template
# and each frame's embedding as little-endian float64.
_HEADER = struct.Struct("<HH")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Set on the template's document when its user lets kiosks identify them (identify mode): the
# consent lives and dies with the template, so deleting the face removes them from searches.
IDENTIFY_CONSENT = "identify_consent_at"


def pack_vectors(template: list[float], embeddings: list[list[float]]) -> bytes:
    dimensions = len(template)
    if any(len(row) != dimensions for row in embeddings):
        raise ValueError("every embedding must have the template's dimensions")
    values = [*template, *(value for row in embeddings for value in row)]
    return _HEADER.pack(dimensions, len(embeddings)) + struct.pack(f"<{len(values)}d", *values)


def unpack_vectors(plaintext: bytes) -> tuple[list[float], list[list[float]]]:
    if len(plaintext) < _HEADER.size:
        raise Unreadable("malformed")
    dimensions, frames = _HEADER.unpack_from(plaintext)
    count = dimensions * (1 + frames)
    if len(plaintext) != _HEADER.size + 8 * count:
        raise Unreadable("malformed")
    values = list(struct.unpack_from(f"<{count}d", plaintext, _HEADER.size))
    rows = [values[start : start + dimensions] for start in range(dimensions, count, dimensions)]
    return values[:dimensions], rows


def _metadata(document: dict[str, Any]) -> dict[str, Any]:
    return {
        "user_id": str(document["user_id"]),
        "model_name": str(document.get("model_name", "")),
        "model_version": str(document.get("model_version", "")),
        "created_at": document.get("created_at") or _EPOCH,
    }


class EmbeddingRepository:
    """One face template per user (unique index on user_id). The vectors are stored sealed
    (AES-256-GCM under the user's data key, data_access/template_cipher.py); the model name,
    version and date stay readable. Encryption and decryption are transparent to callers.
    A change to a template searchable in identify mode bumps the gallery's version."""

    def __init__(self, database: Database, cipher: TemplateCipher) -> None:
        self._embeddings = database.durable(EMBEDDINGS_COLLECTION)
        self._cipher = cipher
        self._gallery = GalleryVersion(database)

    @translate_unavailable
    def has_template(self, user_id: str) -> bool:
        return self._embeddings.count_documents({"user_id": user_id}, limit=1) > 0

    @translate_unavailable
    def get(self, user_id: str) -> UserEmbedding | None:
        """The template, decrypted; one that does not decrypt comes back with `unreadable`
        set and no vectors."""
        document: dict[str, Any] | None = self._embeddings.find_one(
            {"user_id": user_id}, {"_id": False}
        )
        return self._open(document) if document else None

    @translate_unavailable
    def replace(self, embedding: UserEmbedding) -> None:
        """Atomic single-document upsert: a re-enrollment never leaves two templates (and
        keeps an identify consent given for the face it replaces)."""
        previous = self._embeddings.find_one_and_update(
            {"user_id": embedding.user_id},
            {
                "$set": self._sealed_document(embedding),
                "$unset": {"template": "", "embeddings": ""},
            },
            projection={IDENTIFY_CONSENT: True},
            upsert=True,
            return_document=ReturnDocument.BEFORE,
        )
        if previous and previous.get(IDENTIFY_CONSENT):
            self._gallery.bump(embedding.user_id)

    @translate_unavailable
    def delete(self, user_id: str) -> bool:
        """Delete the template (and with it any identify consent) and shred its data key
        first: the copies the database keeps (oplog, journal, backups) become unreadable too."""
        self._cipher.shred(user_id)
        deleted = self._embeddings.find_one_and_delete(
            {"user_id": user_id}, projection={IDENTIFY_CONSENT: True}
        )
        if deleted and deleted.get(IDENTIFY_CONSENT):
            self._gallery.bump(user_id)
        return deleted is not None

    @translate_unavailable
    def set_identify_consent(self, user_id: str, at: datetime | None) -> bool:
        """Give (``at``) or withdraw (None) the user's identify consent; False when the user
        has no template."""
        change = {"$set": {IDENTIFY_CONSENT: at}} if at else {"$unset": {IDENTIFY_CONSENT: ""}}
        found = self._embeddings.update_one({"user_id": user_id}, change).matched_count == 1
        if found:
            self._gallery.bump(user_id)
        return found

    @translate_unavailable
    def identify_consent(self, user_id: str) -> datetime | None:
        document = self._embeddings.find_one({"user_id": user_id}, {IDENTIFY_CONSENT: True})
        return document.get(IDENTIFY_CONSENT) if document else None

    @translate_unavailable
    def searchable(self, user_ids: Sequence[str] | None = None) -> list[UserEmbedding]:
        """Every template (of ``user_ids`` only, when given) whose user consented to identify
        mode, decrypted (one that does not decrypt comes back with `unreadable` set); their
        data keys are read together."""
        query: dict[str, Any] = {IDENTIFY_CONSENT: {"$ne": None}}
        if user_ids is not None:
            query["user_id"] = {"$in": list(user_ids)}
        documents = list(self._embeddings.find(query, {"_id": False}))
        sealed = [d for d in documents if d.get("sealed")]
        items = [(str(d["user_id"]), bytes(d["sealed"])) for d in sealed]
        opened = self._cipher.open_many(TEMPLATE_PURPOSE, items)
        templates = [self._unpacked(d, o) for d, o in zip(sealed, opened, strict=True)]
        return templates + [self._open(d) for d in documents if not d.get("sealed")]

    def gallery_version(self) -> int:
        """The identify gallery's version counter (see GalleryVersion)."""
        return self._gallery.current()

    def gallery_changes(self, since: int) -> GalleryChanges:
        """The gallery's version and the users changed since version ``since``."""
        return self._gallery.changes_since(since)

    @translate_unavailable
    def encrypt_plaintext(self) -> int:
        """Seal the templates stored in the clear by earlier versions; returns how many.
        Idempotent; a template replaced meanwhile is left as it is."""
        migrated = 0
        for document in self._embeddings.find({"sealed": {"$exists": False}}):
            template, embeddings = document.get("template"), document.get("embeddings") or []
            if not isinstance(template, list) or not template:
                continue
            sealed = self._cipher.seal(str(document["user_id"]), TEMPLATE_PURPOSE,
                                       pack_vectors(template, embeddings))  # fmt: skip
            result = self._embeddings.update_one(
                {"_id": document["_id"], "sealed": {"$exists": False}},
                {"$set": {"sealed": sealed}, "$unset": {"template": "", "embeddings": ""}},
            )
            migrated += result.modified_count
        return migrated

    def _sealed_document(self, embedding: UserEmbedding) -> dict[str, Any]:
        plaintext = pack_vectors(embedding.template, embedding.embeddings)
        return {
            "user_id": embedding.user_id,
            "model_name": embedding.model_name,
            "model_version": embedding.model_version,
            "created_at": embedding.created_at,
            "sealed": self._cipher.seal(embedding.user_id, TEMPLATE_PURPOSE, plaintext),
        }

    def _open(self, document: dict[str, Any]) -> UserEmbedding:
        sealed = document.get("sealed")
        if sealed is None:  # written in the clear, by an old version or by hand
            return self._unpacked(document, Unreadable("plaintext"))
        try:
            user_id = str(document["user_id"])
            opened: bytes | Unreadable = self._cipher.open(user_id, TEMPLATE_PURPOSE, bytes(sealed))
        except Unreadable as error:
            opened = error
        return self._unpacked(document, opened)

    def _unpacked(self, document: dict[str, Any], opened: bytes | Unreadable) -> UserEmbedding:
        metadata = _metadata(document)
        try:
            if isinstance(opened, Unreadable):
                raise opened
            template, embeddings = unpack_vectors(opened)
        except Unreadable as error:
            return UserEmbedding(**metadata, template=[], unreadable=error.reason)
        return UserEmbedding(**metadata, template=template, embeddings=embeddings)
