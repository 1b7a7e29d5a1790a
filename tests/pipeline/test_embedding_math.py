from typing import Any

import numpy as np
import pytest

from face_auth.face_pipeline import (
    cosine_similarity,
    embed_faces,
    l2_normalize,
    mean_embedding,
    prewhiten,
)


def faces(count: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, 160, 160, 3), dtype=np.uint8)


def test_prewhiten_standardises_each_image() -> None:
    batch = faces(3)
    batch[1] //= 4  # a darker, lower-contrast image
    out = prewhiten(batch)
    assert out.dtype == np.float32
    assert out.shape == batch.shape
    for image in out:
        assert image.mean() == pytest.approx(0.0, abs=1e-4)
        assert image.std() == pytest.approx(1.0, abs=1e-4)


def test_prewhiten_matches_the_formula_and_batches() -> None:
    image = faces(1, seed=4)[0].astype(np.float64)
    expected = (image - image.mean()) / max(image.std(), 1 / np.sqrt(image.size))
    np.testing.assert_allclose(prewhiten(image), expected, rtol=1e-5, atol=1e-5)
    batch = faces(4, seed=5)
    np.testing.assert_allclose(prewhiten(batch)[2], prewhiten(batch[2]), atol=1e-6)


def test_prewhiten_ignores_brightness_and_contrast_changes() -> None:
    image = faces(1, seed=6)[0].astype(np.float32) / 2
    np.testing.assert_allclose(prewhiten(image), prewhiten(image * 1.5 + 40), atol=1e-4)


def test_prewhiten_of_a_flat_image_is_zero_not_nan() -> None:
    out = prewhiten(np.full((160, 160, 3), 77, dtype=np.uint8))
    assert np.all(np.isfinite(out))
    assert np.abs(out).max() == 0.0


def test_l2_normalize_and_mean_embedding() -> None:
    vectors = np.random.default_rng(7).normal(size=(5, 128))
    unit = l2_normalize(vectors)
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), 1.0, rtol=1e-6)
    mean = mean_embedding(unit)
    assert np.linalg.norm(mean) == pytest.approx(1.0, rel=1e-6)
    expected = unit.mean(axis=0) / np.linalg.norm(unit.mean(axis=0))
    np.testing.assert_allclose(mean, expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="non-empty"):
        mean_embedding(np.zeros((0, 128)))


def test_cosine_similarity() -> None:
    a = np.array([1.0, 0.0, 0.0])
    assert cosine_similarity(a, np.array([2.0, 0.0, 0.0])) == pytest.approx(1.0)
    assert cosine_similarity(a, np.array([0.0, 3.0, 0.0])) == pytest.approx(0.0)
    assert cosine_similarity(a, np.array([-1.0, 1.0, 0.0])) == pytest.approx(-np.sqrt(0.5))
    assert cosine_similarity(a, np.zeros(3)) == 0.0
    with pytest.raises(ValueError, match="shape"):
        cosine_similarity(a, np.ones(4))


class CountingModel:
    """Stands in for FaceNet: records each call, returns the per-image mean of channel 0."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, ...]] = []
        self.inputs: list[np.ndarray] = []

    def __call__(self, inputs: Any) -> np.ndarray:
        self.calls.append(inputs.shape)
        self.inputs.append(inputs)
        features = np.zeros((inputs.shape[0], 128), dtype=np.float32)
        features[:, 0] = 1.0
        features[:, 1] = inputs[..., 0].mean(axis=(1, 2))
        return features


def test_embed_faces_makes_one_call_with_prewhitened_input() -> None:
    model = CountingModel()
    batch = faces(6, seed=8)
    embeddings = embed_faces(model, batch)
    assert model.calls == [(6, 160, 160, 3)]
    np.testing.assert_allclose(model.inputs[0], prewhiten(batch), atol=1e-6)
    assert embeddings.shape == (6, 128)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, rtol=1e-6)
