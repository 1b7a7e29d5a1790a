"""The only code that talks to MongoDB (through pymongo)."""

from face_auth.data_access.audit_repository import AuditRepository
from face_auth.data_access.data_key_repository import DataKeyRepository
from face_auth.data_access.database import Database, connect
from face_auth.data_access.email_token_repository import EmailTokenRepository
from face_auth.data_access.embedded_server import EmbeddedMongoServer
from face_auth.data_access.embedding_repository import EmbeddingRepository
from face_auth.data_access.login_attempt_repository import LoginAttemptRepository
from face_auth.data_access.session_repository import SessionRepository
from face_auth.data_access.supervisor import DatabaseSupervisor, ServerState
from face_auth.data_access.template_cipher import RewrapReport, TemplateCipher
from face_auth.data_access.user_repository import UserRepository

__all__ = [
    "AuditRepository",
    "DataKeyRepository",
    "Database",
    "DatabaseSupervisor",
    "EmailTokenRepository",
    "EmbeddedMongoServer",
    "EmbeddingRepository",
    "LoginAttemptRepository",
    "RewrapReport",
    "ServerState",
    "SessionRepository",
    "TemplateCipher",
    "UserRepository",
    "connect",
]
