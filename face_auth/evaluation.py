"""Accuracy of the face pipeline on a folder of `person/image` files: genuine and impostor
scores, EER, FAR/FRR at a threshold, and a ROC plot. Used by `face-auth evaluate`."""

from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from face_auth.face_pipeline import FaceModels, PipelineConfig, embed_frames, mean_embedding

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp"})
ENROLL_IMAGES = 8
SWEEP = np.round(np.arange(0.30, 0.71, 0.05), 2)


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
        "roc": str(roc_path),
    }
