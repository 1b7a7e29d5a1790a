from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class NewUser(BaseModel):
    """A validated registration, ready to store (the password is already hashed)."""

    model_config = ConfigDict(frozen=True)

    name: str
    username: str  # normalised lowercase
    email: str  # normalised lowercase
    phone: str
    password_hash: str
    created_at: datetime
    # Look-alike keys (Unicode TS #39 skeletons) that keep confusable twins out; for
    # comparison only. Empty on accounts registered before they existed.
    email_skeleton: str = ""
    username_skeleton: str = ""
    # Set by an administrator (`face-auth users lock`): no sign-in until `users unlock`.
    locked_at: datetime | None = None
    # Registered while mail was on: no sign-in until the mailed link is opened
    # (business_val/accounts/email_links.py). Older accounts, and those made with mail off,
    # have False.
    verify_email: bool = False
    email_verified_at: datetime | None = None


class User(NewUser):
    id: str


class UserEmbedding(BaseModel):
    """A user's face template: the normalised mean plus the per-frame embeddings behind it.

    Stored encrypted. `unreadable` says why a stored template could not be decrypted (another
    account's copy, tampering, a deleted data key, plaintext): its vectors are then empty and
    it must never be compared."""

    model_config = ConfigDict(frozen=True)

    user_id: str
    template: list[float]
    embeddings: list[list[float]] = Field(default_factory=list)
    model_name: str
    model_version: str
    created_at: datetime
    unreadable: str | None = None

    @property
    def readable(self) -> bool:
        return self.unreadable is None


class EmailToken(BaseModel):
    """A single-use link's record: what it is for, whose, until when (stored by hash)."""

    model_config = ConfigDict(frozen=True)

    purpose: str
    user_id: str
    email: str
    expires_at: datetime
