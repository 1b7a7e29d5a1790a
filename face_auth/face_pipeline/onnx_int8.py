"""FaceNet in INT8: the float32 ONNX model quantised statically (QDQ, weights per channel) at
install time, about 4x faster on this CPU's VNNI kernels (docs/performance.md).

Static quantisation needs activations to calibrate its scales: the faces of the pinned
dataset's ``train`` photos, found and aligned by the app's own pipeline. The result is kept
only when, on the faces of the ``val`` photos (not used to calibrate), every embedding is
within ``INT8_AGREEMENT_TOLERANCE`` cosine distance of float32's. Dynamic quantisation was
measured too: as close, but 3x slower than float32 here (ConvInteger kernels).
"""

import tempfile
from pathlib import Path

import cv2
import numpy as np

from face_auth.face_pipeline.config import FACE_SIZE, PipelineConfig
from face_auth.face_pipeline.embed import EmbeddingModel, l2_normalize, prewhiten
from face_auth.face_pipeline.models import FaceModels, load_models
from face_auth.face_pipeline.onnx_conversion import install_conversion
from face_auth.face_pipeline.onnx_facenet import load_onnx_embedder
from face_auth.face_pipeline.pipeline import analyse_rgb
from face_auth.model_store import (
    FACENET_INT8,
    OnnxRecord,
    default_cache_dir,
    download_sdist,
    extract_dataset,
    onnx_status,
    read_onnx_record,
    require_onnx_model,
)

CALIBRATION_SPLIT = "train"
CHECK_SPLIT = "val"
CHECK_BATCH = 8


def least_cosine(reference: EmbeddingModel, candidate: EmbeddingModel, faces: np.ndarray) -> float:
    """The smallest cosine similarity between the two models' embeddings of ``faces``
    (prewhitened), run in batches of CHECK_BATCH as a verification runs them."""
    least = 1.0
    for start in range(0, len(faces), CHECK_BATCH):
        batch = faces[start : start + CHECK_BATCH]
        expected = l2_normalize(np.asarray(reference(batch), dtype=np.float32))
        actual = l2_normalize(np.asarray(candidate(batch), dtype=np.float32))
        least = min(least, float(np.sum(expected * actual, axis=1).min()))
    return least


def quantize_facenet(source: Path, calibration: np.ndarray, target: Path) -> None:
    """Static QDQ quantisation of ``source`` into ``target``, calibrated on ``calibration``
    (prewhitened faces; MinMax calibration, so the result depends only on the inputs)."""
    from onnxruntime.quantization import (  # noqa: PLC0415 - only at install time
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import (  # noqa: PLC0415
        quant_pre_process,
    )

    class Faces(CalibrationDataReader):
        def __init__(self, input_name: str) -> None:
            self._batches = iter([{input_name: face[None]} for face in calibration])

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._batches, None)

    with tempfile.TemporaryDirectory(prefix="facenet-int8-") as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
        input_name = load_onnx_embedder(source, 1).input_name
        quantize_static(
            str(prepared), str(target), Faces(input_name), quant_format=QuantFormat.QDQ,
            per_channel=True, weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8,
        )  # fmt: skip


def install_int8_facenet(
    models_dir: Path, source: Path, calibration_faces: np.ndarray, check_faces: np.ndarray
) -> OnnxRecord:
    """Quantise the float32 FaceNet at ``source`` under ``models_dir`` and record it; the
    faces are aligned crops (uint8 or float, 160x160 RGB) of the two splits."""
    if len(calibration_faces) == 0 or len(check_faces) == 0:
        raise ValueError("INT8 calibration needs faces in both splits of the dataset")
    reference = load_onnx_embedder(source, None)
    calibration = prewhiten(calibration_faces)
    check = prewhiten(check_faces)

    def measure(path: Path) -> float:
        return 1.0 - least_cosine(reference, load_onnx_embedder(path, None), check)

    return install_conversion(
        models_dir, FACENET_INT8, lambda target: quantize_facenet(source, calibration, target),
        measure,
    )  # fmt: skip


def provision_int8_facenet(models_dir: Path, cache_dir: Path | None = None) -> OnnxRecord:
    """Quantise the float32 ONNX FaceNet to INT8 (calibrated on the dataset's train faces,
    checked on its val faces), unless a verified quantisation is there. Run by `face-auth
    models install` after the float32 and detector conversions; no TensorFlow."""
    record = read_onnx_record(models_dir, FACENET_INT8)
    if record is not None and onnx_status(models_dir, FACENET_INT8).installed:
        return record
    models = load_models(models_dir, engine="onnx", warm_up=False)
    cache = cache_dir if cache_dir is not None else default_cache_dir(models_dir)
    with tempfile.TemporaryDirectory(prefix="face-auth-dataset-") as tmp:
        dataset = extract_dataset(download_sdist(cache), Path(tmp))
        calibration = dataset_faces(models, dataset / CALIBRATION_SPLIT)
        check = dataset_faces(models, dataset / CHECK_SPLIT)
    return install_int8_facenet(models_dir, require_onnx_model(models_dir), calibration, check)


def dataset_faces(models: FaceModels, folder: Path) -> np.ndarray:
    """The aligned 160x160 faces of the photos under ``folder`` (sorted by path) that pass
    the pipeline's default gates."""
    config = PipelineConfig()
    faces = []
    for path in sorted(folder.rglob("*.jpg")):
        bgr = cv2.imread(str(path))
        if bgr is None:
            continue
        _, crop = analyse_rgb(models, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), 0, config)
        if crop is not None:
            faces.append(crop)
    return np.stack(faces) if faces else np.empty((0, FACE_SIZE, FACE_SIZE, 3), np.uint8)
