"""Accuracy of the face pipeline on a folder of `person/image` files: genuine and impostor
scores, EER, TAR at a fixed FAR, the closest impostors, FAR/FRR at a threshold, and a ROC
plot. Used by `face-auth evaluate`.

Two kinds of measurement:
- photo mode (`evaluate_dataset`): one embedding per photo, whatever its size (large photos
  are decoded to the working copy like any frame); photo against photo and enrolled
  template against photo.
- the login protocol (`login_trials` over `photo_frame_embeddings`, as tests/pipeline/
  calibrate.py runs it): what the app decides on. A template is the mean of the camera-like
  frames of a few photos, a probe the mean of the gated frames of another photo (one
  sitting), and each is scored like a login.
"""

from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from face_auth.face_pipeline import (
    FaceModels,
    FrameRejected,
    PipelineConfig,
    analyse_rgb,
    decode_image,
    embed_faces,
    embed_frames,
    mean_embedding,
)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp"})
ENROLL_IMAGES = 8
SWEEP = np.round(np.arange(0.30, 0.81, 0.05), 2)
FAR_TARGETS = (0.01, 0.001)
CLOSEST_PAIRS = 5


@dataclass(frozen=True)
class Scores:
    genuine: np.ndarray
    impostor: np.ndarray


def far_frr(scores: Scores, threshold: float) -> tuple[float, float]:
    """False accept rate (impostors at or above) and false reject rate (genuine below)."""
    far = float(np.mean(scores.impostor >= threshold)) if scores.impostor.size else 0.0
    frr = float(np.mean(scores.genuine < threshold)) if scores.genuine.size else 0.0
    return far, frr


def equal_error_rate(scores: Scores) -> tuple[float, float]:
    """(EER, threshold) where FAR and FRR are closest, over every observed score."""
    best_gap, best = 2.0, (1.0, 0.0)
    for threshold in np.unique(np.concatenate([scores.genuine, scores.impostor])):
        far, frr = far_frr(scores, float(threshold))
        if abs(far - frr) < best_gap:
            best_gap, best = abs(far - frr), ((far + frr) / 2, float(threshold))
    return best


def tar_at_far(scores: Scores, far_target: float) -> tuple[float, float]:
    """(TAR, threshold) at the lowest threshold whose FAR is at most ``far_target``.

    At most ``floor(far_target * impostors)`` impostor scores may reach the threshold, so it
    sits just above the next-highest one.
    """
    if not scores.impostor.size:
        return (1.0 if scores.genuine.size else 0.0), -1.0
    ranked = np.sort(scores.impostor)[::-1]
    allowed = int(np.floor(far_target * ranked.size + 1e-9))
    # Just above the highest impostor score that must be refused.
    threshold = -1.0 if allowed >= ranked.size else float(np.nextafter(ranked[allowed], np.inf))
    tar = float(np.mean(scores.genuine >= threshold)) if scores.genuine.size else 0.0
    return tar, threshold


def tar_at_far_table(scores: Scores) -> dict[str, dict[str, float]]:
    """TAR and its threshold at each FAR of FAR_TARGETS, keyed like "1%" and "0.1%"."""
    table = {}
    for target in FAR_TARGETS:
        tar, threshold = tar_at_far(scores, target)
        table[f"{target * 100:g}%"] = {"tar": round(tar, 4), "threshold": round(threshold, 4)}
    return table


def images_by_person(folder: Path) -> dict[str, list[Path]]:
    """Images found anywhere under `folder`, grouped by their parent folder's name (so
    `train/ann/1.jpg` and `val/ann/2.jpg` are both Ann's), sorted by path."""
    people: dict[str, list[Path]] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
            people.setdefault(path.parent.name, []).append(path)
    return people


def embed_images(
    models: FaceModels, paths: list[Path], config: PipelineConfig
) -> tuple[dict[Path, np.ndarray], dict[Path, str]]:
    """One embedding per usable image, and the rejection reason of the others."""
    embeddings: dict[Path, np.ndarray] = {}
    rejected: dict[Path, str] = {}
    for path in paths:
        result = embed_frames(models, [path.read_bytes()], config)
        if result.embedding is None:
            rejected[path] = result.frames[0].reason
        else:
            embeddings[path] = result.embedding
    return embeddings, rejected


def pair_scores(embeddings: dict[Path, np.ndarray], person_of: dict[Path, str]) -> Scores:
    """Every single image against every other."""
    genuine, impostor = [], []
    for first, second in combinations(sorted(embeddings), 2):
        score = float(embeddings[first] @ embeddings[second])
        (genuine if person_of[first] == person_of[second] else impostor).append(score)
    return Scores(np.array(genuine), np.array(impostor))


def closest_impostor_pairs(
    embeddings: dict[Path, np.ndarray], person_of: dict[Path, str], count: int = CLOSEST_PAIRS
) -> list[tuple[float, Path, Path]]:
    """The ``count`` most similar pairs of photos of different people, most similar first."""
    paths = sorted(embeddings)
    if len(paths) < 2:  # noqa: PLR2004 - a pair
        return []
    matrix = np.stack([embeddings[path] for path in paths])
    similarity = matrix @ matrix.T
    pairs = [
        (float(similarity[i, j]), paths[i], paths[j])
        for i, j in combinations(range(len(paths)), 2)
        if person_of[paths[i]] != person_of[paths[j]]
    ]
    return sorted(pairs, key=lambda pair: pair[0], reverse=True)[:count]


def enrollment_scores(
    embeddings: dict[Path, np.ndarray], people: dict[str, list[Path]]
) -> tuple[Scores, dict[str, int]]:
    """Enroll each person from their first (up to) 8 usable images; score each remaining image
    against every template."""
    templates: dict[str, np.ndarray] = {}
    probes: list[tuple[str, np.ndarray]] = []
    for person, paths in people.items():
        usable = [path for path in paths if path in embeddings]
        if not usable:
            continue
        templates[person] = mean_embedding(
            np.stack([embeddings[p] for p in usable[:ENROLL_IMAGES]])
        )
        probes += [(person, embeddings[path]) for path in usable[ENROLL_IMAGES:]]
    genuine, impostor = [], []
    for person, probe in probes:
        for enrolled, template in templates.items():
            (genuine if enrolled == person else impostor).append(float(probe @ template))
    enrolled_from = {
        person: min(sum(path in embeddings for path in paths), ENROLL_IMAGES)
        for person, paths in people.items()
    }
    return Scores(np.array(genuine), np.array(impostor)), enrolled_from


def roc_points(scores: Scores) -> list[tuple[float, float]]:
    """(FAR, TAR) for every threshold, from accept-everything to accept-nothing."""
    thresholds = np.unique(np.concatenate([scores.genuine, scores.impostor, [-1.0, 1.01]]))
    points = []
    for threshold in thresholds[::-1]:
        far, frr = far_frr(scores, float(threshold))
        points.append((far, 1.0 - frr))
    return points


def draw_roc(curves: dict[str, Scores], threshold: float, path: Path) -> None:
    """A plain ROC plot (FAR on x, true accept rate on y) with the threshold marked."""
    size, margin = 560, 60
    image = Image.new("RGB", (size + 2 * margin, size + 2 * margin), "white")
    draw = ImageDraw.Draw(image)

    def at(far: float, tar: float) -> tuple[float, float]:
        return margin + far * size, margin + (1 - tar) * size

    draw.rectangle([at(0, 1), at(1, 0)], outline="black")
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        x, y = at(tick, 0)
        draw.text((x - 10, y + 8), f"{tick:.2f}", fill="black")
        x, y = at(0, tick)
        draw.text((x - 40, y - 6), f"{tick:.2f}", fill="black")
    draw.text((margin + size / 2 - 80, size + margin + 30), "false accept rate (FAR)", fill="black")
    draw.text((8, margin - 30), "true accept rate (1 - FRR)", fill="black")
    colours = ["#3656e0", "#c0392b", "#1e7d4f"]
    for index, (name, scores) in enumerate(curves.items()):
        colour = colours[index % len(colours)]
        draw.line([at(*point) for point in roc_points(scores)], fill=colour, width=3)
        far, frr = far_frr(scores, threshold)
        x, y = at(far, 1 - frr)
        draw.ellipse([x - 6, y - 6, x + 6, y + 6], outline=colour, width=3)
        draw.text((margin + size - 250, margin + size - 60 + 18 * index),
                  f"{name} (o = threshold {threshold})", fill=colour)  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


def summary(scores: Scores, threshold: float) -> dict[str, object]:
    far, frr = far_frr(scores, threshold)
    eer, eer_threshold = equal_error_rate(scores)
    return {
        "genuine": int(scores.genuine.size),
        "impostor": int(scores.impostor.size),
        "genuine_mean": round(float(scores.genuine.mean()), 4) if scores.genuine.size else None,
        "impostor_mean": round(float(scores.impostor.mean()), 4) if scores.impostor.size else None,
        "lowest_genuine": round(float(scores.genuine.min()), 4) if scores.genuine.size else None,
        "highest_impostor": (
            round(float(scores.impostor.max()), 4) if scores.impostor.size else None
        ),
        "eer": round(eer, 4),
        "eer_threshold": round(eer_threshold, 4),
        "tar_at_far": tar_at_far_table(scores),
        "far": round(far, 4),
        "frr": round(frr, 4),
        "far_frr_sweep": {
            f"{t:.2f}": [round(v, 4) for v in far_frr(scores, float(t))] for t in SWEEP
        },
    }


def evaluate_dataset(
    folder: Path, models: FaceModels, config: PipelineConfig, threshold: float, roc_path: Path
) -> dict[str, object]:
    people = images_by_person(folder)
    person_of = {path: person for person, paths in people.items() for path in paths}
    embeddings, rejected = embed_images(models, sorted(person_of), config)
    pairs = pair_scores(embeddings, person_of)
    enrolled, enrolled_from = enrollment_scores(embeddings, people)
    draw_roc({"enrolled template vs image": enrolled, "image vs image": pairs}, threshold, roc_path)
    return {
        "people": len(people),
        "images": len(person_of),
        "usable_images": len(embeddings),
        "rejected": {str(path.relative_to(folder)): reason for path, reason in rejected.items()},
        "threshold": threshold,
        "enrollment": {**summary(enrolled, threshold), "enrolled_from": enrolled_from},
        "single_image_pairs": summary(pairs, threshold),
        "closest_impostor_pairs": [
            {
                "similarity": round(score, 4),
                "a": str(a.relative_to(folder)),
                "b": str(b.relative_to(folder)),
            }
            for score, a, b in closest_impostor_pairs(embeddings, person_of)
        ],
        "roc": str(roc_path),
    }


# --- The login protocol -------------------------------------------------------------------

LOGIN_FRAMES = 8  # frames per photo, as the app takes per login
LOGIN_MIN_FRAMES = 5  # usable frames a probe needs, as verification does


def camera_frames(rgb: np.ndarray, count: int, rng: np.random.Generator) -> list[np.ndarray]:
    """``count`` camera-like frames of one sitting: small shifts, turns and zooms, light and
    contrast changes, sensor noise and JPEG compression of the same photo."""
    height, width = rgb.shape[:2]
    frames = []
    for _ in range(count):
        matrix = cv2.getRotationMatrix2D(
            (width / 2, height / 2), rng.uniform(-6, 6), rng.uniform(0.92, 1.08)
        )
        matrix[:, 2] += rng.uniform(-0.04, 0.04, 2) * (width, height)
        moved = cv2.warpAffine(rgb, matrix, (width, height), borderMode=cv2.BORDER_REFLECT)
        lit = moved.astype(np.float32) * rng.uniform(0.8, 1.2) + rng.uniform(-20, 20)
        noisy = lit + rng.normal(0, rng.uniform(0, 5), lit.shape)
        frame = np.clip(noisy, 0, 255).astype(np.uint8)
        quality = int(rng.integers(70, 93))
        _, encoded = cv2.imencode(".jpg", frame[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
        frames.append(cv2.imdecode(encoded, cv2.IMREAD_COLOR)[..., ::-1])
    return frames


def photo_frame_embeddings(
    models: FaceModels, path: Path, config: PipelineConfig, rng: np.random.Generator
) -> np.ndarray | None:
    """Embeddings (N, 128) of the gated camera-like frames of one photo; None when fewer
    than LOGIN_MIN_FRAMES pass the gates (the app would refuse such a login)."""
    try:
        rgb = decode_image(path.read_bytes(), config)
    except (OSError, FrameRejected):
        return None
    crops = []
    for frame in camera_frames(rgb, LOGIN_FRAMES, rng):
        _, crop = analyse_rgb(models, frame, 0, config)
        if crop is not None:
            crops.append(crop)
    if len(crops) < LOGIN_MIN_FRAMES:
        return None
    return embed_faces(models.embedder, np.stack(crops))


@dataclass(frozen=True)
class LoginTrials:
    """Scores of templates against probes, and the impostor trial that came closest."""

    scores: Scores
    templates: int
    nearest_impostor: tuple[float, str, tuple[Path, ...], Path] | None


def template_draws(
    paths: list[Path], enroll_photos: int, count: int, rng: np.random.Generator
) -> list[tuple[Path, ...]]:
    """Up to ``count`` distinct sets of ``enroll_photos`` photos, drawn at random."""
    draws: set[tuple[Path, ...]] = set()
    for _ in range(count * 4):
        if len(draws) == count:
            break
        chosen = rng.choice(len(paths), size=enroll_photos, replace=False)
        draws.add(tuple(sorted(paths[index] for index in chosen)))
    return sorted(draws)


def login_trials(
    frames: dict[Path, np.ndarray],
    person_of: dict[Path, str],
    enroll_photos: int,
    templates_per_person: int,
    seed: int = 0,
) -> LoginTrials:
    """Each person enrolled from random sets of ``enroll_photos`` photos (the mean of all
    their frames); every other photo's mean frame embedding scored against each template."""
    rng = np.random.default_rng(seed)
    probes = {path: mean_embedding(rows) for path, rows in frames.items()}
    people = sorted({person_of[path] for path in frames})
    genuine: list[float] = []
    impostor: list[float] = []
    nearest: tuple[float, str, tuple[Path, ...], Path] | None = None
    templates = 0
    for person in people:
        own = sorted(path for path in frames if person_of[path] == person)
        if len(own) <= enroll_photos:
            continue
        for draw in template_draws(own, enroll_photos, templates_per_person, rng):
            templates += 1
            template = mean_embedding(np.concatenate([frames[path] for path in draw]))
            for path, probe in probes.items():
                if path in draw:
                    continue
                score = float(template @ probe)
                if person_of[path] == person:
                    genuine.append(score)
                    continue
                impostor.append(score)
                if nearest is None or score > nearest[0]:
                    nearest = (score, person, draw, path)
    return LoginTrials(Scores(np.array(genuine), np.array(impostor)), templates, nearest)
