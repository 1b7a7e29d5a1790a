"""The liveness checks on synthetic landmarks: a 3D face turning (parallax) against a picture
moved as a plane, repeated frames, replayed frames. Pure numpy: no models, fast."""

from dataclasses import replace

import cv2
import numpy as np
import pytest

from face_auth.face_pipeline.landmarks import (
    CHIN,
    FOREHEAD,
    LANDMARK_COUNT,
    LEFT_CHEEK,
    NOSE_TIP,
    RIGHT_CHEEK,
    FaceLandmarks,
)
from face_auth.face_pipeline.liveness import (
    Action,
    FrameEvidence,
    LivenessCode,
    LivenessConfig,
    check_challenge,
    check_flat,
    check_repeats,
    evaluate_liveness,
    flatness,
    head_pose,
    perceptual_hash,
)
from face_auth_tools.synthetic import jpeg_bytes, rotation
from tests.pipeline.helpers import gradient_image

CONFIG = LivenessConfig()
CENTRE = np.array([320.0, 240.0, 0.0])
SCALE = 90.0


def face_mesh(seed: int = 0) -> np.ndarray:
    """468 points on the front of an ellipsoid (x right, y down, z away from the camera), with
    the nose, forehead, chin and cheeks where the mesh indices expect them."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-0.9, 0.9, LANDMARK_COUNT)
    y = rng.uniform(-1.0, 1.0, LANDMARK_COUNT)
    z = -0.5 * np.sqrt(np.clip(1 - x**2 - (y / 1.2) ** 2, 0, 1))
    points = np.stack([x, y, z], axis=1)
    points[NOSE_TIP] = (0.0, 0.15, -0.85)
    points[FOREHEAD] = (0.0, -1.0, -0.3)
    points[CHIN] = (0.0, 1.05, -0.3)
    points[RIGHT_CHEEK] = (-1.0, 0.0, 0.0)
    points[LEFT_CHEEK] = (1.0, 0.0, 0.0)
    return points * SCALE


def view(mesh: np.ndarray, action: Action, degrees: float) -> FaceLandmarks:
    """The mesh turned by ``degrees`` for ``action``, seen by an orthographic camera."""
    return FaceLandmarks(points=mesh @ rotation(action, degrees).T + CENTRE, presence=1.0)


def turning(action: Action, peak: float = 20.0, frames: int = 12) -> list[FrameEvidence]:
    mesh = face_mesh()
    angles = [0.0, 0.3, *np.linspace(3, peak, frames - 2)]
    return [
        FrameEvidence(i, 1000 + i, view(mesh, action, a), digest=str(i))
        for i, a in enumerate(angles)
    ]


def as_plane(landmarks: FaceLandmarks, matrix: np.ndarray) -> FaceLandmarks:
    moved = cv2.perspectiveTransform(landmarks.xy.reshape(-1, 1, 2), matrix).reshape(-1, 2)
    return FaceLandmarks(points=np.hstack([moved, landmarks.points[:, 2:]]), presence=1.0)


def print_moved(frames: int = 12) -> list[FrameEvidence]:
    """A photo of the frontal face, tilted a little more in every frame (a homography)."""
    frontal = view(face_mesh(), Action.TURN_LEFT, 0.0)
    evidence = []
    for i in range(frames):
        tilt = 0.0004 * i
        matrix = np.array([[1.0 - 0.01 * i, 0.02 * i, 3.0 * i], [0.0, 1.0, 1.5 * i], [tilt, 0, 1]])
        evidence.append(FrameEvidence(i, 2000 + i, as_plane(frontal, matrix), digest=str(i)))
    return evidence


@pytest.mark.parametrize("action", list(Action))
def test_the_asked_head_movement_passes_and_the_others_do_not(action: Action) -> None:
    frames = turning(action)
    assert check_challenge(frames, action, CONFIG).passed
    for other in Action:
        if other is not action:
            assert not check_challenge(frames, other, CONFIG).passed, other


def test_pose_signs_follow_the_person() -> None:
    mesh = face_mesh()
    yaw_left, _ = head_pose(view(mesh, Action.TURN_LEFT, 20))
    yaw_right, _ = head_pose(view(mesh, Action.TURN_RIGHT, 20))
    _, pitch_up = head_pose(view(mesh, Action.LOOK_UP, 20))
    _, pitch_down = head_pose(view(mesh, Action.LOOK_DOWN, 20))
    yaw_0, pitch_0 = head_pose(view(mesh, Action.TURN_LEFT, 0))
    assert yaw_left > yaw_0 > yaw_right
    assert pitch_up > pitch_0 > pitch_down


def test_a_turning_head_is_not_flat_but_a_moved_picture_is() -> None:
    head = turning(Action.TURN_LEFT)
    picture = print_moved()
    assert flatness(head) > CONFIG.min_flat_residual
    assert flatness(picture) < CONFIG.min_flat_residual / 10
    assert check_flat(head, Action.TURN_LEFT, CONFIG).passed
    result = check_flat(picture, Action.TURN_LEFT, CONFIG)
    assert not result.passed and result.score is not None


def test_one_jittery_frame_is_neither_a_turn_nor_parallax() -> None:
    """On a hard photo the landmark model may put out one frame that looks turned: the turn and
    the residual must be held by ``sustained_frames`` (2) frames."""
    mesh = face_mesh()
    frames = [FrameEvidence(i, 3000 + i, view(mesh, Action.TURN_LEFT, 0.2 * (i % 2)),
                            digest=str(i)) for i in range(12)]  # fmt: skip
    frames[7] = FrameEvidence(7, 3007, view(mesh, Action.TURN_LEFT, 20.0), digest="7")
    once = replace(CONFIG, sustained_frames=1)
    assert check_challenge(frames, Action.TURN_LEFT, once).passed
    assert check_flat(frames, Action.TURN_LEFT, once).passed
    assert not check_challenge(frames, Action.TURN_LEFT, CONFIG).passed
    assert not check_flat(frames, Action.TURN_LEFT, CONFIG).passed
    frames[8] = FrameEvidence(8, 3008, view(mesh, Action.TURN_LEFT, 18.0), digest="8")
    assert check_challenge(frames, Action.TURN_LEFT, CONFIG).passed
    assert check_flat(frames, Action.TURN_LEFT, CONFIG).passed


def test_passive_mode_cannot_judge_a_face_that_did_not_move() -> None:
    still = turning(Action.TURN_LEFT, peak=0.5)
    result = check_flat(still, None, CONFIG)
    assert result.passed and result.score is None


def test_repeated_frames_are_refused() -> None:
    frontal = view(face_mesh(), Action.TURN_LEFT, 0.0)
    same = [FrameEvidence(i, 77, frontal, digest="same") for i in range(8)]
    assert not check_repeats(same, CONFIG).passed  # the very same picture
    reencoded = [FrameEvidence(i, 77, frontal, digest=str(i)) for i in range(8)]
    assert not check_repeats(reencoded, CONFIG).passed  # same look, face not moving
    assert check_repeats(turning(Action.TURN_LEFT), CONFIG).passed


def test_verdict_names_the_first_failed_check_and_replay_is_remembered() -> None:
    frames = turning(Action.TURN_LEFT)
    # Landmarks without pixels: the single-picture check has nothing to compare and refuses.
    no_texture = evaluate_liveness(frames, Action.TURN_LEFT, [], CONFIG)
    assert no_texture.code is LivenessCode.SINGLE_PICTURE
    # The landmark checks alone (tests/pipeline/test_texture.py has the texture checks).
    landmarks_only = replace(CONFIG, texture_check=False)
    assert evaluate_liveness(frames, Action.TURN_LEFT, [], landmarks_only).passed
    wrong = evaluate_liveness(frames, Action.TURN_RIGHT, [], CONFIG)
    assert wrong.code is LivenessCode.CHALLENGE_NOT_DONE
    assert "to your right" in wrong.message
    seen = [sig for frame in frames if (sig := frame.signature()) is not None]
    replayed = evaluate_liveness(frames, Action.TURN_LEFT, seen, landmarks_only)
    assert replayed.code is LivenessCode.REPLAYED_FRAMES
    flat = evaluate_liveness(print_moved(), None, [], CONFIG)
    assert flat.code in {LivenessCode.FLAT_SURFACE, LivenessCode.PASSED}
    few = evaluate_liveness(frames[::5], Action.TURN_LEFT, [], CONFIG)
    assert few.code is LivenessCode.TOO_FEW_LANDMARKS


def test_perceptual_hash_survives_reencoding_but_not_another_picture() -> None:
    image = gradient_image(640, 480)
    image[100:300, 200:400] = 30
    other = np.ascontiguousarray(image[:, ::-1])
    decoded = cv2.imdecode(np.frombuffer(jpeg_bytes(image, 70), np.uint8), cv2.IMREAD_COLOR)
    again = perceptual_hash(cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB))
    assert (perceptual_hash(image) ^ again).bit_count() <= CONFIG.duplicate_bits
    assert (perceptual_hash(image) ^ perceptual_hash(other)).bit_count() > 16
