"""Liveness rules without HTTP or the models: the configured actions, the mode, how many
frames a request may carry, and challenges (single use, bound to a session) on the real
database."""

from datetime import timedelta

import pytest

from face_auth.business_val.face.liveness import (
    CAPTURE_INTERVAL_MS,
    LivenessMode,
    LivenessPolicy,
    LivenessService,
    frames_per_request,
    nonce_hash,
    parse_actions,
)
from face_auth.data_access import AuditRepository, Database
from face_auth.data_access.liveness_repository import ChallengeRepository, FrameHashRepository
from face_auth.entity import SessionClaims
from face_auth.exception import ChallengeRefused, ErrorCode
from face_auth.face_pipeline.liveness import ACTIONS, Action
from face_auth.utils import utc_now


def test_actions_are_read_from_a_comma_separated_list() -> None:
    assert parse_actions("turn_left, look_up") == (Action.TURN_LEFT, Action.LOOK_UP)


def test_repeated_actions_are_kept_once_in_order() -> None:
    assert parse_actions("look_up,turn_left,look_up") == (Action.LOOK_UP, Action.TURN_LEFT)


@pytest.mark.parametrize("text", ["", " , ", "turn_left,jump", "TURN_LEFT"])
def test_an_unknown_or_empty_action_list_is_refused_by_name(text: str) -> None:
    with pytest.raises(ValueError, match="FACE_AUTH_LIVENESS_ACTIONS"):
        parse_actions(text)


def test_every_action_is_allowed_by_default() -> None:
    assert LivenessPolicy().actions == ACTIONS


@pytest.mark.parametrize(
    ("mode", "enabled"),
    [(LivenessMode.OFF, False), (LivenessMode.PASSIVE, True), (LivenessMode.CHALLENGE, True)],
)
def test_only_off_disables_the_checks(mode: LivenessMode, enabled: bool) -> None:
    assert LivenessPolicy(mode=mode).enabled is enabled


@pytest.mark.parametrize(
    ("mode", "allowed"),
    [(LivenessMode.OFF, 8), (LivenessMode.PASSIVE, 8), (LivenessMode.CHALLENGE, 12)],
)
def test_only_a_challenge_lets_a_request_carry_more_frames(
    mode: LivenessMode, allowed: int
) -> None:
    assert frames_per_request(mode, frames=8, capture_frames=12) == allowed


def test_a_challenge_never_lowers_the_frames_a_request_may_carry() -> None:
    assert frames_per_request(LivenessMode.CHALLENGE, frames=8, capture_frames=4) == 8


def test_a_nonce_is_stored_as_its_hash() -> None:
    assert nonce_hash("abc") == nonce_hash("abc")
    assert nonce_hash("abc") != nonce_hash("abd")
    assert "abc" not in nonce_hash("abc")


def claims(jti: str = "session-1", sub: str = "user-1") -> SessionClaims:
    now = utc_now()
    return SessionClaims(sub=sub, jti=jti, iat=now, exp=now + timedelta(minutes=5), amr=("pwd",))


def service(database: Database, mode: LivenessMode, **policy: object) -> LivenessService:
    return LivenessService(
        LivenessPolicy(mode=mode, **policy),  # type: ignore[arg-type]
        ChallengeRepository(database),
        FrameHashRepository(database),
        AuditRepository(database),
    )


def test_a_challenge_names_one_allowed_action(database: Database) -> None:
    live = service(database, LivenessMode.CHALLENGE, actions=(Action.LOOK_UP,))
    issued = live.issue(claims())
    assert issued.nonce
    assert issued.action is Action.LOOK_UP
    assert issued.expires_in == 60
    assert issued.interval_ms == CAPTURE_INTERVAL_MS


def test_passive_mode_issues_no_nonce(database: Database) -> None:
    issued = service(database, LivenessMode.PASSIVE).issue(claims())
    assert (issued.nonce, issued.action, issued.expires_in) == (None, None, 0)


def test_a_challenge_is_redeemed_once_for_its_action(database: Database) -> None:
    live = service(database, LivenessMode.CHALLENGE, actions=(Action.TURN_RIGHT,))
    issued = live.issue(claims())
    assert live.redeem(claims(), issued.nonce) is Action.TURN_RIGHT
    with pytest.raises(ChallengeRefused) as again:
        live.redeem(claims(), issued.nonce)
    assert again.value.code == ErrorCode.CHALLENGE_USED


def test_a_challenge_is_required_in_challenge_mode(database: Database) -> None:
    with pytest.raises(ChallengeRefused) as refused:
        service(database, LivenessMode.CHALLENGE).redeem(claims(), None)
    assert refused.value.code == ErrorCode.CHALLENGE_REQUIRED
    assert "/api/" not in refused.value.message  # the rules name no URL


def test_an_unknown_nonce_is_refused(database: Database) -> None:
    with pytest.raises(ChallengeRefused) as refused:
        service(database, LivenessMode.CHALLENGE).redeem(claims(), "made-up")
    assert refused.value.code == ErrorCode.CHALLENGE_UNKNOWN


def test_another_sessions_challenge_is_refused(database: Database) -> None:
    live = service(database, LivenessMode.CHALLENGE)
    issued = live.issue(claims(jti="session-a"))
    with pytest.raises(ChallengeRefused) as refused:
        live.redeem(claims(jti="session-b"), issued.nonce)
    assert refused.value.code == ErrorCode.CHALLENGE_NOT_YOURS


def test_an_expired_challenge_is_refused(database: Database) -> None:
    live = service(database, LivenessMode.CHALLENGE, challenge_lifetime=timedelta(seconds=-1))
    issued = live.issue(claims())
    with pytest.raises(ChallengeRefused) as refused:
        live.redeem(claims(), issued.nonce)
    assert refused.value.code in (ErrorCode.CHALLENGE_EXPIRED, ErrorCode.CHALLENGE_UNKNOWN)


@pytest.mark.parametrize("mode", [LivenessMode.OFF, LivenessMode.PASSIVE])
def test_without_challenges_a_nonce_is_ignored(database: Database, mode: LivenessMode) -> None:
    assert service(database, mode).redeem(claims(), "anything") is None
