"""Biometric data at rest: envelope encryption with AES-256-GCM.

Each user has a random 256-bit data key (DEK). Their face data is sealed under it, and the DEK
is stored wrapped (sealed) under the master key. The associated data binds every ciphertext to
its user and purpose, so a template or wrapped key copied onto another account does not
decrypt. Deleting a user's DEK makes every copy of their face data unreadable (oplog, journal,
backups): crypto-shredding. Keys are never logged.
"""

import hashlib
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from face_auth.data_access.data_key_repository import DataKeyRepository, WrappedKey
from face_auth.exception import ServiceBusy
from face_auth.utils import utc_now

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
# The first byte of every sealed value: the format (AES-256-GCM, 96-bit random nonce).
FORMAT_V1 = b"\x01"
DATA_KEY_PURPOSE = "data-key"


# Looks at a data key that other requests keep changing before giving up (503, retry).
_KEY_RACE_RETRIES = 5


class Unreadable(Exception):
    """A sealed value that cannot be opened; `reason` is a short code (never key material)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def associated_data(purpose: str, user_id: str) -> bytes:
    return f"face_auth/{purpose}/v1/{user_id}".encode()


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return FORMAT_V1 + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def open_sealed(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    if len(sealed) < 1 + NONCE_BYTES + TAG_BYTES or sealed[:1] != FORMAT_V1:
        raise Unreadable("malformed")
    nonce, ciphertext = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, aad)
    except InvalidTag:
        raise Unreadable("authentication_failed") from None


def master_key_id(key: bytes) -> str:
    """A public name for a master key (a hash prefix), stored beside each wrapped data key."""
    return hashlib.sha256(b"face_auth template master key id\x00" + key).hexdigest()[:16]


@dataclass(frozen=True)
class RewrapReport:
    rewrapped: int
    # Data keys wrapped by a master key that is neither current nor listed as previous.
    unknown_master_key: int


class TemplateCipher:
    """Seals and opens a user's data under their data key; creates, re-wraps and deletes
    data keys. The master keys stay in memory only."""

    def __init__(
        self, current: bytes, previous: tuple[bytes, ...], data_keys: DataKeyRepository
    ) -> None:
        self._current = current
        self._current_id = master_key_id(current)
        self._masters = {master_key_id(key): key for key in (*previous, current)}
        self._data_keys = data_keys

    def seal(self, user_id: str, purpose: str, plaintext: bytes) -> bytes:
        """Encrypt under the user's data key, creating it on first use."""
        return seal(self._data_key(user_id), plaintext, associated_data(purpose, user_id))

    def open(self, user_id: str, purpose: str, sealed: bytes) -> bytes:
        """Decrypt, or raise Unreadable: no data key (shredded, or copied from elsewhere), a
        master key we do not hold, another user's ciphertext, or tampering."""
        stored = self._data_keys.get(user_id)
        if stored is None:
            raise Unreadable("no_data_key")
        return open_sealed(self._unwrap(stored), sealed, associated_data(purpose, user_id))

    def open_many(
        self, purpose: str, sealed_by_user: list[tuple[str, bytes]]
    ) -> list[bytes | Unreadable]:
        """``open`` for many users at once, their data keys fetched in one query: each item's
        plaintext, or the Unreadable it raised."""
        keys = self._data_keys.get_many([user_id for user_id, _ in sealed_by_user])
        opened: list[bytes | Unreadable] = []
        for user_id, sealed in sealed_by_user:
            stored = keys.get(user_id)
            try:
                if stored is None:
                    raise Unreadable("no_data_key")
                aad = associated_data(purpose, user_id)
                opened.append(open_sealed(self._unwrap(stored), sealed, aad))
            except Unreadable as error:
                opened.append(error)
        return opened

    def shred(self, user_id: str) -> bool:
        """Delete the user's data key: whatever it sealed can never be read again."""
        return self._data_keys.delete(user_id)

    def rewrap_all(self) -> RewrapReport:
        """Re-wrap under the current master key every data key wrapped by a previous one.
        Idempotent and safe to run from several processes at once."""
        rewrapped = unknown = 0
        for stored in self._data_keys.wrapped_by_other_keys(self._current_id):
            if stored.master_key_id not in self._masters:
                unknown += 1
                continue
            try:
                data_key = self._unwrap(stored)
            except Unreadable:
                unknown += 1
                continue
            rewrapped += self._data_keys.rewrap(stored, self._wrap(stored.user_id, data_key),
                                                utc_now())  # fmt: skip
        return RewrapReport(rewrapped=rewrapped, unknown_master_key=unknown)

    def _data_key(self, user_id: str) -> bytes:
        """The user's data key, created on first use. A concurrent creation, replacement or
        deletion (shredding) of the same key makes this look again, a bounded number of times."""
        for _ in range(_KEY_RACE_RETRIES):
            stored = self._data_keys.get(user_id)
            data_key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
            if stored is None:
                if self._data_keys.add(self._wrap(user_id, data_key), utc_now()):
                    return data_key
                continue  # another request created it first
            try:
                return self._unwrap(stored)
            except Unreadable:  # nothing it sealed can be read either: start afresh
                if self._data_keys.rewrap(stored, self._wrap(user_id, data_key), utc_now()):
                    return data_key
        raise ServiceBusy()

    def _wrap(self, user_id: str, data_key: bytes) -> WrappedKey:
        aad = associated_data(DATA_KEY_PURPOSE, user_id)
        return WrappedKey(user_id, seal(self._current, data_key, aad), self._current_id)

    def _unwrap(self, stored: WrappedKey) -> bytes:
        master = self._masters.get(stored.master_key_id)
        if master is None:
            raise Unreadable("unknown_master_key")
        aad = associated_data(DATA_KEY_PURPOSE, stored.user_id)
        return open_sealed(master, stored.wrapped, aad)
