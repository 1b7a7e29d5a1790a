"""Load MTCNN, the landmark model and FaceNet-128d once per process, from local files only:
on ONNX Runtime and LiteRT (the "onnx" engine, the app's: no TensorFlow in the process), or the
TensorFlow originals (the "tensorflow" engine: mtcnn's Keras networks, TFLite, deepface's
Keras FaceNet), the reference the conversions are checked against. The conversions run at
install time (``provision_onnx_facenet``, ``provision_onnx_detectors``,
``provision_int8_facenet``); with ``int8`` the "onnx" engine runs FaceNet's INT8 quantisation."""

import importlib.util
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from face_auth.constant import DetectorRuntime, EmbedderKind, LandmarkRuntime
from face_auth.face_pipeline.config import FACE_SIZE, PipelineConfig
from face_auth.face_pipeline.decode import decode_image
from face_auth.face_pipeline.detect import FaceDetector, detect_faces_batch
from face_auth.face_pipeline.embed import EmbeddingModel
from face_auth.face_pipeline.landmarks import (
    LANDMARK_BATCH,
    LANDMARK_INPUT,
    LandmarkModel,
    load_landmark_model,
    load_litert_landmark_model,
    load_onnx_landmark_model,
)
from face_auth.face_pipeline.onnx_facenet import install_onnx_facenet, load_onnx_embedder
from face_auth.face_pipeline.onnx_mtcnn import NETWORKS, load_litert_mtcnn, load_onnx_mtcnn
from face_auth.model_store import (
    FACENET_INT8,
    FACENET_ONNX,
    LANDMARK_ONNX,
    MTCNN_ONNX,
    MTCNN_TFLITE,
    ModelsMissingError,
    OnnxRecord,
    model_status,
    onnx_status,
    read_onnx_record,
    require_landmark_model,
    require_models,
    require_onnx_model,
)


class ModelLoadError(Exception):
    """The models could not be built in this process."""

    code = "model_load_failed"


EMBEDDING_SIZE = 128


@dataclass(frozen=True)
class FaceModels:
    """The loaded models: ``embedder`` is FaceNet's forward pass (ONNX Runtime, or the traced
    TensorFlow function, whose Keras model is then ``keras_model``), ``landmarker``
    MediaPipe's 468-point face-landmark model (None only where a test builds models without
    it); ``weights_path``, FaceNet's Keras weights, with the "tensorflow" engine only."""

    detector: FaceDetector
    embedder: EmbeddingModel
    embedder_kind: EmbedderKind
    keras_model: Any
    weights_path: Path | None
    load_seconds: float
    landmarker: LandmarkModel | None = None


def _configure_tensorflow(intra_op_threads: int | None, inter_op_threads: int | None) -> None:
    """Thread limits must be set before TensorFlow runs its first op in the process."""
    if importlib.util.find_spec("tensorflow") is None:
        raise ModelLoadError(
            "This needs TensorFlow and the reference models, the install-time tools: pip "
            "install -r requirements-ml.txt (the image has only what serving needs)."
        )
    import tensorflow as tf  # noqa: PLC0415 - only after the environment is set

    threading = tf.config.threading
    try:
        if intra_op_threads and threading.get_intra_op_parallelism_threads() != intra_op_threads:
            threading.set_intra_op_parallelism_threads(intra_op_threads)
        if inter_op_threads and threading.get_inter_op_parallelism_threads() != inter_op_threads:
            threading.set_inter_op_parallelism_threads(inter_op_threads)
    except RuntimeError as error:
        raise ModelLoadError(
            f"TensorFlow is already initialised, thread limits cannot change ({error})."
        ) from error


def _compile_embedder(keras_model: Any) -> EmbeddingModel:
    """Wrap the Keras model in one traced tf.function for any batch size.

    Calling the Keras model eagerly costs ~570 ms per call on 2 cores whatever the batch
    size, and ``predict_on_batch`` ~160 ms; the traced function runs one face in ~65 ms.
    """
    import tensorflow as tf  # noqa: PLC0415 - only after the environment is set

    signature = [tf.TensorSpec(shape=(None, FACE_SIZE, FACE_SIZE, 3), dtype=tf.float32)]

    @tf.function(input_signature=signature)
    def forward(batch: tf.Tensor) -> tf.Tensor:
        return keras_model(batch, training=False)

    return forward


def _network_function(network: Any) -> Any:
    """One trace of an MTCNN network's forward pass for any batch and image size."""
    import tensorflow as tf  # noqa: PLC0415 - only after the environment is set

    signature = [tf.TensorSpec(shape=(None, None, None, 3), dtype=tf.float32)]
    return tf.function(network.call, input_signature=signature)


def _compile_detector(detector: Any) -> None:
    """Trace each MTCNN network once instead of running it eagerly (~3x faster detection).

    mtcnn 1.0 calls its PNet/RNet/ONet Keras models eagerly, once per pyramid level. This
    swaps each stage's model for a tf.function, through the private ``_model`` attribute
    of mtcnn 1.0.0's stages (the version is pinned); it is skipped if that has changed.
    """
    for stage in detector.stages:
        if hasattr(stage, "_model") and stage.model is not None:
            stage._model = _network_function(stage.model)


# Batches the face step embeds: 1 (the CLI) to 8 frames (a verification).
WARM_BATCH_SIZES = range(1, 9)
# The browser's camera frames (static/js/face_capture.js), 8 to a request, detected in one
# batch (detect_faces_batch) at the default detector_min_face_px.
WARM_FRAME_SHAPE = (480, 640, 3)
WARM_FRAMES = 8
# The landmark model takes a challenge's frames' faces LANDMARK_BATCH at a time, or fewer.
WARM_LANDMARK_BATCHES = (1, LANDMARK_BATCH)
# The input each of mtcnn 1.0's networks takes (PNet any size: its smallest pyramid level).
_MTCNN_INPUT_SIDE = {"StagePNet": 12, "StageRNet": 24, "StageONet": 48}
WARM_SEED = 14


def warm_up_frames() -> list[np.ndarray]:
    """Camera-sized frames of smooth noise: no face, but PNet proposes hundreds of boxes in
    them, so a batch runs all of mtcnn's code (RNet on ~600 patches, ONet on ~24), which a
    blank frame does not (no candidates after PNet)."""
    rng = np.random.default_rng(WARM_SEED)
    height, width, channels = WARM_FRAME_SHAPE
    coarse = rng.integers(0, 256, (WARM_FRAMES, height // 8, width // 8, channels), np.uint8)
    return [cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC) for small in coarse]


def _warm_up(detector: Any, embedder: EmbeddingModel, landmarker: LandmarkModel) -> None:
    """Run every model once at each input shape it will meet, and the libraries' first-use
    paths, so that the first verification costs what later ones do: JPEG decoding, PNet on
    a full-size frame and on a request's batch of camera frames at every pyramid level, RNet
    and ONet on the candidates, FaceNet at each batch size, the landmark model."""
    frames = warm_up_frames()
    decode_image(cv2.imencode(".jpg", frames[0])[1].tobytes(), PipelineConfig())
    detector.detect_faces(np.zeros(WARM_FRAME_SHAPE, dtype=np.float32))
    detect_faces_batch(detector, frames, PipelineConfig())
    for stage in getattr(detector, "stages", ()):  # mtcnn's traced Keras networks
        side = _MTCNN_INPUT_SIDE.get(type(stage).__name__)
        if side is not None and getattr(stage, "_model", None) is not None:
            stage._model(np.zeros((2, side, side, 3), dtype=np.float32))
    for batch in WARM_BATCH_SIZES:
        embedder(np.zeros((batch, FACE_SIZE, FACE_SIZE, 3), dtype=np.float32))
    for batch in WARM_LANDMARK_BATCHES:
        landmarker(np.zeros((batch, LANDMARK_INPUT, LANDMARK_INPUT, 3), dtype=np.float32))


def _prepare_tensorflow(
    models_dir: Path, intra_op_threads: int | None, inter_op_threads: int | None
) -> None:
    os.environ["DEEPFACE_HOME"] = str(Path(models_dir).resolve())
    # deepface needs the Keras 2 API (tf-keras); this must precede the first TF import.
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    # 3 hides the C++ "failed call to cuInit" error on machines without a GPU.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    _configure_tensorflow(intra_op_threads, inter_op_threads)


def _build_keras_facenet() -> Any:
    """deepface's FaceNet-128d Keras model, from the installed weights."""
    # Imported here: TensorFlow reads TF_USE_LEGACY_KERAS and deepface DEEPFACE_HOME.
    from deepface import DeepFace  # noqa: PLC0415

    keras_model = DeepFace.build_model(model_name="Facenet", task="facial_recognition").model
    if not type(keras_model).__module__.startswith("tf_keras"):
        raise ModelLoadError(
            f"FaceNet was built with {type(keras_model).__module__}, not tf_keras: TensorFlow "
            "was imported before load_models without TF_USE_LEGACY_KERAS=1."
        )
    if tuple(keras_model.output_shape) != (None, EMBEDDING_SIZE):
        raise ModelLoadError(f"unexpected FaceNet output shape {keras_model.output_shape}")
    return keras_model


def provision_onnx_facenet(models_dir: Path) -> OnnxRecord:
    """Convert the installed Keras FaceNet to ONNX (checked against it), unless a verified
    conversion is there; return the conversion record. Run by `face-auth models install`."""
    record = read_onnx_record(models_dir)
    if record is not None and onnx_status(models_dir).installed:
        return record
    weights = model_status(models_dir)
    if not weights.installed:
        raise ModelsMissingError(f"FaceNet weights at {weights.weights_path}: {weights.detail}")
    _prepare_tensorflow(models_dir, None, None)
    keras_model = _build_keras_facenet()
    return install_onnx_facenet(models_dir, _compile_embedder(keras_model), keras_model)


def provision_onnx_detectors(models_dir: Path) -> dict[str, OnnxRecord]:
    """Convert MTCNN's networks and the landmark model to ONNX (each checked against its
    original), unless verified conversions are there. Run by `face-auth models install`."""
    from face_auth.face_pipeline.onnx_conversion import convert_detectors  # noqa: PLC0415

    require_landmark_model(models_dir)
    _prepare_tensorflow(models_dir, None, None)
    return convert_detectors(models_dir)


def _load_onnx_detectors(
    models_dir: Path,
    landmark_path: Path,
    threads: int | None,
    landmark_runtime: LandmarkRuntime,
    detector_runtime: DetectorRuntime,
) -> tuple[Any, LandmarkModel]:
    if detector_runtime == "litert":
        tflite = {name: require_onnx_model(models_dir, MTCNN_TFLITE[name]) for name in NETWORKS}
        detector = load_litert_mtcnn(tflite, threads)
    else:
        onnx = {name: require_onnx_model(models_dir, MTCNN_ONNX[name]) for name in NETWORKS}
        detector = load_onnx_mtcnn(onnx, threads)
    if landmark_runtime == "litert":
        landmarker: LandmarkModel = load_litert_landmark_model(landmark_path, threads)
    else:
        landmarker = load_onnx_landmark_model(
            require_onnx_model(models_dir, LANDMARK_ONNX), threads
        )
    return detector, landmarker


def _load_tensorflow_detectors(
    landmark_path: Path, compile_detector: bool
) -> tuple[Any, LandmarkModel]:
    from mtcnn import MTCNN  # noqa: PLC0415 - imports TensorFlow, after _prepare_tensorflow

    detector = MTCNN()
    if compile_detector:
        _compile_detector(detector)
    return detector, load_landmark_model(landmark_path)


def load_models(
    models_dir: Path,
    *,
    engine: EmbedderKind,
    intra_op_threads: int | None = None,
    inter_op_threads: int | None = None,
    compile_detector: bool = True,
    warm_up: bool = True,
    int8: bool = False,
    landmark_runtime: LandmarkRuntime = "litert",
    detector_runtime: DetectorRuntime = "litert",
) -> FaceModels:
    """Build the detector, the landmark model and the embedder, then (optionally) run each
    once to warm up.

    Call once at start-up and pass the result to the pipeline functions. ``engine`` picks
    the engine of every model: "onnx" (FaceNet's conversion on ONNX Runtime, MTCNN's TFLite
    conversions and the landmark model's own file on LiteRT, unless ``detector_runtime`` or
    ``landmark_runtime`` is "onnx": their ONNX conversions; TensorFlow, deepface and mtcnn
    are not imported) or "tensorflow" (the originals, the reference).
    The thread limits apply to ONNX Runtime's sessions, LiteRT's interpreter and, with the
    "tensorflow" engine and if TensorFlow has not run anything yet in the process, to
    TensorFlow.
    ``compile_detector`` traces mtcnn's Keras networks (the "tensorflow" engine only).
    Raises ModelsMissingError (from face_auth.model_store) when a model is not installed.
    deepface reads ``$DEEPFACE_HOME/.deepface/weights/facenet_weights.h5`` and downloads
    nothing when it exists; the weights are loaded in layer order, not by name.
    """
    started = time.perf_counter()
    landmark_path = require_landmark_model(models_dir)
    keras_model = weights = None
    if engine == "onnx":
        facenet = FACENET_INT8 if int8 else FACENET_ONNX
        forward: EmbeddingModel = load_onnx_embedder(
            require_onnx_model(models_dir, facenet), intra_op_threads
        )
        detector, landmarker = _load_onnx_detectors(
            models_dir, landmark_path, intra_op_threads, landmark_runtime, detector_runtime
        )
    else:
        weights = require_models(models_dir)
        _prepare_tensorflow(models_dir, intra_op_threads, inter_op_threads)
        keras_model = _build_keras_facenet()
        forward = _compile_embedder(keras_model)
        detector, landmarker = _load_tensorflow_detectors(landmark_path, compile_detector)
    if warm_up:
        _warm_up(detector, forward, landmarker)
    return FaceModels(
        detector=detector,
        embedder=forward,
        embedder_kind=engine,
        keras_model=keras_model,
        weights_path=weights,
        load_seconds=time.perf_counter() - started,
        landmarker=landmarker,
    )
