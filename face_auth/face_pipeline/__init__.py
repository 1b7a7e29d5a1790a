"""Face pipeline: bytes -> checked, aligned faces -> one 128-d FaceNet embedding.

Pure functions over arrays; no web framework or database. Load the models once with
``load_models`` and pass them (and a ``PipelineConfig``) to the other functions.
"""

from face_auth.face_pipeline.align import align_face
from face_auth.face_pipeline.config import FACE_SIZE, PipelineConfig
from face_auth.face_pipeline.decode import decode_image
from face_auth.face_pipeline.detect import detect_faces, detect_faces_batch, select_face
from face_auth.face_pipeline.embed import (
    cosine_similarity,
    embed_faces,
    l2_normalize,
    mean_embedding,
    prewhiten,
)
from face_auth.face_pipeline.models import (
    FaceModels,
    ModelLoadError,
    load_models,
    provision_onnx_detectors,
    provision_onnx_facenet,
)
from face_auth.face_pipeline.pipeline import (
    analyse_frame,
    analyse_rgb,
    embed_and_judge,
    embed_frames,
)
from face_auth.face_pipeline.results import (
    REASONS,
    EmbeddingResult,
    FaceDetection,
    FrameRejected,
    FrameResult,
    ReasonCode,
)

__all__ = [
    "FACE_SIZE",
    "REASONS",
    "EmbeddingResult",
    "FaceDetection",
    "FaceModels",
    "FrameRejected",
    "FrameResult",
    "ModelLoadError",
    "PipelineConfig",
    "ReasonCode",
    "align_face",
    "analyse_frame",
    "analyse_rgb",
    "cosine_similarity",
    "decode_image",
    "detect_faces",
    "detect_faces_batch",
    "embed_and_judge",
    "embed_faces",
    "embed_frames",
    "l2_normalize",
    "load_models",
    "mean_embedding",
    "prewhiten",
    "provision_onnx_detectors",
    "provision_onnx_facenet",
    "select_face",
]
