"""The face factor's rules: who may enroll or verify, how many frames must pass, the decision."""

from collections.abc import Sequence
from dataclasses import dataclass

from face_auth.business_val.accounts import AccountService
from face_auth.business_val.observer import AuthObserver, NullObserver
from face_auth.business_val.tokens import IssuedToken, TokenService
from face_auth.constant import FACTOR_FACE, NEXT_ENROLL_FACE, NEXT_VERIFY_FACE
from face_auth.data_access import AuditRepository, EmbeddingRepository
from face_auth.entity import SessionClaims, UserEmbedding
from face_auth.exception import (
    FaceMismatch,
    FaceRejected,
    FactorRequired,
    InvalidInput,
    TooManyAttempts,
)
from face_auth.face_pipeline import (
    EmbeddingResult,
    FaceModels,
    FrameResult,
    PipelineConfig,
    cosine_similarity,
    embed_frames,
)
from face_auth.logger import get_logger, log_event
from face_auth.model_store import WEIGHTS_SHA256
from face_auth.utils import utc_now

logger = get_logger(__name__)

MODEL_NAME = "Facenet"
MODEL_VERSION = f"facenet_keras-128d-sha256:{WEIGHTS_SHA256[:16]}"


@dataclass(frozen=True)
class FacePolicy:
    """The numbers come from Settings (one place for defaults)."""

    frames: int
    enroll_min_frames: int
    verify_min_frames: int
    match_threshold: float
    max_failures: int


@dataclass(frozen=True)
class FaceDecision:
    accepted: bool
    similarity: float | None
    threshold: float | None
    frames_used: int
    frames_required: int
    frames: list[FrameResult]
    issued: IssuedToken | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "accepted": self.accepted,
            "similarity": None if self.similarity is None else round(self.similarity, 4),
            "threshold": self.threshold,
            "frames_used": self.frames_used,
            "frames_required": self.frames_required,
            "frames": [
                {"index": f.index, "accepted": f.accepted, "reason_code": str(f.reason_code),
                 "reason": f.reason}
                for f in self.frames
            ],
        }  # fmt: skip


def _rejection_message(used: int, required: int, frames: list[FrameResult]) -> str:
    reasons = sorted({frame.reason for frame in frames if not frame.accepted})
    because = f" Seen: {', '.join(reasons)}." if reasons else ""
    shown = f"Only {used} of {len(frames)} frames showed one clear face"
    return f"{shown}; {required} are needed.{because}"


class FaceService:
    def __init__(
        self,
        *,
        models: FaceModels,
        pipeline: PipelineConfig,
        policy: FacePolicy,
        embeddings: EmbeddingRepository,
        audit: AuditRepository,
        accounts: AccountService,
        tokens: TokenService,
        observer: AuthObserver | None = None,
    ) -> None:
        self._observer = observer or NullObserver()
        self._models = models
        self._pipeline = pipeline
        self._policy = policy
        self._embeddings = embeddings
        self._audit = audit
        self._accounts = accounts
        self._tokens = tokens

    @property
    def policy(self) -> FacePolicy:
        return self._policy

    def _embed(self, frames: Sequence[bytes], required: int, step: str) -> EmbeddingResult:
        if not 1 <= len(frames) <= self._policy.frames:
            raise InvalidInput(
                {"frames": f"Send between 1 and {self._policy.frames} frames."},
                f"Send {self._policy.frames} camera frames.",
            )
        result = embed_frames(self._models, frames, self._pipeline)
        self._observer.pipeline_timings(result.timings)
        if result.used < required or result.embedding is None:
            self._observer.login_attempt(step, "rejected")
            decision = FaceDecision(False, None, None, result.used, required, result.frames)
            raise FaceRejected(
                decision.as_dict(), _rejection_message(result.used, required, result.frames)
            )
        return result

    def enroll(self, claims: SessionClaims, frames: Sequence[bytes]) -> FaceDecision:
        """Store (or atomically replace) the user's template. Right after the password step only
        when no template exists yet; replacing one needs a full two-factor session."""
        if not claims.is_full and self._embeddings.has_template(claims.sub):
            raise FactorRequired(NEXT_VERIFY_FACE, "Verify your face before enrolling it again.")
        required = self._policy.enroll_min_frames
        result = self._embed(frames, required, "enroll")
        assert result.embedding is not None and result.embeddings is not None
        self._embeddings.replace(
            UserEmbedding(
                user_id=claims.sub,
                template=result.embedding.tolist(),
                embeddings=result.embeddings.tolist(),
                model_name=MODEL_NAME,
                model_version=MODEL_VERSION,
                created_at=utc_now(),
            )
        )
        self._audit.record("face_enrolled", utc_now(), claims.sub, frames_used=result.used)
        log_event(logger, "face_enrolled", user_id=claims.sub, frames_used=result.used)
        self._observer.login_attempt("enroll", "success")
        issued = None if claims.is_full else self._accounts.grant_face_factor(claims)
        return FaceDecision(True, None, None, result.used, required, result.frames, issued)

    def verify(self, claims: SessionClaims, frames: Sequence[bytes]) -> FaceDecision:
        template = self._embeddings.get(claims.sub)
        if template is None:
            raise FactorRequired(NEXT_ENROLL_FACE, "Enroll your face first.")
        required = self._policy.verify_min_frames
        threshold = self._policy.match_threshold
        result = self._embed(frames, required, FACTOR_FACE)
        assert result.embedding is not None
        similarity = cosine_similarity(result.embedding, template.template)
        accepted = similarity >= threshold
        self._observer.face_similarity(similarity)
        self._observer.login_attempt(FACTOR_FACE, "success" if accepted else "mismatch")
        details = {"user_id": claims.sub, "similarity": round(similarity, 3),
                   "frames_used": result.used}  # fmt: skip
        self._audit.record("face_verified" if accepted else "face_mismatch", utc_now(), **details)
        log_event(logger, "face_verified" if accepted else "face_mismatch", **details)
        if not accepted:
            decision = FaceDecision(False, similarity, threshold, result.used, required,
                                    result.frames)  # fmt: skip
            if self._tokens.count_face_failure(claims) >= self._policy.max_failures:
                self._tokens.revoke(claims)
                raise TooManyAttempts()
            raise FaceMismatch(decision.as_dict())
        issued = self._accounts.grant_face_factor(claims)
        return FaceDecision(True, similarity, threshold, result.used, required, result.frames,
                            issued)  # fmt: skip

    def delete(self, claims: SessionClaims) -> bool:
        """Remove the user's biometric data. Needs a full session."""
        self._accounts.require_full_session(claims)
        deleted = self._embeddings.delete(claims.sub)
        self._audit.record("face_deleted", utc_now(), claims.sub)
        log_event(logger, "face_deleted", user_id=claims.sub, deleted=deleted)
        return deleted
