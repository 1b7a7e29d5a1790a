"""Calibrate the match threshold on the login protocol, on the 5-celebrity photos.

A template is the mean of the camera-like frames of ``E`` photos of one person, a probe the
mean of the gated frames of one other photo (see face_auth_tools.evaluation). Run from the
repository root; the numbers go into docs/accuracy.md:

    python -m tests.pipeline.calibrate --out /tmp/calibration.json
"""

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from face_auth.config import Settings
from face_auth.face_pipeline import (
    FaceModels,
    PipelineConfig,
    load_models,
    provision_onnx_detectors,
    provision_onnx_facenet,
)
from face_auth.face_pipeline.onnx_int8 import provision_int8_facenet
from face_auth.model_store import SDIST_FILENAME, default_cache_dir, extract_dataset, install_models
from face_auth_tools.evaluation import (
    images_by_person,
    login_trials,
    photo_frame_embeddings,
    summary,
)
from tests.face_data import as_camera_frame, jpeg
from tests.pipeline.helpers import DATASET_CONFIG, REPO_ROOT

ENROLL_PHOTOS = (1, 2, 4, 8)
TEMPLATES_PER_PERSON = 30


def camera_framed(models: FaceModels, dataset: Path) -> Path:
    """A copy of ``dataset`` with each photo cropped around its face to a 640x480 frame, the
    way a webcam frames a user (tests/face_data.py); photos without a face are left out."""
    folder = Path(tempfile.mkdtemp(prefix="camera-"))
    for person, paths in images_by_person(dataset).items():
        for index, path in enumerate(paths):
            frame = as_camera_frame(models, path)
            if frame is not None:
                target = folder / person / f"{index:03d}_{path.stem}.jpg"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(jpeg(frame))
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models-dir", type=Path, default=REPO_ROOT / "data" / "models")
    parser.add_argument("--dataset", type=Path, default=None, help="person/image folder")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--production-gates",
        action="store_true",
        help="frame each photo like a webcam and apply the app's gates, not the relaxed ones",
    )
    args = parser.parse_args()
    config = PipelineConfig() if args.production_gates else DATASET_CONFIG

    install_models(args.models_dir)
    provision_onnx_facenet(args.models_dir)
    provision_onnx_detectors(args.models_dir)
    provision_int8_facenet(args.models_dir)
    dataset = args.dataset or extract_dataset(
        default_cache_dir(args.models_dir) / SDIST_FILENAME, Path(tempfile.mkdtemp())
    )
    defaults = Settings()
    models = load_models(
        args.models_dir, engine=defaults.face_embedder, int8=defaults.face_embedder_int8
    )
    if args.production_gates:
        dataset = camera_framed(models, dataset)
    people = images_by_person(dataset)
    person_of = {path: person for person, paths in people.items() for path in paths}
    rng = np.random.default_rng(0)
    frames = {}
    for path in sorted(person_of):
        rows = photo_frame_embeddings(models, path, config, rng)
        if rows is not None:
            frames[path] = rows
    threshold = Settings().face_match_threshold
    report: dict[str, object] = {"photos": len(person_of), "usable_photos": len(frames)}
    for enroll_photos in ENROLL_PHOTOS:
        trials = login_trials(frames, person_of, enroll_photos, TEMPLATES_PER_PERSON)
        entry: dict[str, object] = {"templates": trials.templates}
        entry.update(summary(trials.scores, threshold))
        if trials.nearest_impostor is not None:
            score, person, draw, probe = trials.nearest_impostor
            names = [p.name for p in draw]
            entry["nearest_impostor"] = [round(score, 4), person, names, str(probe)]
        report[f"enroll_{enroll_photos}_photos"] = entry

    text = json.dumps(report, indent=2, default=str)
    if args.out:
        args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
