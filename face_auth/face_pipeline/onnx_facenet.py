"""FaceNet through ONNX Runtime: converted once from the Keras model at install time, run by
the app; the Keras model stays the reference it must agree with (issue 14).

ONNX Runtime runs the same float32 network faster than TensorFlow on 2 cores (8 faces: ~107
instead of ~133 ms; docs/performance.md). ``install_onnx_facenet`` converts the verified Keras
weights with tf2onnx, embeds a fixed probe batch with both and keeps the file only when every
L2-normalised embedding agrees to ``ONNX_AGREEMENT_TOLERANCE``; the record written last beside
it (model_store.OnnxRecord) names the weights it came from and the file's own sha256.
"""

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from face_auth.face_pipeline.config import FACE_SIZE
from face_auth.face_pipeline.embed import EmbeddingModel, l2_normalize, prewhiten
from face_auth.face_pipeline.onnx_session import open_session
from face_auth.model_store import (
    ONNX_AGREEMENT_TOLERANCE,
    WEIGHTS_SHA256,
    ModelProvisioningError,
    ModelsMissingError,
    OnnxRecord,
    make_model_dir,
    onnx_model_path,
    onnx_record_path,
    publish_model_file,
    sha256_of,
    write_onnx_record,
)

OPSET = 17
PROBE_FACES = 16
PROBE_GRID = 20  # the probe faces are PROBE_GRID x PROBE_GRID blocks of noise, scaled up
PROBE_SEED = 14


@dataclass(frozen=True)
class OnnxEmbedder:
    """FaceNet's forward pass in an ONNX Runtime session: (N, 160, 160, 3) float32 in,
    (N, 128) float32 out, like the traced TensorFlow function it replaces."""

    session: Any
    input_name: str

    def __call__(self, inputs: Any) -> np.ndarray:
        batch = np.ascontiguousarray(inputs, dtype=np.float32)
        return self.session.run(None, {self.input_name: batch})[0]


# "all" (with the blocked NCHWc layout): ~20 % less CPU than "extended" for 8 faces (218
# instead of 272 ms on one core), for ~80 MB more memory (docs/performance.md).
FACENET_OPTIMIZATION = "all"


def load_onnx_embedder(path: Path, threads: int | None) -> OnnxEmbedder:
    """An ONNX Runtime session on ``path`` (face_pipeline/onnx_session.py)."""
    session = open_session(path, threads, "FaceNet", FACENET_OPTIMIZATION)
    return OnnxEmbedder(session, session.get_inputs()[0].name)


def probe_faces() -> np.ndarray:
    """A fixed batch of prewhitened 'faces' (smoothed noise) on which both engines must
    agree; the real-face agreement is checked by tests/pipeline."""
    rng = np.random.default_rng(PROBE_SEED)
    coarse = rng.integers(0, 256, size=(PROBE_FACES, PROBE_GRID, PROBE_GRID, 3), dtype=np.uint8)
    scale = FACE_SIZE // PROBE_GRID
    faces = coarse.repeat(scale, axis=1).repeat(scale, axis=2)
    return prewhiten(faces)


def largest_difference(reference: EmbeddingModel, candidate: EmbeddingModel) -> float:
    """Largest component difference of the two engines' L2-normalised embeddings of the probe
    batch, run at batch sizes 1 and 8 (the CLI's and a verification's)."""
    faces = probe_faces()
    worst = 0.0
    for size in (1, 8):
        for start in range(0, len(faces), size):
            batch = faces[start : start + size]
            expected = l2_normalize(np.asarray(reference(batch), dtype=np.float32))
            actual = l2_normalize(np.asarray(candidate(batch), dtype=np.float32))
            worst = max(worst, float(np.abs(expected - actual).max()))
    return worst


def _convert(keras_model: Any, target: Path) -> None:
    import tensorflow as tf  # noqa: PLC0415 - only at install time
    import tf2onnx  # noqa: PLC0415 - only at install time

    signature = [tf.TensorSpec((None, FACE_SIZE, FACE_SIZE, 3), tf.float32, name="faces")]
    try:
        tf2onnx.convert.from_keras(
            keras_model, input_signature=signature, opset=OPSET, output_path=str(target)
        )
    except Exception as error:  # tf2onnx raises whatever its graph rewriters raise
        raise ModelProvisioningError(f"tf2onnx could not convert FaceNet: {error}") from error


def _checked_difference(reference: EmbeddingModel, path: Path) -> float:
    try:
        converted = load_onnx_embedder(path, None)
    except ModelsMissingError as error:
        raise ModelProvisioningError(
            f"tf2onnx produced a FaceNet that ONNX Runtime cannot load: {error}"
        ) from error
    difference = largest_difference(reference, converted)
    if not difference <= ONNX_AGREEMENT_TOLERANCE:
        raise ModelProvisioningError(
            f"The ONNX FaceNet disagrees with TensorFlow by {difference:.2e} (more than "
            f"{ONNX_AGREEMENT_TOLERANCE:.0e}); it was not installed."
        )
    return difference


def install_onnx_facenet(
    models_dir: Path, reference: EmbeddingModel, keras_model: Any
) -> OnnxRecord:
    """Convert the Keras FaceNet to ONNX under ``models_dir`` and record the conversion.

    ``reference`` is the TensorFlow forward pass the conversion must agree with (the app's
    own traced function); nothing is installed when it does not. The old record goes first
    and the new one is written last, so a crash in between leaves no record (not converted)
    rather than a record of another file."""
    target = onnx_model_path(models_dir)
    make_model_dir(models_dir, target.parent)
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".part")
    os.close(handle)
    partial = Path(name)
    try:
        _convert(keras_model, partial)
        difference = _checked_difference(reference, partial)
        record = OnnxRecord(
            source_sha256=WEIGHTS_SHA256,
            onnx_sha256=sha256_of(partial),
            opset=OPSET,
            converter=_converter_version(),
            largest_difference=difference,
        )
        onnx_record_path(models_dir).unlink(missing_ok=True)
        publish_model_file(partial, target)  # mkstemp made it 0600
    finally:
        partial.unlink(missing_ok=True)
    write_onnx_record(models_dir, record)
    return record


def _converter_version() -> str:
    import onnxruntime  # noqa: PLC0415
    import tf2onnx  # noqa: PLC0415

    return f"tf2onnx {tf2onnx.__version__}, onnxruntime {onnxruntime.__version__}"
