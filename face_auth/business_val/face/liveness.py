"""Liveness rules: the mode, challenges (single-use nonces bound to a session), and the
verdict on a request's frames. docs/liveness.md explains the checks and their thresholds."""

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from face_auth.business_val.observer import AuthObserver, NullObserver
from face_auth.data_access import AuditRepository
from face_auth.data_access.liveness_repository import ChallengeRepository, FrameHashRepository
from face_auth.entity import SessionClaims
from face_auth.exception import ChallengeRefused, ErrorCode
from face_auth.face_pipeline import (
    EmbeddingResult,
    FaceModels,
    PipelineConfig,
    embed_and_judge,
    embed_frames,
)
from face_auth.face_pipeline.liveness import (
    ACTIONS,
    INSTRUCTIONS,
    Action,
    FrameEvidence,
    FrameSignature,
    LivenessConfig,
    LivenessResult,
    evaluate_liveness,
)
from face_auth.logger import get_logger, log_event
from face_auth.utils import utc_now

logger = get_logger(__name__)

NONCE_BYTES = 24
# Frames between two captures of a challenge, and the page's pause before the first.
CAPTURE_INTERVAL_MS = 250


class LivenessMode(StrEnum):
    OFF = "off"
    PASSIVE = "passive"
    CHALLENGE = "challenge"


def parse_actions(text: str) -> tuple[Action, ...]:
    """The comma-separated FACE_AUTH_LIVENESS_ACTIONS; ValueError names a wrong entry."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    known = {action.value: action for action in ACTIONS}
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise ValueError(
            f"FACE_AUTH_LIVENESS_ACTIONS: unknown {unknown or 'empty list'}; "
            f"use some of {', '.join(known)}"
        )
    return tuple(dict.fromkeys(known[name] for name in names))


def frames_per_request(mode: LivenessMode, frames: int, capture_frames: int) -> int:
    """How many frames one enroll or verify request may carry: `frames`, or more
    (`capture_frames`) when a challenge asks for a head movement (some frames are then turned
    away before the `frames` most frontal are embedded)."""
    if mode is LivenessMode.CHALLENGE:
        return max(frames, capture_frames)
    return frames


@dataclass(frozen=True)
class LivenessPolicy:
    """The numbers come from Settings; the thresholds of the checks from LivenessConfig."""

    mode: LivenessMode = LivenessMode.CHALLENGE
    actions: tuple[Action, ...] = ACTIONS
    challenge_lifetime: timedelta = timedelta(seconds=60)
    # 0: the cross-request replay check is off.
    replay_window: timedelta = timedelta(hours=24)
    capture_frames: int = 12
    # Challenges one password session may ask for: the action cannot be re-rolled at will.
    max_challenges: int = 5
    checks: LivenessConfig = field(default_factory=LivenessConfig)

    @property
    def enabled(self) -> bool:
        return self.mode is not LivenessMode.OFF


@dataclass(frozen=True)
class Challenge:
    """What the page needs to run a challenge. ``nonce`` and ``action`` are None when the mode
    asks for none (the page then just captures)."""

    mode: LivenessMode
    nonce: str | None
    action: Action | None
    expires_in: int
    frames: int
    interval_ms: int

    def as_dict(self) -> dict[str, object]:
        return {
            "mode": str(self.mode),
            "nonce": self.nonce,
            "action": None if self.action is None else str(self.action),
            "instruction": INSTRUCTIONS[self.action] if self.action else None,
            "expires_in": self.expires_in,
            "frames": self.frames,
            "interval_ms": self.interval_ms,
        }


def nonce_hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode("utf-8", "surrogatepass")).hexdigest()


class LivenessService:
    def __init__(
        self,
        policy: LivenessPolicy,
        challenges: ChallengeRepository,
        frame_hashes: FrameHashRepository,
        audit: AuditRepository,
        observer: AuthObserver | None = None,
    ) -> None:
        self._policy = policy
        self._challenges = challenges
        self._hashes = frame_hashes
        self._audit = audit
        self._observer = observer or NullObserver()

    @property
    def policy(self) -> LivenessPolicy:
        return self._policy

    def issue(self, claims: SessionClaims) -> Challenge:
        """A new challenge for this session (the caller has checked the session is live)."""
        lifetime = int(self._policy.challenge_lifetime.total_seconds())
        if self._policy.mode is not LivenessMode.CHALLENGE:
            return Challenge(self._policy.mode, None, None, 0, self._policy.capture_frames,
                             CAPTURE_INTERVAL_MS)  # fmt: skip
        nonce = secrets.token_urlsafe(NONCE_BYTES)
        action = secrets.choice(self._policy.actions)
        now = utc_now()
        self._challenges.add(nonce_hash(nonce), claims.jti, claims.sub, str(action), now,
                             now + self._policy.challenge_lifetime)  # fmt: skip
        return Challenge(self._policy.mode, nonce, action, lifetime,
                         self._policy.capture_frames, CAPTURE_INTERVAL_MS)  # fmt: skip

    def redeem(self, claims: SessionClaims, nonce: str | None) -> Action | None:
        """The action the request must show; burns the nonce. None unless in challenge mode
        (a nonce sent then is ignored). Raises ChallengeRefused saying what is wrong."""
        if self._policy.mode is not LivenessMode.CHALLENGE:
            return None
        if not nonce:
            raise ChallengeRefused(
                ErrorCode.CHALLENGE_REQUIRED,
                "A liveness challenge is required: ask for one and send its nonce with the frames.",
            )
        key = nonce_hash(nonce)
        now = utc_now()
        record = self._challenges.redeem(key, claims.jti, now)
        if record is not None and record.action is not None:
            return Action(record.action)
        found = self._challenges.find(key)
        self._observer.security_event("challenge_refused")
        if found is None:
            code = ErrorCode.CHALLENGE_UNKNOWN
            message = "This challenge does not exist or has expired."
        elif found.jti != claims.jti:
            code = ErrorCode.CHALLENGE_NOT_YOURS
            message = "This challenge belongs to another session."
        elif found.used_at is not None:
            code, message = ErrorCode.CHALLENGE_USED, "This challenge was used already."
        else:
            code, message = ErrorCode.CHALLENGE_EXPIRED, "This challenge has expired."
        self._audit.record("challenge_refused", now, claims.sub, code=code)
        raise ChallengeRefused(code, f"{message} Ask for a new one and capture again.")

    def forget(self, user_id: str) -> None:
        """Drop what is remembered of the user's frames (their biometric data is deleted)."""
        self._hashes.delete_for_user(user_id)

    def embed(
        self,
        models: FaceModels,
        pipeline: PipelineConfig,
        frames: Sequence[bytes],
        *,
        user_id: str,
        step: str,
        action: Action | None,
        keep: int,
    ) -> tuple[EmbeddingResult, LivenessResult | None]:
        """The frames' embedding (the ``keep`` most frontal) and, with liveness on, their
        verdict: judged while FaceNet runs (face_pipeline.embed_and_judge)."""
        if not self._policy.enabled:
            return embed_frames(models, frames, pipeline, keep=keep), None
        return embed_and_judge(
            models, frames, pipeline,
            lambda evidence: self.judge(user_id, step, action, evidence), keep=keep,
        )  # fmt: skip

    def judge(
        self, user_id: str, step: str, action: Action | None, evidence: Sequence[FrameEvidence]
    ) -> LivenessResult:
        """Run the checks on a request's frames, record the result (each check with its score)
        in the audit log, and remember the frames' hashes for the replay check."""
        now = utc_now()
        window = self._policy.replay_window
        remembered = self._hashes.recent(user_id, now) if window else []
        seen = [FrameSignature(value, keys) for value, keys in remembered]
        result = evaluate_liveness(evidence, action, seen, self._policy.checks)
        if window:
            mine = [sig for frame in evidence if (sig := frame.signature()) is not None]
            if mine:
                stored = [(sig.phash, sig.keys) for sig in mine]
                self._hashes.add(user_id, stored, now, now + window)
        details = {
            "step": step,
            "mode": str(self._policy.mode),
            "action": None if action is None else str(action),
            "passed": result.passed,
            "reason_code": str(result.code),
            "checks": [check.as_dict() for check in result.checks],
        }
        self._audit.record("liveness_checked", now, user_id, **details)
        log_event(logger, "liveness_checked", user_id=user_id, step=step,
                  passed=result.passed, reason_code=str(result.code))  # fmt: skip
        self._observer.security_event("liveness_passed" if result.passed else "liveness_refused")
        return result
