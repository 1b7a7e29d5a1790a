"""FaceNet input standardisation, batched embedding and embedding arithmetic."""

from typing import Any, Protocol

import numpy as np

IMAGE_DIMS = 3
BATCH_DIMS = 4
MATRIX_DIMS = 2


class EmbeddingModel(Protocol):
    """FaceNet forward pass: (N, 160, 160, 3) float32 to (N, 128), array-like."""

    def __call__(self, inputs: Any) -> Any: ...


def prewhiten(faces: np.ndarray) -> np.ndarray:
    """Per-image standardisation: (x - mean) / max(std, 1 / sqrt(n)), n = pixels x channels.

    Accepts one (H, W, C) image or a (N, H, W, C) batch; returns float32 of the same shape.
    This is how Taniai's Keras FaceNet was trained (RGB input, not scaled to [0, 1]).
    """
    values = np.asarray(faces, dtype=np.float64)
    axes = tuple(range(values.ndim - IMAGE_DIMS, values.ndim))
    size = values[0].size if values.ndim == BATCH_DIMS else values.size
    mean = values.mean(axis=axes, keepdims=True)
    std = np.maximum(values.std(axis=axes, keepdims=True), 1.0 / np.sqrt(size))
    return ((values - mean) / std).astype(np.float32)


def l2_normalize(vectors: np.ndarray, epsilon: float = 1e-10) -> np.ndarray:
    """Scale each row (or a single vector) to unit length."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, epsilon)


def run_model(model: EmbeddingModel, inputs: np.ndarray) -> np.ndarray:
    """Raw model outputs for an already preprocessed (N, 160, 160, 3) batch, one call."""
    if inputs.ndim != BATCH_DIMS or inputs.shape[0] == 0:
        raise ValueError(f"expected a non-empty (N, H, W, 3) batch, got {inputs.shape}")
    outputs = model(inputs)
    return np.asarray(outputs, dtype=np.float32)


def embed_faces(model: EmbeddingModel, faces: np.ndarray) -> np.ndarray:
    """L2-normalised embeddings (N, 128) of aligned uint8 RGB faces, in one batched call."""
    return l2_normalize(run_model(model, prewhiten(faces)))


def mean_embedding(embeddings: np.ndarray) -> np.ndarray:
    """Unit-length mean of unit-length embeddings (N, D) -> (D,): the rows are embed_faces'
    output, normalised there once; only their mean is scaled here."""
    embeddings = np.asarray(embeddings, dtype=np.float32)
    if embeddings.ndim != MATRIX_DIMS or embeddings.shape[0] == 0:
        raise ValueError(f"expected a non-empty (N, D) array, got {embeddings.shape}")
    return l2_normalize(embeddings.mean(axis=0))


def cosine_similarity(first: np.ndarray, second: np.ndarray) -> float:
    """Cosine of the angle between two vectors, in [-1, 1]."""
    a = np.asarray(first, dtype=np.float64).ravel()
    b = np.asarray(second, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"shape mismatch: {a.shape} vs {b.shape}")
    denominator = np.linalg.norm(a) * np.linalg.norm(b)
    if denominator == 0.0:
        return 0.0
    return float(np.clip(a @ b / denominator, -1.0, 1.0))
