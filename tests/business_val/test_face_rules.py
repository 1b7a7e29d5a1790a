"""The face factor's decisions that need neither HTTP nor the models: the match rule, which
templates may be compared, how many frames a request may carry, and what a refusal holds."""

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from face_auth.business_val.face.match import match
from face_auth.business_val.face.service import (
    MISMATCH_REASON,
    MODEL_VERSION,
    FaceDecision,
    FacePolicy,
    template_usable,
)
from face_auth.entity import UserEmbedding
from face_auth.face_pipeline import EmbeddingResult, FrameResult, ReasonCode
from face_auth.utils import utc_now

POLICY = FacePolicy(
    frames=8,
    enroll_min_frames=5,
    verify_min_frames=3,
    match_threshold=0.7,
    max_failures=3,
    first_enroll_window=timedelta(hours=24),
)


def unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def test_the_same_face_matches() -> None:
    outcome = match(unit(1, 2, 3), unit(1, 2, 3).tolist(), threshold=0.7)
    assert outcome.accepted
    assert outcome.similarity == pytest.approx(1.0)


def test_an_orthogonal_face_does_not_match() -> None:
    outcome = match(unit(1, 0, 0), [0.0, 1.0, 0.0], threshold=0.7)
    assert not outcome.accepted
    assert outcome.similarity == pytest.approx(0.0)


def test_the_threshold_itself_is_a_match() -> None:
    probe = unit(1, 0)
    template = [0.7, float(np.sqrt(1 - 0.49))]
    similarity = match(probe, template, threshold=0.0).similarity
    assert match(probe, template, threshold=similarity).accepted
    assert not match(probe, template, threshold=similarity + 1e-6).accepted


def test_the_match_reports_the_threshold_it_used() -> None:
    assert match(unit(1, 1), [1.0, 1.0], threshold=0.42).threshold == 0.42


def test_a_template_of_another_dimension_is_an_error_not_a_match() -> None:
    with pytest.raises(ValueError, match="shape"):
        match(unit(1, 2, 3), [1.0, 2.0], threshold=0.7)


def template(**changes: object) -> UserEmbedding:
    stored = UserEmbedding(
        user_id="u",
        template=[0.6, 0.8],
        model_name="Facenet",
        model_version=MODEL_VERSION,
        created_at=utc_now(),
    )
    return stored.model_copy(update=changes)


def test_a_current_readable_template_is_compared() -> None:
    assert template_usable(template())


def test_no_template_is_not_usable() -> None:
    assert not template_usable(None)


def test_a_template_of_another_model_version_is_not_compared() -> None:
    assert not template_usable(template(model_version="facenet-older"))


def test_a_template_that_did_not_decrypt_is_not_compared() -> None:
    assert not template_usable(template(template=[], unreadable="wrong_user"))


def test_a_request_carries_at_most_the_larger_of_frames_and_capture_frames() -> None:
    assert POLICY.max_frames == 8
    assert replace(POLICY, capture_frames=12).max_frames == 12
    assert replace(POLICY, capture_frames=4).max_frames == 8


def refused_frames() -> EmbeddingResult:
    frames = [
        FrameResult.reject(0, ReasonCode.NO_FACE),
        FrameResult(index=1, accepted=True, reason_code=ReasonCode.ACCEPTED, reason="ok"),
    ]
    return EmbeddingResult(embedding=None, frames=frames, used=1)


def test_a_refusal_never_carries_a_score() -> None:
    decision = FaceDecision.refused(refused_frames(), required=3, reason=MISMATCH_REASON)
    assert not decision.accepted
    assert decision.similarity is None
    assert decision.threshold is None
    assert decision.issued is None


def test_a_refusal_says_how_many_frames_were_used_and_needed() -> None:
    decision = FaceDecision.refused(refused_frames(), required=3)
    assert (decision.frames_used, decision.frames_required) == (1, 3)
    assert [frame.accepted for frame in decision.frames] == [False, True]
    assert decision.reason is None
    assert decision.liveness is None
