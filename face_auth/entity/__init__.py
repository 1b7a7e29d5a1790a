"""Typed models shared by every layer."""

from face_auth.entity.face import CodeStatus, FaceAttempts, SessionFaceState
from face_auth.entity.session import SessionClaims
from face_auth.entity.user import EmailToken, NewUser, User, UserEmbedding

__all__ = [
    "CodeStatus",
    "EmailToken",
    "FaceAttempts",
    "NewUser",
    "SessionClaims",
    "SessionFaceState",
    "User",
    "UserEmbedding",
]
