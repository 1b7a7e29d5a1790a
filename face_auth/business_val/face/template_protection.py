"""Start-up care of the biometric data at rest (docs/security.md): re-wrap the data keys still
wrapped by a previous master key, then encrypt the templates older versions stored in the
clear. Both steps are idempotent; the app runs them at every start, `face-auth keys rotate`
on demand."""

import logging
from dataclasses import dataclass

from face_auth.data_access import AuditRepository, EmbeddingRepository, TemplateCipher
from face_auth.logger import get_logger, log_event
from face_auth.utils import utc_now

logger = get_logger(__name__)


@dataclass(frozen=True)
class ProtectionReport:
    data_keys_rewrapped: int
    # Data keys under a master key we do not hold: their users must enroll again, unless the
    # key is added to FACE_AUTH_TEMPLATE_PREVIOUS_MASTER_KEYS.
    data_keys_unreadable: int
    templates_encrypted: int

    def as_dict(self) -> dict[str, int]:
        return {
            "data_keys_rewrapped": self.data_keys_rewrapped,
            "data_keys_unreadable": self.data_keys_unreadable,
            "templates_encrypted": self.templates_encrypted,
        }


def protect_templates(
    cipher: TemplateCipher, embeddings: EmbeddingRepository, audit: AuditRepository
) -> ProtectionReport:
    rewrap = cipher.rewrap_all()
    report = ProtectionReport(
        data_keys_rewrapped=rewrap.rewrapped,
        data_keys_unreadable=rewrap.unknown_master_key,
        templates_encrypted=embeddings.encrypt_plaintext(),
    )
    if report.data_keys_rewrapped or report.templates_encrypted:
        audit.record("template_keys_maintained", utc_now(), **report.as_dict())
    level = logging.WARNING if report.data_keys_unreadable else logging.INFO
    log_event(logger, "templates_protected", level, **report.as_dict())
    return report
