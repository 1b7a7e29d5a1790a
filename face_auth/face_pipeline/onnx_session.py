"""ONNX Runtime sessions as the app runs them (FaceNet, MTCNN's networks, the landmarks)."""

from pathlib import Path
from typing import Any

from face_auth.model_store import ModelsMissingError


def open_session(path: Path, threads: int | None, name: str, optimization: str = "all") -> Any:
    """A CPU session on ``path`` with ``threads`` intra-op threads (None or 0: one per core).

    Its threads do not spin between calls: a request runs several small models one after
    the other, and spinning threads took the cores from the next one (measured with FaceNet
    beside TensorFlow's MTCNN: 255 instead of 201 ms for a request's pipeline). No memory
    arena: it kept ~20 MB more at its peak, for no measurable speed. A file ONNX Runtime
    cannot load raises ModelsMissingError naming the fix. ``optimization``: ONNX Runtime's
    graph optimisation level; "all" adds the layout changes (NCHWc) that suit most models
    here but not PNet (docs/performance.md)."""
    import onnxruntime as ort  # noqa: PLC0415 - loaded with the other models

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or 0
    options.inter_op_num_threads = 1
    options.enable_cpu_mem_arena = False
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.graph_optimization_level = {
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    }[optimization]
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own untyped errors for bad files
        raise ModelsMissingError(
            f"The ONNX {name} at {path} cannot be loaded ({error}). Delete it and run "
            "`face-auth models install`."
        ) from error
