"""Identify mode's numbers, without a database: the threshold for N, the margin, the search."""

from statistics import NormalDist

import numpy as np
import pytest

from face_auth.business_val.identify.rules import (
    Candidates,
    IdentifyPolicy,
    ImpostorModel,
    accepts,
    impostor_model,
    search,
    tail_spread,
)

IMPOSTORS = ImpostorModel(mean=0.0, spread=0.13)


def policy(gallery_size: int = 10_000, rate: float = 1e-4, floor: float = 0.0) -> IdentifyPolicy:
    return IdentifyPolicy(gallery_size, rate, 0.05, IMPOSTORS, floor)


def unit_rows(count: int, seed: int = 0) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((count, 128)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_threshold_keeps_the_false_identification_rate_per_search_below_the_target() -> None:
    rules = policy()
    threshold = rules.threshold()
    # Under the impostor model, N comparisons at this threshold falsely match at most FIR.
    per_comparison = 1 - NormalDist(0.0, 0.13).cdf(threshold)
    assert 1 - (1 - per_comparison) ** 10_000 <= 1e-4 * 1.0001
    assert threshold == pytest.approx(0.13 * 5.612, abs=0.002)  # z for 1e-8


def test_threshold_rises_with_the_gallery_and_a_stricter_target_never_below_the_floor() -> None:
    base = policy().threshold()
    assert policy(gallery_size=1_000_000).threshold() > base
    assert policy(rate=1e-6).threshold() > base
    # A gallery larger than configured raises it too; a smaller one does not lower it.
    assert policy().threshold(gallery_size=1_000_000) > base
    assert policy().threshold(gallery_size=10) == base
    assert policy(floor=0.95).threshold() == 0.95


def test_tail_spread_grows_with_a_heavier_tail_than_a_normal() -> None:
    rng = np.random.default_rng(3)
    normal = rng.normal(0.0, 0.1, 20_000)
    assert tail_spread(normal) == pytest.approx(0.1, rel=0.05)
    heavy = np.concatenate([normal, rng.normal(0.45, 0.05, 600)])  # a cluster of look-alikes
    assert tail_spread(heavy) > heavy.std(ddof=1) > 0.1
    model = impostor_model(heavy)
    assert model.spread == tail_spread(heavy)
    assert model.mean == pytest.approx(heavy.mean())
    with pytest.raises(ValueError):
        tail_spread(np.array([0.1]))


def test_search_finds_the_best_and_second_rows_with_one_product() -> None:
    gallery = unit_rows(1000)
    probe = gallery[417] + 0.05 * unit_rows(1, seed=9)[0]
    probe /= np.linalg.norm(probe)
    found = search(gallery, probe)
    assert found is not None
    scores = gallery @ probe
    assert found.best_row == 417 == int(np.argmax(scores))
    assert found.best == pytest.approx(float(scores.max()), abs=1e-6)
    assert found.second == pytest.approx(float(np.sort(scores)[-2]), abs=1e-6)
    assert search(gallery[:0], probe) is None
    single = search(gallery[:1], gallery[0])
    assert single is not None and (single.best_row, single.second) == (0, -1.0)


def test_a_match_needs_the_threshold_and_the_margin_over_the_second() -> None:
    assert accepts(Candidates(0, 0.80, 0.20), 0.72, 0.05)
    assert not accepts(Candidates(0, 0.71, 0.20), 0.72, 0.05)  # below the threshold
    assert not accepts(Candidates(0, 0.80, 0.77), 0.72, 0.05)  # two close candidates
    assert not accepts(None, 0.72, 0.05)
