"""Liveness measured against an attack set built from real photos, in ISO/IEC 30107-3 terms.
Used by `face-auth evaluate-liveness`; docs/liveness.md holds the measured table.

Every usable photo of a `person/image` folder (the 5-celebrity set) is framed like a webcam
shot and becomes several presentations of the frames the page sends for a challenge:

- bona fide: a head turn in the asked direction, rendered from the photo over its face mesh
  (face_pipeline/synthetic.py). It stands in for live video, which we do not have;
- replay: the photo sent repeatedly (identical bytes), and re-encoded at slightly different
  JPEG qualities;
- print: the photo warped by plausible homographies (a print moved and tilted), and turned as
  a plane in the asked direction, with noise and blur;
- screen: the same with a screen's moire, gamma shift, glossy highlight and visible border;
- wrong challenge: a rendered head turn in a direction that was not asked.

Each presentation goes through the functions the app runs for a challenge: ``embed_frames``
with evidence (detection, landmarks, hashes), then ``evaluate_liveness``. The cross-request
replay memory starts empty (each presentation is a first attempt). APCER per attack type is
the share of its presentations accepted as live; BPCER the share of bona fide ones refused.
"""

import math
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from face_auth.config import Settings
from face_auth.face_pipeline import (
    FaceModels,
    PipelineConfig,
    analyse_rgb,
    detect_faces,
    embed_frames,
    select_face,
)
from face_auth.face_pipeline.landmarks import FaceLandmarks, face_landmarks
from face_auth.face_pipeline.liveness import (
    ACTIONS,
    Action,
    FrameEvidence,
    LivenessConfig,
    LivenessResult,
    evaluate_liveness,
)
from face_auth.face_pipeline.synthetic import (
    camera_noise,
    jpeg_bytes,
    print_frames,
    render_head_turn,
    replay_frames,
    screen_artefacts,
    turn_angles,
    turned_print_frames,
)

ATTACK_TYPES = ("replay", "print", "screen", "wrong_challenge")
BONA_FIDE = "bona_fide"
# Frames of one presentation: as many as the page captures for a challenge.
CAPTURE_FRAMES = 12
# Frames of the "one photo repeated" replay (the fewest the face step takes).
REPEATED_FRAMES = 8
# How far a rendered head turns (degrees, drawn per presentation): people turn differently.
TURN_RANGE = (15.0, 25.0)
# How far an attacker turns a print or a screen in the asked direction (degrees).
PLANE_TURN_RANGE = (20.0, 35.0)
# The dataset's web photos are small: find their face with relaxed detection, then frame it
# like a webcam (640x480, the face about 42% of the height), as the tests do.
FRAME_WIDTH, FRAME_HEIGHT = 640, 480
FACE_SHARE_OF_HEIGHT = 0.42
FIND_CONFIG = PipelineConfig(min_face_px=24, detector_min_face_px=20)
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp"})


@dataclass(frozen=True)
class Subject:
    """One photo framed like a webcam shot, with its landmarks (the renderer's mesh)."""

    person: str
    photo: str
    still: np.ndarray
    landmarks: FaceLandmarks


@dataclass(frozen=True)
class Presentation:
    """The evidence of one presentation, as the app computes it, and what was asked."""

    kind: str  # an ATTACK_TYPES entry or BONA_FIDE
    variant: str
    subject: str
    action: Action
    evidence: tuple[FrameEvidence, ...]


@dataclass
class Rates:
    """Presentations and the ones classified wrongly, per kind and per variant."""

    total: Counter[str] = field(default_factory=Counter)
    wrong: Counter[str] = field(default_factory=Counter)
    reasons: dict[str, Counter[str]] = field(default_factory=dict)

    def rate(self, key: str) -> float:
        return self.wrong[key] / self.total[key] if self.total[key] else 0.0


def camera_still(models: FaceModels, photo: Path) -> np.ndarray | None:
    """A 4:3 window around the photo's main face, scaled to 640x480."""
    with Image.open(photo) as image:
        rgb = np.asarray(image.convert("RGB"))
    faces = detect_faces(models.detector, rgb, FIND_CONFIG)
    if not faces:
        return None
    x, y, width, height = faces[0].box
    window_h = height / FACE_SHARE_OF_HEIGHT
    window_w = window_h * FRAME_WIDTH / FRAME_HEIGHT
    padded = cv2.copyMakeBorder(
        rgb, *(int(window_h),) * 2, *(int(window_w),) * 2, cv2.BORDER_REPLICATE
    )
    left = round(x + width / 2 - window_w / 2 + int(window_w))
    top = round(y + height / 2 - window_h / 2 + int(window_h))
    crop = padded[top : top + round(window_h), left : left + round(window_w)]
    return cv2.resize(crop, (FRAME_WIDTH, FRAME_HEIGHT), interpolation=cv2.INTER_CUBIC)


def photos_by_person(folder: Path) -> dict[str, list[Path]]:
    """Images under ``folder`` grouped by their parent folder's name, sorted by path."""
    people: dict[str, list[Path]] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
            people.setdefault(path.parent.name, []).append(path)
    return people


def subjects(
    models: FaceModels, folder: Path, config: PipelineConfig, per_person: int | None = None
) -> Iterator[Subject]:
    """The photos whose webcam framing passes the app's gates and has landmarks, at most
    ``per_person`` of each person (in path order)."""
    if models.landmarker is None:
        raise ValueError("liveness needs the landmark model: run `face-auth models install`")
    for person, photos in photos_by_person(folder).items():
        found = 0
        for photo in photos:
            if per_person is not None and found >= per_person:
                break
            still = camera_still(models, photo)
            if still is None or not analyse_rgb(models, still, 0, config)[0].accepted:
                continue
            face = select_face(detect_faces(models.detector, still, config), config)
            marks = face_landmarks(models.landmarker, still, face)
            found += 1
            yield Subject(person, photo.name, still, marks)


def head_turn(subject: Subject, action: Action, rng: np.random.Generator) -> list[bytes]:
    """A rendered head turn as the page would send it: webcam noise, JPEG at quality 90."""
    angles = turn_angles(CAPTURE_FRAMES, float(rng.uniform(*TURN_RANGE)), rng)
    frames = render_head_turn(subject.still, subject.landmarks, action, angles)
    return [jpeg_bytes(camera_noise(frame, rng)) for frame in frames]


def presentation_frames(
    subject: Subject, asked: Action, number: int, rng: np.random.Generator
) -> Iterator[tuple[str, str, list[bytes]]]:
    """(kind, variant, frames) of every presentation built from one subject for ``asked``.
    ``number`` (the subject's position) varies the direction of the wrong challenge."""
    still = subject.still
    yield BONA_FIDE, "head_turn", head_turn(subject, asked, rng)
    yield "replay", "repeated", [jpeg_bytes(still)] * REPEATED_FRAMES
    yield "replay", "reencoded", replay_frames(still, CAPTURE_FRAMES, rng)
    screen = screen_artefacts(still, rng)
    for kind, picture in (("print", still), ("screen", screen)):
        moved = print_frames(picture, CAPTURE_FRAMES, rng)
        yield kind, "moved", [jpeg_bytes(frame) for frame in moved]
        peak = float(rng.uniform(*PLANE_TURN_RANGE))
        turned = turned_print_frames(picture, asked, CAPTURE_FRAMES, rng, peak)
        yield kind, "turned_as_asked", [jpeg_bytes(frame) for frame in turned]
    others = [action for action in ACTIONS if action is not asked]
    wrong = others[number % len(others)]
    yield "wrong_challenge", wrong.value, head_turn(subject, wrong, rng)


def collect(
    models: FaceModels,
    folder: Path,
    config: PipelineConfig,
    per_person: int | None = None,
    seed: int = 0,
) -> list[Presentation]:
    """Every presentation of every usable subject, with the evidence the app computes; the
    asked action cycles through the four actions from subject to subject."""
    rng = np.random.default_rng(seed)
    presentations = []
    for number, subject in enumerate(subjects(models, folder, config, per_person)):
        asked = ACTIONS[number % len(ACTIONS)]
        name = f"{subject.person}/{subject.photo}"
        for kind, variant, frames in presentation_frames(subject, asked, number, rng):
            result = embed_frames(models, frames, config, keep=8, evidence=True)
            presentations.append(Presentation(kind, variant, name, asked, tuple(result.evidence)))
    return presentations


def judge(presentation: Presentation, config: LivenessConfig) -> LivenessResult:
    """The app's verdict on a challenge (no frames remembered from earlier requests)."""
    return evaluate_liveness(presentation.evidence, presentation.action, [], config)


def error_rates(presentations: Sequence[Presentation], config: LivenessConfig) -> Rates:
    """APCER per attack type (accepted attacks) and BPCER (refused bona fide), also per
    variant ("print/moved"), with the reason codes given."""
    rates = Rates()
    for presentation in presentations:
        result = judge(presentation, config)
        wrong = result.passed if presentation.kind != BONA_FIDE else not result.passed
        for key in (presentation.kind, f"{presentation.kind}/{presentation.variant}"):
            rates.total[key] += 1
            rates.wrong[key] += wrong
        reasons = rates.reasons.setdefault(presentation.kind, Counter())
        reasons[str(result.code)] += 1
    return rates


def report(presentations: Sequence[Presentation], config: LivenessConfig) -> dict[str, object]:
    """The table as JSON-ready values: per kind and variant, presentations and error rate."""
    rates = error_rates(presentations, config)
    table = {
        key: {
            "presentations": rates.total[key],
            "misclassified": rates.wrong[key],
            ("bpcer" if key.startswith(BONA_FIDE) else "apcer"): round(rates.rate(key), 4),
        }
        for key in sorted(rates.total)
    }
    return {
        "subjects": len({p.subject for p in presentations}),
        "presentations": len(presentations),
        "table": table,
        "reasons": {kind: dict(counter) for kind, counter in sorted(rates.reasons.items())},
        "apcer": {kind: round(rates.rate(kind), 4) for kind in ATTACK_TYPES},
        "apcer_max": round(max(rates.rate(kind) for kind in ATTACK_TYPES), 4),
        "bpcer": round(rates.rate(BONA_FIDE), 4),
    }


def summary_line(result: dict[str, object]) -> str:
    """The machine-readable last line of `face-auth evaluate-liveness`."""
    apcer = result["apcer"]
    assert isinstance(apcer, dict)
    parts = [f"apcer_{kind}={apcer[kind]:.4f}" for kind in ATTACK_TYPES]
    bpcer = result["bpcer"]
    assert isinstance(bpcer, float)
    return " ".join([*parts, f"bpcer={bpcer:.4f}"])


def percent(value: float) -> str:
    return f"{100 * value:.1f}%" if not math.isnan(value) else "n/a"


def liveness_config(settings: Settings) -> LivenessConfig:
    """The thresholds the app runs with under ``settings``."""
    return LivenessConfig.from_settings(settings)
