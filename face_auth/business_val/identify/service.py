"""Identify mode (1:N): a registered kiosk sends the same frames and liveness challenge as a
verification, and learns who it is among the users who opted in, or nobody. The answer holds
a user id and name only: no score, no candidates. Off unless FACE_AUTH_IDENTIFY=on.

The opted-in templates are held decrypted in memory (GalleryIndex) only in identify mode,
loaded at start and reloaded when the gallery's version counter in the database moved, which
every replica checks before each search."""

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np

from face_auth.business_val.accounts.service import AccountService
from face_auth.business_val.face.liveness import (
    Challenge,
    LivenessMode,
    LivenessPolicy,
    LivenessService,
)
from face_auth.business_val.face.service import FaceDecision, FacePolicy, template_usable
from face_auth.business_val.identify.kiosks import KioskRateLimit, KioskService
from face_auth.business_val.identify.rules import (
    Candidates,
    IdentifyPolicy,
    accepts,
    search,
)
from face_auth.business_val.observer import AuthObserver, NullObserver
from face_auth.data_access import AuditRepository, EmbeddingRepository, UserRepository
from face_auth.entity import SessionClaims, UserEmbedding
from face_auth.entity.kiosk import Kiosk
from face_auth.exception import (
    ChallengeRefused,
    ErrorCode,
    FaceAuthError,
    FaceRejected,
    IdentifyConsentNeedsFace,
    InvalidInput,
    LivenessFailed,
)
from face_auth.face_pipeline import EmbeddingResult, FaceModels, PipelineConfig
from face_auth.logger import get_logger, log_event
from face_auth.utils import utc_now

logger = get_logger(__name__)

STEP = "identify"
EMBEDDING_DIMENSIONS = 128


def kiosk_liveness(policy: LivenessPolicy, kiosk_replay_window: timedelta) -> LivenessPolicy:
    """The verify step's liveness, with the kiosk's own replay window: a kiosk's frames are
    remembered per kiosk, and a busy one would otherwise compare each call with a day of
    strangers' frames."""
    window = min(policy.replay_window, kiosk_replay_window)
    return replace(policy, replay_window=window)


def kiosk_principal(kiosk: Kiosk) -> SessionClaims:
    """What the liveness machinery binds a challenge (and remembers frames) to: a session id
    and subject of the kiosk's own, `kiosk:<id>`, which no user session can hold."""
    now = utc_now()
    name = f"kiosk:{kiosk.kiosk_id}"
    return SessionClaims(sub=name, jti=name, iat=now, exp=now, amr=())


@dataclass(frozen=True)
class Gallery:
    """One consistent snapshot of the index: row i of ``matrix`` is ``user_ids[i]``'s
    template."""

    version: int
    user_ids: tuple[str, ...]
    matrix: np.ndarray


class GalleryIndex:
    """The decrypted, usable templates of the users who opted in, as one float32 matrix."""

    def __init__(self, embeddings: EmbeddingRepository) -> None:
        self._embeddings = embeddings
        self._lock = threading.Lock()
        self._gallery = Gallery(-1, (), np.zeros((0, EMBEDDING_DIMENSIONS), np.float32))

    @property
    def size(self) -> int:
        return len(self._gallery.user_ids)

    @property
    def version(self) -> int:
        return self._gallery.version

    def refresh(self) -> Gallery:
        """The current snapshot, brought up to date first when the database's version moved
        (one lookup by _id when it did not): the users changed since are re-read and their
        rows replaced, or everything is reloaded when too many changed (or at start). The
        version is read before the templates, so a change made meanwhile is applied by the
        next search (re-reading a user's current state twice does no harm)."""
        if self._embeddings.gallery_version() == self._gallery.version:
            return self._gallery
        with self._lock:
            gallery = self._gallery
            changes = self._embeddings.gallery_changes(gallery.version)
            if changes.version != gallery.version:
                if changes.users is None:
                    self._gallery = self._load(changes.version)
                else:
                    self._gallery = self._patch(gallery, changes.version, set(changes.users))
            return self._gallery

    def _load(self, version: int) -> Gallery:
        templates = [t for t in self._embeddings.searchable() if template_usable(t)]
        log_event(logger, "identify_index_loaded", version=version, size=len(templates))
        return Gallery(version, tuple(t.user_id for t in templates), _rows(templates))

    def _patch(self, gallery: Gallery, version: int, changed: set[str]) -> Gallery:
        keep = [row for row, user_id in enumerate(gallery.user_ids) if user_id not in changed]
        fresh = [t for t in self._embeddings.searchable(sorted(changed)) if template_usable(t)]
        user_ids = tuple(gallery.user_ids[row] for row in keep) + tuple(t.user_id for t in fresh)
        matrix = np.concatenate([gallery.matrix[keep], _rows(fresh)])
        log_event(logger, "identify_index_patched", version=version, changed=len(changed),
                  size=len(user_ids))  # fmt: skip
        return Gallery(version, user_ids, matrix)


def _rows(templates: list[UserEmbedding]) -> np.ndarray:
    rows = [t.template for t in templates]
    return np.array(rows, dtype=np.float32).reshape(-1, EMBEDDING_DIMENSIONS)


@dataclass(frozen=True)
class IdentifyDecision:
    """The answer a kiosk gets: the user or nobody (frames are reported as in verify, but
    never a score or another candidate)."""

    user_id: str | None
    name: str | None
    outcome: str

    def as_dict(self) -> dict[str, object]:
        if self.user_id is None:
            return {"match": None}
        return {"match": {"user_id": self.user_id, "name": self.name}}


@dataclass(frozen=True)
class IdentifyConsent:
    has_face: bool
    consented_at: datetime | None

    def as_dict(self) -> dict[str, object]:
        return {
            "identify": True,
            "has_face": self.has_face,
            "consent": self.consented_at is not None,
            "consented_at": self.consented_at,
        }


class IdentifyService:
    def __init__(
        self,
        *,
        models: FaceModels,
        pipeline: PipelineConfig,
        face: FacePolicy,
        policy: IdentifyPolicy,
        index: GalleryIndex,
        embeddings: EmbeddingRepository,
        users: UserRepository,
        accounts: AccountService,
        kiosks: KioskService,
        rate_limit: KioskRateLimit,
        liveness: LivenessService,
        audit: AuditRepository,
        observer: AuthObserver | None = None,
    ) -> None:
        self._models = models
        self._pipeline = pipeline
        self._face = face
        self._policy = policy
        self._index = index
        self._embeddings = embeddings
        self._users = users
        self._accounts = accounts
        self._kiosks = kiosks
        self._rate_limit = rate_limit
        self._liveness = liveness
        self._audit = audit
        self._observer = observer or NullObserver()

    @property
    def policy(self) -> IdentifyPolicy:
        return self._policy

    @property
    def max_frames(self) -> int:
        return self._face.max_frames

    # Kiosks.

    def authenticate(self, token: str | None) -> Kiosk:
        return self._kiosks.authenticate(token)

    def challenge(self, kiosk: Kiosk) -> Challenge:
        """A liveness challenge for this kiosk's next identify call (counts in its rate)."""
        self._rate_limit.take(kiosk)
        return self._liveness.issue(kiosk_principal(kiosk))

    def admit(self, kiosk: Kiosk) -> None:
        """Before the upload is read: the kiosk's rate. A refusal is audited like a call."""
        try:
            self._rate_limit.take(kiosk)
        except FaceAuthError as error:
            self._report(kiosk, str(error.code), None)
            raise

    def identify(
        self, kiosk: Kiosk, frames: Sequence[bytes], nonce: str | None = None
    ) -> IdentifyDecision:
        """Who, among the opted-in users, these frames show; every call is audited (kiosk,
        outcome, user) and counted."""
        try:
            decision = self._identify(kiosk, frames, nonce)
        except FaceAuthError as error:
            self._report(kiosk, str(error.code), None)
            raise
        self._report(kiosk, decision.outcome, decision.user_id)
        return decision

    # Users' consent.

    def consent(self, claims: SessionClaims) -> IdentifyConsent:
        self._accounts.require_full_session(claims)
        template = self._embeddings.get(claims.sub)
        consented = self._embeddings.identify_consent(claims.sub)
        return IdentifyConsent(template_usable(template), consented)

    def set_consent(self, claims: SessionClaims, consent: bool) -> IdentifyConsent:
        """Let kiosks recognise this user, or stop them (at once on every replica: the
        gallery's version moves). Opting in needs a usable face template."""
        self._accounts.require_full_session(claims)
        if consent:
            if not template_usable(self._embeddings.get(claims.sub)):
                raise IdentifyConsentNeedsFace()
            self._embeddings.set_identify_consent(claims.sub, utc_now())
        else:
            self._embeddings.set_identify_consent(claims.sub, None)
        event = "identify_consent_given" if consent else "identify_consent_withdrawn"
        self._audit.record(event, utc_now(), claims.sub)
        log_event(logger, event, user_id=claims.sub)
        return self.consent(claims)

    # The rules behind identify.

    def _identify(
        self, kiosk: Kiosk, frames: Sequence[bytes], nonce: str | None
    ) -> IdentifyDecision:
        result = self._embed(kiosk, frames, nonce)
        assert result.embedding is not None
        started = time.perf_counter()
        gallery = self._index.refresh()
        candidates = search(gallery.matrix, result.embedding)
        self._observer.pipeline_timings({"identify_search": time.perf_counter() - started})
        threshold = self._policy.threshold(len(gallery.user_ids))
        if candidates is None or not accepts(candidates, threshold, self._policy.margin):
            return self._nobody(kiosk, "no_match", candidates)
        user_id = gallery.user_ids[candidates.best_row]
        user = self._users.get_by_id(user_id)
        if user is None or user.locked_at is not None:
            return self._nobody(kiosk, "account_unavailable", candidates)
        self._log_scores(kiosk, "match", candidates, user_id)
        return IdentifyDecision(user_id, user.name, "match")

    def _nobody(
        self, kiosk: Kiosk, outcome: str, candidates: Candidates | None
    ) -> IdentifyDecision:
        self._log_scores(kiosk, outcome, candidates, None)
        return IdentifyDecision(None, None, outcome)

    def _log_scores(
        self, kiosk: Kiosk, outcome: str, candidates: Candidates | None, user_id: str | None
    ) -> None:
        """The scores go to the logs only (at debug level), never to the kiosk."""
        if candidates is not None:
            log_event(logger, "identify_scores", logging.DEBUG, kiosk=kiosk.kiosk_id,
                      outcome=outcome, user_id=user_id, best=round(candidates.best, 3),
                      second=round(candidates.second, 3))  # fmt: skip

    def _embed(self, kiosk: Kiosk, frames: Sequence[bytes], nonce: str | None) -> EmbeddingResult:
        """The verify step's frames and liveness: burn the challenge nonce, embed the most
        frontal accepted frames, judge them; refuse too few usable frames."""
        most = self._face.max_frames
        if not 1 <= len(frames) <= most:
            raise InvalidInput(
                {"frames": f"Send between 1 and {most} frames."},
                f"Send {self._face.frames} to {most} camera frames.",
            )
        principal = kiosk_principal(kiosk)
        live = self._liveness.policy.enabled
        if self._liveness.policy.mode is LivenessMode.CHALLENGE and not nonce:
            raise ChallengeRefused(
                ErrorCode.CHALLENGE_REQUIRED,
                "A liveness challenge is required: ask for one and send its nonce with the frames.",
            )
        action = self._liveness.redeem(principal, nonce) if live else None
        result, verdict = self._liveness.embed(self._models, self._pipeline, frames,
                                               user_id=principal.sub, step=STEP, action=action,
                                               keep=self._face.frames)  # fmt: skip
        self._observer.pipeline_timings(result.timings)
        required = self._face.verify_min_frames
        if verdict is not None and not verdict.passed:
            decision = FaceDecision.refused(result, required, liveness=verdict)
            raise LivenessFailed(decision, verdict.message)
        if result.used < required or result.embedding is None:
            decision = FaceDecision.refused(result, required)
            raise FaceRejected(
                decision,
                f"Only {result.used} of {len(frames)} frames showed one clear face; "
                f"{required} are needed.",
            )
        return result

    def _report(self, kiosk: Kiosk, outcome: str, user_id: str | None) -> None:
        self._audit.record("identify", utc_now(), user_id, kiosk=kiosk.kiosk_id, outcome=outcome)
        log_event(logger, "identify", kiosk=kiosk.kiosk_id, outcome=outcome, user_id=user_id)
        self._observer.login_attempt(STEP, outcome)
