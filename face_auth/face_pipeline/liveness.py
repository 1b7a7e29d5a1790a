"""Liveness signals computed from the frames of one request: pure functions over arrays.

- ``perceptual_hash``: a 64-bit DCT hash of a frame; near-identical frames (one picture
  repeated, or re-encoded) are within a few bits of each other.
- ``head_pose``: yaw and pitch proxies from the 468 landmarks, in units of the face's size.
- ``check_challenge``: the asked head movement is there, and is the main movement.
- ``flatness``: how well one homography maps the landmarks of the reference frame onto those
  of every other frame. A picture moved in front of the camera is a plane, and its landmarks
  follow a homography to within the landmark noise; a turning head has parallax (the nose
  moves against the cheeks) that no homography explains.

docs/liveness.md explains the thresholds and what they were measured on.
"""

import itertools
import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

import cv2
import numpy as np

from face_auth.config import Settings
from face_auth.face_pipeline.landmarks import (
    CHIN,
    FOREHEAD,
    LEFT_CHEEK,
    NOSE_TIP,
    RIGHT_CHEEK,
    FaceLandmarks,
)
from face_auth.face_pipeline.texture import (
    Backdrop,
    FacePatch,
    background_change,
    colour_change,
    texture_change,
    triangulate,
)

HASH_SIDE = 32
HASH_LOW = 8
_TINY = 1e-6
# One pose value, or the changes of a capture (an array per axis).
PoseValue = TypeVar("PoseValue", float, np.ndarray)
Item = TypeVar("Item")
Measured = TypeVar("Measured")


class Action(StrEnum):
    """What a challenge asks. Left and right are the person's own (the preview is mirrored)."""

    TURN_LEFT = "turn_left"
    TURN_RIGHT = "turn_right"
    LOOK_UP = "look_up"
    LOOK_DOWN = "look_down"


ACTIONS = tuple(Action)

INSTRUCTIONS: dict[Action, str] = {
    Action.TURN_LEFT: "Turn your head slowly to your left, then back",
    Action.TURN_RIGHT: "Turn your head slowly to your right, then back",
    Action.LOOK_UP: "Tilt your head slowly up, then back",
    Action.LOOK_DOWN: "Tilt your head slowly down, then back",
}


class LivenessCode(StrEnum):
    PASSED = "live"
    REPEATED_FRAMES = "repeated_frames"
    REPLAYED_FRAMES = "replayed_frames"
    TOO_FEW_LANDMARKS = "face_not_tracked"
    CHALLENGE_NOT_DONE = "challenge_not_done"
    FLAT_SURFACE = "flat_surface"
    SINGLE_PICTURE = "single_picture"
    CAPTURE_JUMPED = "capture_jumped"


MESSAGES: dict[LivenessCode, str] = {
    LivenessCode.PASSED: "live face",
    LivenessCode.REPEATED_FRAMES: (
        "The pictures are all the same: use your live camera, and move your head a little while "
        "they are taken."
    ),
    LivenessCode.REPLAYED_FRAMES: (
        "These pictures were already sent: use your live camera and capture again."
    ),
    LivenessCode.TOO_FEW_LANDMARKS: (
        "Your face was not seen clearly in enough pictures: face the camera in good light."
    ),
    LivenessCode.CHALLENGE_NOT_DONE: "{instruction} as shown, while the pictures are taken.",
    LivenessCode.FLAT_SURFACE: "The picture looks flat: use your real face, not a photo or screen.",
    LivenessCode.SINGLE_PICTURE: (
        "Your face moved like a picture, not a head: use your real face in front of the camera."
    ),
    LivenessCode.CAPTURE_JUMPED: (
        "The pictures jump from one scene to another: use your live camera and move smoothly."
    ),
}


@dataclass(frozen=True)
class LivenessConfig:
    """Thresholds; docs/liveness.md has the measurements behind each."""

    # The frames are one picture repeated when their whole-frame hashes are all within this
    # many of the 64 bits and no two frames' landmarks are this far apart (mean shift, in face
    # widths; re-encodings of one picture measured up to 0.008, a head turn 0.03 and more).
    duplicate_bits: int = 4
    duplicate_shift: float = 0.012
    # Frames of an earlier submission count as replayed within this many bits; the request is
    # refused when at least this share of its frames was seen before.
    replay_bits: int = 4
    # ... and with the key landmarks within this distance (in face-box sizes; a re-encoding
    # moves them under 0.01).
    replay_key_distance: float = 0.015
    max_replayed_share: float = 0.5
    # Frames with landmarks needed for the pose and flatness checks.
    min_tracked_frames: int = 4
    # The asked movement, as a change of the pose proxy (yaw: nose offset across the face's
    # width; pitch: nose offset along its height) from the reference frame. Measured by
    # `face-auth evaluate-liveness` on rendered head turns of 15 to 25 degrees (2nd percentile,
    # second-largest frame): yaw 0.086, pitch 0.034 (docs/liveness.md).
    min_yaw_change: float = 0.08
    min_pitch_change: float = 0.03
    # The movement and the flat-surface residual count only when this many frames show them
    # (the values are taken from the frame ranked this high): one frame of landmark jitter, on
    # a hard photo, can look like a turn or like parallax; a real turn lasts several frames.
    sustained_frames: int = 2
    # The movement on the other axis may be at most this share of the asked one.
    max_cross_share: float = 1.0
    # Root-mean-square homography residual, in face widths, below which the face is flat
    # (rendered head turns: 0.016 at the 2nd percentile; prints and screens tilted up or down:
    # 0.0145 at most, docs/liveness.md).
    min_flat_residual: float = 0.015
    # Passive mode judges flatness only when the pose changed at least this much (yaw units).
    passive_min_motion: float = 0.05
    # A frame must differ from the reference by more than a 2D warp of it explains
    # (texture.texture_change, in units of the face's contrast) in ``sustained_frames`` frames:
    # warps of one photo reached 0.42 at most (calibration split), the real clip 0.60 and more.
    min_texture_change: float = 0.5
    texture_check: bool = True
    # Consecutive frames 250 ms apart change at most this much (a photo sequence jumps at
    # each change of photo; docs/liveness.md has the real clip's largest values): the face
    # beyond a warp, its chromaticity (percent), its brightness (log), the background (grey
    # levels, after aligning the camera's motion).
    max_texture_jump: float = 0.85
    max_colour_jump: float = 3.0
    max_brightness_jump: float = 0.16
    max_background_jump: float = 22.0

    @classmethod
    def from_settings(cls, settings: Settings) -> "LivenessConfig":
        """The thresholds that have a setting (FACE_AUTH_LIVENESS_*), the others as above."""
        return cls(
            min_yaw_change=settings.liveness_min_yaw_change,
            min_pitch_change=settings.liveness_min_pitch_change,
            min_flat_residual=settings.liveness_min_flat_residual,
            sustained_frames=settings.liveness_sustained_frames,
            min_texture_change=settings.liveness_min_texture_change,
            texture_check=settings.liveness_texture_check,
            max_texture_jump=settings.liveness_max_texture_jump,
            max_colour_jump=settings.liveness_max_colour_jump,
            max_brightness_jump=settings.liveness_max_brightness_jump,
            max_background_jump=settings.liveness_max_background_jump,
        )


@dataclass(frozen=True)
class FrameEvidence:
    """What liveness knows of one frame: its hash, and landmarks when a face was found."""

    index: int
    phash: int | None
    landmarks: FaceLandmarks | None = None
    # The hash of the face alone (cropped to its landmarks), which a head turn changes; the
    # whole-frame hash when no face was found. Compared with earlier submissions.
    face_hash: int | None = None
    # A digest of the decoded pixels: equal only for the very same picture.
    digest: str | None = None
    # The face's pixels, small, for the texture checks (in memory for this request only).
    patch: FacePatch | None = field(default=None, repr=False, compare=False)
    backdrop: Backdrop | None = field(default=None, repr=False, compare=False)

    @property
    def replay_hash(self) -> int | None:
        return self.face_hash if self.face_hash is not None else self.phash

    def signature(self) -> "FrameSignature | None":
        """What is remembered of the frame for the replay check (no picture, no template)."""
        if self.replay_hash is None:
            return None
        keys = None if self.landmarks is None else key_geometry(self.landmarks)
        return FrameSignature(self.replay_hash, keys)


@dataclass(frozen=True)
class FrameSignature:
    """A frame's face hash and the positions of a few landmarks within the face's box: a
    replayed frame matches both; a new capture of the same face does not (its pose differs)."""

    phash: int
    keys: tuple[float, ...] | None = None

    def matches(self, other: "FrameSignature", config: "LivenessConfig") -> bool:
        if hamming(self.phash, other.phash) > config.replay_bits:
            return False
        if self.keys is None or other.keys is None:
            return self.keys is None and other.keys is None
        distance = float(np.max(np.abs(np.subtract(self.keys, other.keys))))
        return distance <= config.replay_key_distance


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    score: float | None
    threshold: float | None
    detail: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "check": self.name,
            "passed": self.passed,
            "score": None if self.score is None else round(self.score, 4),
            "threshold": self.threshold,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class LivenessResult:
    """All checks run; ``code`` is the first failure (or PASSED)."""

    code: LivenessCode
    checks: list[CheckResult] = field(default_factory=list)
    action: Action | None = None

    @property
    def passed(self) -> bool:
        return self.code is LivenessCode.PASSED

    @property
    def message(self) -> str:
        instruction = INSTRUCTIONS[self.action] if self.action else "Move your head"
        return MESSAGES[self.code].format(instruction=instruction)


# Hashing.


def perceptual_hash(rgb: np.ndarray) -> int:
    """64-bit pHash: the signs of the 8x8 lowest DCT frequencies of the 32x32 grey image
    against their median (the DC term excluded from the median)."""
    grey = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    small = cv2.resize(grey, (HASH_SIDE, HASH_SIDE), interpolation=cv2.INTER_AREA)
    low = cv2.dct(small.astype(np.float32))[:HASH_LOW, :HASH_LOW].ravel()
    bits = low > np.median(low[1:])
    return int(sum(1 << i for i, bit in enumerate(bits) if bit))


KEY_POINTS = (NOSE_TIP, FOREHEAD, CHIN, RIGHT_CHEEK, LEFT_CHEEK, 33, 263, 61, 291, 199)


def key_geometry(landmarks: FaceLandmarks) -> tuple[float, ...]:
    """The key landmarks' positions within the landmarks' bounding box, rounded."""
    xy = landmarks.xy
    low, high = xy.min(axis=0), xy.max(axis=0)
    size = np.maximum(high - low, 1.0)
    return tuple(round(float(v), 4) for v in ((xy[list(KEY_POINTS)] - low) / size).ravel())


def face_crop(rgb: np.ndarray, landmarks: FaceLandmarks, margin: float = 0.1) -> np.ndarray:
    """The face's bounding box from its landmarks (a little wider), as the image shows it."""
    low, high = landmarks.xy.min(axis=0), landmarks.xy.max(axis=0)
    pad = (high - low) * margin
    x0, y0 = np.floor(np.maximum(low - pad, 0)).astype(int)
    x1, y1 = np.ceil(high + pad).astype(int)
    crop = rgb[y0 : max(y1, y0 + 1), x0 : max(x1, x0 + 1)]
    return crop if crop.size else rgb


def hamming(first: int, second: int) -> int:
    return (first ^ second).bit_count()


def landmark_shift(first: FaceLandmarks, second: FaceLandmarks) -> float:
    """Mean 2D distance between the two frames' landmarks, in face widths."""
    width = max(face_width(first), 1.0)
    return float(np.mean(np.linalg.norm(first.xy - second.xy, axis=1))) / width


def motion_spread(evidence: Sequence[FrameEvidence]) -> float:
    """Largest landmark shift between any two tracked frames, in face widths."""
    marks = [frame.landmarks for frame in evidence if frame.landmarks is not None]
    return max(
        (landmark_shift(a, b) for i, a in enumerate(marks) for b in marks[i + 1 :]), default=0.0
    )


def check_repeats(evidence: Sequence[FrameEvidence], config: LivenessConfig) -> CheckResult:
    """One picture sent again and again: two frames with exactly the same content (a live
    camera's noise never repeats), or frames that all look the same (whole-frame hashes within
    ``duplicate_bits``) with the face in the same place (landmarks within ``duplicate_shift``:
    re-encoding moves them a little, a live face more)."""
    hashed = [frame for frame in evidence if frame.phash is not None]
    digests = [frame.digest for frame in hashed if frame.digest is not None]
    exact = len(digests) - len(set(digests))
    if exact:
        return CheckResult("repeated_frames", False, 0.0, config.duplicate_shift,
                           f"{exact} frames sent twice")  # fmt: skip
    if len(hashed) < 2:  # noqa: PLR2004
        return CheckResult("repeated_frames", False, 0.0, config.duplicate_shift, "one frame")
    same_look = all(hamming(hashed[0].phash or 0, f.phash or 0) <= config.duplicate_bits
                    for f in hashed)  # fmt: skip
    spread = motion_spread(hashed)
    passed = not same_look or spread >= config.duplicate_shift
    return CheckResult("repeated_frames", passed, spread, config.duplicate_shift,
                       "frames look alike" if same_look else "frames differ")  # fmt: skip


def check_replay(
    evidence: Sequence[FrameEvidence], seen: Sequence[FrameSignature], config: LivenessConfig
) -> CheckResult:
    """Share of this request's frames that match a frame sent before (FrameSignature)."""
    mine = [sig for frame in evidence if (sig := frame.signature()) is not None]
    replayed = sum(any(sig.matches(old, config) for old in seen) for sig in mine)
    share = replayed / len(mine) if mine else 0.0
    return CheckResult(
        "replayed_frames", share < config.max_replayed_share, share, config.max_replayed_share,
        f"{replayed} of {len(mine)} frames sent before",
    )  # fmt: skip


# Pose.


def _axis_offset(point: np.ndarray, start: np.ndarray, end: np.ndarray) -> float:
    axis = end - start
    length = float(np.linalg.norm(axis))
    if length < _TINY:
        return 0.0
    return float((point - (start + end) / 2.0) @ axis) / (length * length)


def head_pose(landmarks: FaceLandmarks) -> tuple[float, float]:
    """(yaw, pitch) proxies from the 2D landmarks, invariant to scale and in-plane rotation.

    yaw: the nose tip's offset from the cheeks' midpoint along the cheek line, in face widths;
    positive when the person turns to their own left (the nose moves to the image's right).
    pitch: the nose tip's offset from the forehead-chin midpoint along that line, in face
    heights, negated so that it grows when the person looks up.
    """
    xy = landmarks.xy
    yaw = _axis_offset(xy[NOSE_TIP], xy[RIGHT_CHEEK], xy[LEFT_CHEEK])
    pitch = -_axis_offset(xy[NOSE_TIP], xy[FOREHEAD], xy[CHIN])
    return yaw, pitch


def face_width(landmarks: FaceLandmarks) -> float:
    return float(np.linalg.norm(landmarks.xy[LEFT_CHEEK] - landmarks.xy[RIGHT_CHEEK]))


def tracked(evidence: Sequence[FrameEvidence]) -> list[FrameEvidence]:
    return [frame for frame in evidence if frame.landmarks is not None]


def reference_index(poses: Sequence[tuple[float, float]]) -> int:
    """The frame the movement is measured from: of the first two (the page asks for the
    movement only once the capture has started), the one nearer their median pose. Faces
    are not all frontal at rest, so "frontal" cannot be assumed."""
    first = np.asarray(poses[:2], dtype=np.float64)
    median = np.median(first, axis=0)
    return int(np.argmin(np.abs(first - median).sum(axis=1)))


def pose_changes(
    poses: Sequence[tuple[float, float]], reference: int
) -> tuple[np.ndarray, np.ndarray]:
    values = np.asarray(poses, dtype=np.float64)
    return values[:, 0] - values[reference, 0], values[:, 1] - values[reference, 1]


def sustained(values: Sequence[float] | np.ndarray, frames: int) -> float:
    """The value reached by at least ``frames`` of the values: the ``frames``-th largest (the
    smallest when there are fewer)."""
    ranked = np.sort(np.asarray(values, dtype=np.float64))[::-1]
    if not ranked.size:
        return 0.0
    return float(ranked[min(max(frames, 1), ranked.size) - 1])


def along(action: Action, yaw: PoseValue, pitch: PoseValue) -> PoseValue:
    """The pose (or its change) in the direction ``action`` asks: yaw grows when the person
    turns to their left, pitch when they look up."""
    if action in (Action.TURN_LEFT, Action.TURN_RIGHT):
        return yaw if action is Action.TURN_LEFT else -yaw
    return pitch if action is Action.LOOK_UP else -pitch


def across(action: Action, yaw: PoseValue, pitch: PoseValue) -> PoseValue:
    """The pose (or its change) on the axis ``action`` does not ask for."""
    return pitch if action in (Action.TURN_LEFT, Action.TURN_RIGHT) else yaw


def check_challenge(
    evidence: Sequence[FrameEvidence], action: Action, config: LivenessConfig
) -> CheckResult:
    """The asked movement from the reference frame reaches its minimum in at least
    ``sustained_frames`` frames, and is larger than the movement on the other axis (relative
    to each axis's minimum, both measured the same way)."""
    frames = tracked(evidence)
    poses = [head_pose(frame.landmarks) for frame in frames if frame.landmarks is not None]
    reference = reference_index(poses)
    yaw, pitch = pose_changes(poses, reference)
    held = config.sustained_frames
    asked_change, other_change = along(action, yaw, pitch), across(action, yaw, pitch)
    asked, other = sustained(asked_change, held), sustained(np.abs(other_change), held)
    if action in (Action.TURN_LEFT, Action.TURN_RIGHT):
        minimum, other_minimum = config.min_yaw_change, config.min_pitch_change
    else:
        minimum, other_minimum = config.min_pitch_change, config.min_yaw_change
    score = asked / minimum
    cross = (other / other_minimum) / max(score, 1e-6)
    passed = score >= 1.0 and cross <= config.max_cross_share
    detail = f"asked {asked:+.3f} (min {minimum}), other axis {other:.3f}"
    return CheckResult("challenge", passed, score, 1.0, detail)


def homography_residual(source: np.ndarray, target: np.ndarray) -> float:
    """RMS distance (in target pixels) left after the least-squares homography source->target."""
    matrix, _ = cv2.findHomography(source.astype(np.float64), target.astype(np.float64), 0)
    if matrix is None:
        return math.inf
    mapped = cv2.perspectiveTransform(source.reshape(-1, 1, 2).astype(np.float64), matrix)
    return float(np.sqrt(np.mean(np.sum((mapped.reshape(-1, 2) - target) ** 2, axis=1))))


def flatness(
    evidence: Sequence[FrameEvidence], reference: int | None = None, frames_needed: int = 1
) -> float:
    """RMS homography residual from the reference frame to the others, in face widths: the
    largest, or the one at least ``frames_needed`` frames reach (``sustained``).

    The reference is one of the first two tracked frames unless given (an index into them).
    """
    frames = [frame.landmarks for frame in tracked(evidence) if frame.landmarks is not None]
    if len(frames) < 2:  # noqa: PLR2004
        return 0.0
    if reference is None:
        reference = reference_index([head_pose(f) for f in frames])
    base = frames[reference]
    width = max(face_width(base), 1.0)
    residuals = [
        homography_residual(base.xy, frame.xy) / width
        for i, frame in enumerate(frames)
        if i != reference
    ]
    return sustained(residuals, frames_needed)


def motion(evidence: Sequence[FrameEvidence]) -> float:
    """Largest change of the yaw or pitch proxy between any two tracked frames."""
    poses = np.asarray(
        [head_pose(f.landmarks) for f in tracked(evidence) if f.landmarks is not None]
    )
    if len(poses) < 2:  # noqa: PLR2004
        return 0.0
    return float(np.max(poses.max(axis=0) - poses.min(axis=0)))


def check_flat(
    evidence: Sequence[FrameEvidence], action: Action | None, config: LivenessConfig
) -> CheckResult:
    """Refuse a face whose landmarks all follow one homography. Without a challenge (passive
    mode) a face that hardly moved cannot be judged: the check is then skipped (passed)."""
    frames = tracked(evidence)
    if action is None and motion(frames) < config.passive_min_motion:
        return CheckResult(
            "flat_surface", True, None, config.min_flat_residual, "too little motion"
        )
    reference = None
    if action is not None:
        poses = [head_pose(f.landmarks) for f in frames if f.landmarks is not None]
        reference = reference_index(poses)
    residual = flatness(frames, reference, config.sustained_frames)
    return CheckResult(
        "flat_surface", residual >= config.min_flat_residual, residual, config.min_flat_residual
    )


# The texture measures of a request's frames run in this many threads: OpenCV and NumPy
# release the GIL in their kernels, and the continuity check's 11 frame pairs took 74 to 85 ms
# on one thread, 53 to 59 on two (the checks are the longest step of a default verification).
LIVENESS_THREADS = 2


def in_parallel(measure: Callable[[Item], Measured], items: Sequence[Item]) -> list[Measured]:
    """``[measure(item) for item in items]``, in LIVENESS_THREADS threads."""
    if len(items) < 2:  # noqa: PLR2004 - nothing to share
        return [measure(item) for item in items]
    with ThreadPoolExecutor(max_workers=LIVENESS_THREADS, thread_name_prefix="liveness") as pool:
        return list(pool.map(measure, items))


def _patched(evidence: Sequence[FrameEvidence]) -> list[FrameEvidence]:
    return [frame for frame in tracked(evidence) if frame.patch is not None]


def check_single_picture(
    evidence: Sequence[FrameEvidence], action: Action | None, config: LivenessConfig
) -> CheckResult:
    """Refuse frames that are all a 2D warp of the reference frame (one photo animated, a
    print or screen moved): a real head hides and reveals surface and turns against the light.
    Skipped, like the flat check, when there is no challenge and hardly any motion."""
    frames = _patched(evidence)
    if action is None and motion(tracked(evidence)) < config.passive_min_motion:
        return CheckResult("single_picture", True, None, config.min_texture_change,
                           "too little motion")  # fmt: skip
    if len(frames) < 2:  # noqa: PLR2004 - nothing to compare: refused, never waved through
        return CheckResult("single_picture", False, None, config.min_texture_change,
                           "no face texture")  # fmt: skip
    reference = reference_index([head_pose(f.landmarks) for f in frames if f.landmarks])
    base = frames[reference].patch
    assert base is not None
    triangles = triangulate(base.points)
    others = [
        frame.patch for i, frame in enumerate(frames) if i != reference and frame.patch is not None
    ]
    changes = in_parallel(lambda patch: texture_change(base, patch, triangles), others)
    score = sustained(changes, config.sustained_frames)
    return CheckResult("single_picture", score >= config.min_texture_change, score,
                       config.min_texture_change)  # fmt: skip


def capture_jumps(evidence: Sequence[FrameEvidence]) -> dict[str, float]:
    """The largest change between consecutive tracked frames of: the face beyond a warp
    (texture_change), the face's colour (chromaticity, in percent) and brightness (log), and
    the background (grey levels, camera motion aligned)."""
    frames = _patched(evidence)
    jumps = dict.fromkeys(("face", "colour", "brightness", "background"), 0.0)
    for found in in_parallel(_pair_jumps, list(itertools.pairwise(frames))):
        jumps = {name: max(jumps[name], found[name]) for name in jumps}
    return jumps


def _pair_jumps(pair: tuple[FrameEvidence, FrameEvidence]) -> dict[str, float]:
    first, second = pair
    assert first.patch is not None and second.patch is not None
    triangles = triangulate(first.patch.points)
    colour, brightness = colour_change(first.patch, second.patch)
    return {
        "face": texture_change(first.patch, second.patch, triangles),
        "colour": colour,
        "brightness": brightness,
        "background": (
            background_change(first.backdrop, second.backdrop)
            if first.backdrop is not None and second.backdrop is not None
            else 0.0
        ),
    }


def check_continuity(evidence: Sequence[FrameEvidence], config: LivenessConfig) -> CheckResult:
    """Refuse a capture that jumps between two frames 250 ms apart, as a sequence of photos
    does at each change of photo: in the face beyond a warp, its colour or brightness, or the
    background. The score is the largest jump as a share of its limit (1 is the limit)."""
    jumps = capture_jumps(evidence)
    limits = {
        "face": config.max_texture_jump,
        "colour": config.max_colour_jump,
        "brightness": config.max_brightness_jump,
        "background": config.max_background_jump,
    }
    shares = {name: jumps[name] / limits[name] for name in limits}
    worst = max(shares, key=lambda name: shares[name])
    detail = ", ".join(f"{name} {jumps[name]:.3f} (max {limits[name]})" for name in limits)
    return CheckResult("continuity", shares[worst] <= 1.0, shares[worst], 1.0,
                       f"largest: {worst}; {detail}")  # fmt: skip


def evaluate_liveness(
    evidence: Sequence[FrameEvidence],
    action: Action | None,
    seen: Sequence[FrameSignature],
    config: LivenessConfig,
) -> LivenessResult:
    """Run every check that applies; the result's code is the first that failed.

    ``action`` None is passive mode (no challenge): repeats, replay and flatness only.
    """
    checks = [check_repeats(evidence, config), check_replay(evidence, seen, config)]
    frames = tracked(evidence)
    if len(frames) < config.min_tracked_frames:
        checks.append(
            CheckResult("landmarks", False, float(len(frames)), config.min_tracked_frames)
        )
    else:
        checks.append(CheckResult("landmarks", True, float(len(frames)), config.min_tracked_frames))
        if action is not None:
            checks.append(check_challenge(frames, action, config))
        checks.append(check_flat(frames, action, config))
        if config.texture_check:
            checks.append(check_single_picture(frames, action, config))
        checks.append(check_continuity(frames, config))
    codes = {
        "repeated_frames": LivenessCode.REPEATED_FRAMES,
        "replayed_frames": LivenessCode.REPLAYED_FRAMES,
        "landmarks": LivenessCode.TOO_FEW_LANDMARKS,
        "challenge": LivenessCode.CHALLENGE_NOT_DONE,
        "flat_surface": LivenessCode.FLAT_SURFACE,
        "single_picture": LivenessCode.SINGLE_PICTURE,
        "continuity": LivenessCode.CAPTURE_JUMPED,
    }
    failed = next((check for check in checks if not check.passed), None)
    code = codes[failed.name] if failed else LivenessCode.PASSED
    return LivenessResult(code, checks, action)
