"""Liveness measured against an attack set built from real photos, in ISO/IEC 30107-3 terms.
Used by `face-auth evaluate-liveness`; docs/liveness.md holds the measured table.

Bona fide presentations come from real video only (real_video.py: runs of 12 frames at the
page's pace cut from footage of a real moving head); the movement the person made is taken as
the one asked. A render of one photo is an attack, never bona fide.

The usable photos of a `person/image` folder (the 5-celebrity set) are split in two by their
position in each person's folder: even positions calibrate, odd ones are held out (the
default), so attacks are measured on photos no threshold was set on. Every photo is framed like
a webcam shot and becomes several attack presentations of the frames the page sends:

- animation: the photo animated into the asked movement by two different methods, the mesh
  renderer (synthetic.render_head_turn) and a dense warp about a pivot behind the head with
  drift and scale (animators.pivot_turn);
- sequence: photos of the same person (of the same split) ordered by head pose in the asked
  direction, shown one after another (animators.pose_sequence);
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

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

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
    along,
    check_challenge,
    evaluate_liveness,
    head_pose,
    tracked,
)
from face_auth_tools.animators import pivot_turn, pose_sequence
from face_auth_tools.framing import (
    CAPTURE_FRAMES,
    FIND_CONFIG,
    webcam_window,
)
from face_auth_tools.real_video import video_runs
from face_auth_tools.synthetic import (
    camera_noise,
    jpeg_bytes,
    print_frames,
    render_head_turn,
    replay_frames,
    screen_artefacts,
    turn_angles,
    turned_print_frames,
)

ATTACK_TYPES = ("replay", "print", "screen", "wrong_challenge", "animation", "sequence")
SPLITS = ("calibration", "held_out")
BONA_FIDE = "bona_fide"
# Frames of the "one photo repeated" replay (the fewest the face step takes).
REPEATED_FRAMES = 8
# How far a rendered head turns (degrees, drawn per presentation): people turn differently.
TURN_RANGE = (15.0, 25.0)
# How far an attacker turns a print or a screen in the asked direction (degrees).
PLANE_TURN_RANGE = (20.0, 35.0)
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
    return webcam_window(rgb, (x + width / 2, y + height / 2), height)


def photos_by_person(folder: Path) -> dict[str, list[Path]]:
    """Images under ``folder`` grouped by their parent folder's name, sorted by path."""
    people: dict[str, list[Path]] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
            people.setdefault(path.parent.name, []).append(path)
    return people


def subjects(
    models: FaceModels,
    folder: Path,
    config: PipelineConfig,
    per_person: int | None = None,
    split: str | None = None,
) -> Iterator[Subject]:
    """The photos whose webcam framing passes the app's gates and has landmarks, at most
    ``per_person`` of each person (in path order), of one split (SPLITS) or of both."""
    if models.landmarker is None:
        raise ValueError("liveness needs the landmark model: run `face-auth models install`")
    for person, listed in photos_by_person(folder).items():
        found = 0
        photos = listed if split is None else listed[SPLITS.index(split) :: 2]
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


def pivot_warp(subject: Subject, action: Action, rng: np.random.Generator) -> list[bytes]:
    """The photo turned by the dense pivot warp, with drift and scale, noise, JPEG."""
    angles = turn_angles(CAPTURE_FRAMES, float(rng.uniform(*TURN_RANGE)), rng)
    low, high = subject.landmarks.xy.min(axis=0), subject.landmarks.xy.max(axis=0)
    box = (float(low[0]), float(low[1]), float(high[0] - low[0]), float(high[1] - low[1]))
    frames = pivot_turn(subject.still, box, action, angles, rng)
    return [jpeg_bytes(camera_noise(frame, rng)) for frame in frames]


def pose_value(subject: Subject, action: Action) -> float:
    """How far the subject's head is already turned in the direction ``action`` asks."""
    return float(along(action, *head_pose(subject.landmarks)))


def photo_sequence(
    subject: Subject, others: Sequence[Subject], action: Action, rng: np.random.Generator
) -> list[bytes] | None:
    """The subject's photo, then the (up to) two photos of the same person turned furthest
    in the asked direction, in that order; None when no other photo is turned further."""
    start = pose_value(subject, action)
    ahead = sorted((o for o in others if pose_value(o, action) > start),
                   key=lambda o: pose_value(o, action))[-2:]  # fmt: skip
    if not ahead:
        return None
    frames = pose_sequence([subject.still, *(o.still for o in ahead)], CAPTURE_FRAMES)
    return [jpeg_bytes(camera_noise(frame, rng)) for frame in frames]


def presentation_frames(
    subject: Subject,
    asked: Action,
    number: int,
    rng: np.random.Generator,
    others: Sequence[Subject] = (),
) -> Iterator[tuple[str, str, list[bytes]]]:
    """(kind, variant, frames) of every attack built from one subject for ``asked``.
    ``number`` (the subject's position) varies the direction of the wrong challenge;
    ``others`` are the other photos of the same person (for the photo sequence)."""
    still = subject.still
    yield "animation", "mesh_render", head_turn(subject, asked, rng)
    yield "animation", "pivot_warp", pivot_warp(subject, asked, rng)
    sequence = photo_sequence(subject, others, asked, rng)
    if sequence is not None:
        yield "sequence", "ordered_by_pose", sequence
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
    split: str | None = "held_out",
) -> list[Presentation]:
    """Every attack presentation of every usable subject of the split, with the evidence the
    app computes; the asked action cycles through the four actions from subject to subject."""
    rng = np.random.default_rng(seed)
    chosen = list(subjects(models, folder, config, per_person, split))
    presentations = []
    for number, subject in enumerate(chosen):
        asked = ACTIONS[number % len(ACTIONS)]
        name = f"{subject.person}/{subject.photo}"
        others = [o for o in chosen if o.person == subject.person and o is not subject]
        for kind, variant, frames in presentation_frames(subject, asked, number, rng, others):
            result = embed_frames(models, frames, config, keep=8, evidence=True)
            presentations.append(Presentation(kind, variant, name, asked, tuple(result.evidence)))
    return presentations


def movement_made(evidence: Sequence[FrameEvidence], config: LivenessConfig) -> Action:
    """The action a real capture performs best (its challenge score is highest)."""
    frames = tracked(evidence)
    if len(frames) < config.min_tracked_frames:
        return ACTIONS[0]
    return max(ACTIONS, key=lambda action: check_challenge(frames, action, config).score or 0.0)


def collect_bona_fide(
    models: FaceModels, videos: Sequence[Path], config: PipelineConfig, checks: LivenessConfig
) -> list[Presentation]:
    """One bona fide presentation per run of real video (real_video.video_runs), asked for
    the movement the person made in it."""
    presentations = []
    for path in videos:
        for run in video_runs(models, path):
            result = embed_frames(models, list(run.frames), config, keep=8, evidence=True)
            evidence = tuple(result.evidence)
            action = movement_made(evidence, checks)
            presentations.append(Presentation(BONA_FIDE, "real_video", run.name, action, evidence))
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
        "subjects": len({p.subject for p in presentations if p.kind != BONA_FIDE}),
        "bona_fide_runs": sum(p.kind == BONA_FIDE for p in presentations),
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


def bona_fide_checks(
    presentations: Sequence[Presentation], config: LivenessConfig
) -> dict[str, object]:
    """Per check, how many real runs it refused, and the spread of its scores."""
    refused: Counter[str] = Counter()
    scores: dict[str, list[float]] = {}
    runs = [p for p in presentations if p.kind == BONA_FIDE]
    for presentation in runs:
        for check in judge(presentation, config).checks:
            refused[check.name] += not check.passed
            if check.score is not None:
                scores.setdefault(check.name, []).append(check.score)
    return {
        name: {"refused": refused[name], "runs": len(runs),
               "min": round(min(values), 4), "max": round(max(values), 4)}
        for name, values in sorted(scores.items())
    }  # fmt: skip


def liveness_config(settings: Settings) -> LivenessConfig:
    """The thresholds the app runs with under ``settings``."""
    return LivenessConfig.from_settings(settings)
