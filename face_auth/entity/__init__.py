"""Typed models shared by every layer."""

from face_auth.entity.face import CodeStatus, FaceAttempts, SessionFaceState
from face_auth.entity.session import SessionClaims
from face_auth.entity.user import NewUser, User, UserEmbedding

__all__ = [
    "CodeStatus",
    "FaceAttempts",
    "NewUser",
    "SessionClaims",
    "SessionFaceState",
    "User",
    "UserEmbedding",
]
