from dataclasses import dataclass

from face_auth.entity import User


@dataclass(frozen=True)
class EmailVerificationPolicy:
    """With mail on (`required`), an account registered since must open the link mailed to it
    before its first sign-in. Accounts registered while mail was off were never asked and are
    not blocked; with mail off nobody is (no link could reach them)."""

    required: bool = False

    def blocks(self, user: User) -> bool:
        return self.required and user.verify_email and user.email_verified_at is None
