"""The face factor's rules: who may enroll or verify, how many tries a session and an account
get, how many frames must pass, the decision. docs/security.md explains the numbers."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from face_auth.business_val.accounts.service import AccountService
from face_auth.business_val.face.attempts import FaceAttemptLimiter
from face_auth.business_val.face.liveness import Challenge, LivenessMode, LivenessService
from face_auth.business_val.face.match import match
from face_auth.business_val.face.one_time_codes import OneTimeCodes
from face_auth.business_val.observer import AuthObserver, NullObserver
from face_auth.business_val.sessions.tokens import IssuedToken, TokenService
from face_auth.constant import FACTOR_FACE, NEXT_ENROLL_FACE, NEXT_VERIFY_FACE
from face_auth.data_access import (
    AuditRepository,
    EmbeddingRepository,
    SessionRepository,
    UserRepository,
)
from face_auth.entity import SessionClaims, SessionFaceState, UserEmbedding
from face_auth.exception import (
    ChallengesSpent,
    EnrollmentCodeRequired,
    FaceMismatch,
    FaceRejected,
    FactorRequired,
    InvalidCode,
    InvalidInput,
    InvalidToken,
    LivenessFailed,
    TemplateOutdated,
    TooManyAttempts,
)
from face_auth.face_pipeline import (
    EmbeddingResult,
    FaceModels,
    FrameResult,
    PipelineConfig,
)
from face_auth.face_pipeline.liveness import LivenessResult
from face_auth.logger import get_logger, log_event
from face_auth.model_store import WEIGHTS_SHA256
from face_auth.utils import utc_now

logger = get_logger(__name__)

MODEL_NAME = "Facenet"
# Stored with every template and checked before a comparison: change it whenever the weights or
# the preprocessing change what an embedding means, and older templates ask to enroll again.
MODEL_VERSION = f"facenet_keras-128d-sha256:{WEIGHTS_SHA256[:16]}"

MISMATCH_REASON = "did not match"

UNREADABLE_TEMPLATE_MESSAGE = (
    "Your face template cannot be used any more. Enroll your face again (a recovery code lets "
    "you do so)."
)

# How a session may put a face on the account.
VIA_FULL_SESSION = "full_session"
VIA_FIRST_ENROLLMENT = "first_enrollment"


@dataclass(frozen=True)
class FacePolicy:
    """The numbers come from Settings (one place for defaults)."""

    frames: int
    enroll_min_frames: int
    verify_min_frames: int
    match_threshold: float
    # Face tries (comparisons and code entries) per password login.
    max_failures: int
    # After registration, how long the first enrollment needs only the password.
    first_enroll_window: timedelta
    # Frames a request may carry (a liveness challenge sends more); the `frames` most frontal
    # accepted ones are embedded. 0: the same as `frames`.
    capture_frames: int = 0

    @property
    def max_frames(self) -> int:
        return max(self.frames, self.capture_frames)

    def session_spent(self, attempts: int) -> bool:
        """The limit on one password session's face tries (comparisons, liveness refusals,
        code entries): spent once `max_failures` have been taken."""
        return attempts >= self.max_failures

    def tries_left(self, attempts: int) -> int:
        return max(0, self.max_failures - attempts)


@dataclass(frozen=True)
class FaceDecision:
    """The outcome of an enrollment or verification. A refusal says why (per frame, "did not
    match", or the liveness verdict), never the score: with retries, a score would guide a
    search for a better image. controller/schemas shapes it as JSON."""

    accepted: bool
    similarity: float | None
    threshold: float | None
    frames_used: int
    frames_required: int
    frames: list[FrameResult]
    issued: IssuedToken | None = None
    recovery_codes: list[str] | None = None
    reason: str | None = None
    liveness: LivenessResult | None = None

    @classmethod
    def refused(
        cls,
        result: EmbeddingResult,
        required: int,
        reason: str | None = None,
        liveness: LivenessResult | None = None,
    ) -> "FaceDecision":
        return cls(
            accepted=False,
            similarity=None,
            threshold=None,
            frames_used=result.used,
            frames_required=required,
            frames=result.frames,
            reason=reason,
            liveness=liveness,
        )


@dataclass(frozen=True)
class FaceStatus:
    """What the pages and GET /api/v1/face show about the face factor of an account."""

    has_template: bool
    template_current: bool
    recovery_codes_left: int
    # Until then the first enrollment needs only the password (None: that is over).
    first_enrollment_until: datetime | None
    enrollment_authorized: bool
    held_until: datetime | None
    attempts_left: int

    def as_dict(self) -> dict[str, object]:
        return {
            "has_template": self.has_template,
            "template_current": self.template_current,
            "recovery_codes_left": self.recovery_codes_left,
            "first_enrollment_until": self.first_enrollment_until,
            "enrollment_authorized": self.enrollment_authorized,
            "held_until": self.held_until,
            "attempts_left": self.attempts_left,
        }


def template_usable(template: UserEmbedding | None) -> bool:
    """Only a template that decrypted for this account and was made by the current model
    version is ever compared."""
    return template is not None and template.readable and template.model_version == MODEL_VERSION


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
        users: UserRepository,
        sessions: SessionRepository,
        audit: AuditRepository,
        accounts: AccountService,
        tokens: TokenService,
        limiter: FaceAttemptLimiter,
        codes: OneTimeCodes,
        liveness: LivenessService,
        observer: AuthObserver | None = None,
    ) -> None:
        self._observer = observer or NullObserver()
        self._liveness = liveness
        self._models = models
        self._pipeline = pipeline
        self._policy = policy
        self._embeddings = embeddings
        self._users = users
        self._sessions = sessions
        self._audit = audit
        self._accounts = accounts
        self._tokens = tokens
        self._limiter = limiter
        self._codes = codes

    @property
    def policy(self) -> FacePolicy:
        return self._policy

    # Admission: cheap checks that run before the upload is read.

    def admit_enroll(self, claims: SessionClaims) -> str:
        """Raise unless this session may enroll now; returns how it may (see VIA_*)."""
        return self._enroll_access(claims, self._live_state(claims))

    def admit_verify(self, claims: SessionClaims) -> UserEmbedding:
        """Raise unless this session may attempt a verification now; returns the template
        (read and decrypted here, once, for the verification that follows)."""
        self._live_state(claims)
        self._limiter.check(claims.sub)
        return self._current_template(claims.sub)

    def challenge(self, claims: SessionClaims) -> Challenge:
        """A liveness challenge for this live session (with neither nonce nor action unless
        the mode is challenge)."""
        self._live_state(claims)
        policy = self._liveness.policy
        if policy.mode is LivenessMode.CHALLENGE:
            taken = self._sessions.reserve_challenge(claims.jti, utc_now(), policy.max_challenges)
            if taken is None:
                self._observer.security_event("challenges_spent")
                self._audit.record("challenges_spent", utc_now(), claims.sub)
                self._tokens.revoke(claims)
                raise ChallengesSpent()
        return self._liveness.issue(claims)

    # The steps.

    def enroll(
        self, claims: SessionClaims, frames: Sequence[bytes], nonce: str | None = None
    ) -> FaceDecision:
        """Store (or atomically replace) the user's template, if this session may (see
        _enroll_access). A password-only session is upgraded to a full one; the account's first
        enrollment also returns its recovery codes, shown once."""
        via = self._enroll_access(claims, self._live_state(claims))
        required = self._policy.enroll_min_frames
        result = self._embed(frames, required, "enroll", claims, nonce)
        assert result.embedding is not None and result.embeddings is not None
        # The session is ended (or, if full, re-checked) before the template is written, so a
        # session revoked meanwhile puts no face on the account.
        issued = self._upgrade_or_recheck(claims)
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
        codes = self._codes.issue_first(claims.sub)
        self._audit.record("face_enrolled", utc_now(), claims.sub, frames_used=result.used,
                           via=via)  # fmt: skip
        log_event(logger, "face_enrolled", user_id=claims.sub, frames_used=result.used, via=via)
        self._observer.login_attempt("enroll", "success")
        return FaceDecision(
            accepted=True,
            similarity=None,
            threshold=None,
            frames_used=result.used,
            frames_required=required,
            frames=result.frames,
            issued=issued,
            recovery_codes=codes,
        )

    def verify(
        self,
        claims: SessionClaims,
        frames: Sequence[bytes],
        nonce: str | None = None,
        template: UserEmbedding | None = None,
    ) -> FaceDecision:
        """Compare with the template (the one admit_verify returned, or read now). The attempt
        is reserved on the session and on the account before the comparison, and a match is
        granted only while the session is still live."""
        self._live_state(claims)  # again: things may have changed during the upload
        self._limiter.check(claims.sub)
        if template is None:
            template = self._current_template(claims.sub)
        required = self._policy.verify_min_frames
        result = self._embed(frames, required, FACTOR_FACE, claims, nonce)
        assert result.embedding is not None
        attempt = self._reserve_session_attempt(claims)
        counted = self._limiter.reserve(claims.sub)
        outcome = match(result.embedding, template.template, self._policy.match_threshold)
        self._report_comparison(claims, outcome.accepted, outcome.similarity, result.used,
                                attempt, counted.failures)  # fmt: skip
        if outcome.accepted:
            issued = self._accounts.grant_face_factor(claims)
            self._limiter.matched(claims.sub)
            return FaceDecision(
                accepted=True,
                similarity=outcome.similarity,
                threshold=outcome.threshold,
                frames_used=result.used,
                frames_required=required,
                frames=result.frames,
                issued=issued,
            )
        self._limiter.failed(claims.sub, counted)
        self._end_if_spent(claims, attempt)
        raise FaceMismatch(FaceDecision.refused(result, required, reason=MISMATCH_REASON))

    def redeem_code(self, claims: SessionClaims, code: str) -> str:
        """A recovery code or an administrator's enrollment code lets this password-only session
        enroll a face (replacing any template). The code is burnt. A wrong code spends one of
        the session's face tries and counts in the account's face hold (one hold rule for
        faces and codes, NIST SP 800-63B 5.2.2): it is reserved before the code is looked at,
        and only a right code (or a face match) resets it."""
        if claims.is_full:
            raise InvalidInput(
                {"code": "Not needed: you are signed in with both factors."},
                "You can enroll a new face directly.",
            )
        self._live_state(claims)
        self._limiter.check(claims.sub)
        attempt = self._reserve_session_attempt(claims)
        counted = self._limiter.reserve(claims.sub)
        via = self._codes.use(claims.sub, code)
        if via is None:
            self._limiter.failed(claims.sub, counted)
            self._end_if_spent(claims, attempt)
            raise InvalidCode()
        self._limiter.matched(claims.sub)
        if not self._sessions.authorize_enrollment(claims.jti, via, utc_now()):
            raise InvalidToken()
        return via

    def regenerate_codes(self, claims: SessionClaims) -> list[str]:
        """A new set of recovery codes (the old ones stop working). Needs a recent sign-in."""
        self._accounts.require_recent_auth(claims)
        return self._codes.regenerate(claims.sub)

    def status(self, claims: SessionClaims) -> FaceStatus:
        template = self._embeddings.get(claims.sub)
        codes = self._codes.status(claims.sub)
        state = self._sessions.face_state(claims.jti, utc_now()) or SessionFaceState()
        return FaceStatus(
            has_template=template is not None,
            template_current=template_usable(template),
            recovery_codes_left=codes.recovery_codes_left,
            first_enrollment_until=self._first_enrollment_until(claims.sub, template),
            enrollment_authorized=state.enrollment_authorized_by is not None,
            held_until=self._limiter.held_until(claims.sub),
            attempts_left=self._policy.tries_left(state.face_attempts),
        )

    def delete(self, claims: SessionClaims) -> bool:
        """Remove the user's biometric data and shred its data key. Needs a recent sign-in."""
        self._accounts.require_recent_auth(claims)
        deleted = self._embeddings.delete(claims.sub)
        self._liveness.forget(claims.sub)
        # Applications were told "password and face": their tokens end with the face.
        self._tokens.end_delegations(claims.sub)
        self._audit.record("face_deleted", utc_now(), claims.sub)
        log_event(logger, "face_deleted", user_id=claims.sub, deleted=deleted)
        return deleted

    # The rules behind the steps.

    def _enroll_access(self, claims: SessionClaims, state: SessionFaceState) -> str:
        """Only the owner puts a face on the account: a full session, a session a one-time code
        was used for, or the password alone for the first enrollment soon after registering.
        A full session re-enrolls only within the recent-auth window (else: step up)."""
        if claims.is_full:
            self._accounts.require_recent_auth(claims)
            return VIA_FULL_SESSION
        if state.enrollment_authorized_by is not None:
            return state.enrollment_authorized_by
        template = self._embeddings.get(claims.sub)
        if template_usable(template):
            raise FactorRequired(NEXT_VERIFY_FACE, "Verify your face before enrolling it again.")
        if self._first_enrollment_until(claims.sub, template) is not None:
            return VIA_FIRST_ENROLLMENT
        self._audit.record("enrollment_refused", utc_now(), claims.sub)
        self._observer.security_event("enrollment_refused")
        raise EnrollmentCodeRequired()

    def _first_enrollment_until(
        self, user_id: str, template: UserEmbedding | None
    ) -> datetime | None:
        """When the password-only first enrollment closes, or None if it is not open: the
        account has (or had) a face, or registered longer ago than the window."""
        if template is not None or self._codes.status(user_id).recovery_codes_issued_at:
            return None
        user = self._users.get_by_id(user_id)
        closes = user.created_at + self._policy.first_enroll_window if user else None
        return closes if closes and closes > utc_now() else None

    def _live_state(self, claims: SessionClaims) -> SessionFaceState:
        """The session's face state; refuses a session revoked meanwhile or out of tries."""
        state = self._sessions.face_state(claims.jti, utc_now())
        if state is None:
            raise InvalidToken()
        if self._policy.session_spent(state.face_attempts) and not claims.is_full:
            self._tokens.revoke(claims)
            raise TooManyAttempts()
        return state

    def _current_template(self, user_id: str) -> UserEmbedding:
        template = self._embeddings.get(user_id)
        if template is None:
            raise FactorRequired(NEXT_ENROLL_FACE, "Enroll your face first.")
        if not template.readable:
            self._refuse_unreadable(template)
        if template.model_version != MODEL_VERSION:
            self._observer.login_attempt(FACTOR_FACE, "outdated_template")
            raise TemplateOutdated()
        return template

    def _refuse_unreadable(self, template: UserEmbedding) -> None:
        """A template that does not decrypt for this account (copied from another account,
        tampered with, its data key gone) is refused like one from another model version."""
        self._audit.record("template_unreadable", utc_now(), template.user_id,
                           reason=template.unreadable)  # fmt: skip
        log_event(logger, "template_unreadable", logging.WARNING, user_id=template.user_id,
                  reason=template.unreadable)  # fmt: skip
        self._observer.login_attempt(FACTOR_FACE, "unreadable_template")
        self._observer.security_event("template_unreadable")
        raise TemplateOutdated(UNREADABLE_TEMPLATE_MESSAGE)

    def _liveness_refused(
        self, claims: SessionClaims, step: str, result: EmbeddingResult, required: int,
        verdict: LivenessResult,
    ) -> None:  # fmt: skip
        """Count the refusal as a failed face attempt (on the session; on verification also on
        the account), then raise LivenessFailed (or TooManyAttempts once the tries are spent)."""
        self._observer.login_attempt(step, "liveness_refused")
        attempt = self._reserve_session_attempt(claims)
        if step == FACTOR_FACE:
            self._limiter.failed(claims.sub, self._limiter.reserve(claims.sub))
        self._end_if_spent(claims, attempt)
        decision = FaceDecision.refused(result, required, liveness=verdict)
        raise LivenessFailed(decision, verdict.message)

    def _reserve_session_attempt(self, claims: SessionClaims) -> int:
        attempt = self._sessions.reserve_face_attempt(
            claims.jti, utc_now(), self._policy.max_failures
        )
        if attempt is None:
            self._observer.login_attempt(FACTOR_FACE, "spent")
            self._tokens.revoke(claims)
            raise TooManyAttempts()
        return attempt

    def _end_if_spent(self, claims: SessionClaims, attempt: int) -> None:
        if self._policy.session_spent(attempt):
            self._tokens.revoke(claims)
            self._audit.record("face_session_spent", utc_now(), claims.sub)
            raise TooManyAttempts()

    def _upgrade_or_recheck(self, claims: SessionClaims) -> IssuedToken | None:
        if not claims.is_full:
            return self._accounts.grant_face_factor(claims)
        if self._sessions.face_state(claims.jti, utc_now()) is None:
            raise InvalidToken()
        return None

    def _report_comparison(
        self, claims: SessionClaims, accepted: bool, similarity: float, frames_used: int,
        attempt: int, account_failures: int,
    ) -> None:  # fmt: skip
        """The score goes to the audit log, the logs and the histogram only."""
        self._observer.face_similarity(similarity)
        self._observer.login_attempt(FACTOR_FACE, "success" if accepted else "mismatch")
        event = "face_verified" if accepted else "face_mismatch"
        details = {"user_id": claims.sub, "similarity": round(similarity, 3),
                   "frames_used": frames_used, "session_attempt": attempt,
                   "account_failures": 0 if accepted else account_failures}  # fmt: skip
        self._audit.record(event, utc_now(), **details)
        log_event(logger, event, **details)

    def _embed(
        self, frames: Sequence[bytes], required: int, step: str, claims: SessionClaims,
        nonce: str | None,
    ) -> EmbeddingResult:  # fmt: skip
        """Embed the most frontal accepted frames; with liveness on, first burn the challenge
        nonce and judge the frames (a refusal counts as a failed face attempt)."""
        most = self._policy.max_frames
        if not 1 <= len(frames) <= most:
            raise InvalidInput(
                {"frames": f"Send between 1 and {most} frames."},
                f"Send {self._policy.frames} to {most} camera frames.",
            )
        live = self._liveness.policy.enabled
        action = self._liveness.redeem(claims, nonce) if live else None
        result, verdict = self._liveness.embed(self._models, self._pipeline, frames,
                                               user_id=claims.sub, step=step, action=action,
                                               keep=self._policy.frames)  # fmt: skip
        self._observer.pipeline_timings(result.timings)
        if verdict is not None and not verdict.passed:
            self._liveness_refused(claims, step, result, required, verdict)
        if result.used < required or result.embedding is None:
            self._observer.login_attempt(step, "rejected")
            raise FaceRejected(
                FaceDecision.refused(result, required),
                _rejection_message(result.used, required, result.frames),
            )
        return result
