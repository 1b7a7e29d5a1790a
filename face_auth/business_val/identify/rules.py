"""Identify mode's numbers (1:N, docs/accuracy.md "Identify"): the threshold for a gallery of N
templates, the best-versus-second margin, and the one-matrix-product search. Pure functions
over arrays: the evaluation tool (face_auth_tools/identification.py) decides with the same."""

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

# Where the impostor distribution's upper tail is read for its spread (see tail_spread).
TAIL_QUANTILE = 0.99


@dataclass(frozen=True)
class ImpostorModel:
    """Impostor cosine similarities (template against another person's probe), measured on a
    dataset: their mean and a spread that describes the upper tail (a normal model fitted to
    it; docs/accuracy.md gives the numbers and where they come from)."""

    mean: float
    spread: float

    def per_comparison_threshold(self, false_match_rate: float) -> float:
        """The similarity one impostor comparison reaches with probability
        ``false_match_rate`` under the model."""
        z = NormalDist().inv_cdf(1.0 - false_match_rate)
        return self.mean + z * self.spread


def tail_spread(scores: np.ndarray, quantile: float = TAIL_QUANTILE) -> float:
    """A normal spread for the upper tail: the larger of the standard deviation and the one a
    normal with this mean would need to reach the measured ``quantile`` (heavier tails than a
    normal's give a larger spread, hence a higher, safer threshold)."""
    if scores.size < 2:  # noqa: PLR2004 - a spread needs two scores
        raise ValueError("need at least two impostor scores")
    mean = float(scores.mean())
    z = NormalDist().inv_cdf(quantile)
    from_quantile = (float(np.quantile(scores, quantile)) - mean) / z
    return max(float(scores.std(ddof=1)), from_quantile)


def impostor_model(scores: np.ndarray) -> ImpostorModel:
    return ImpostorModel(mean=float(scores.mean()), spread=tail_spread(scores))


@dataclass(frozen=True)
class IdentifyPolicy:
    """The numbers come from Settings (one place for defaults)."""

    # The gallery size the threshold is set for; a larger actual gallery raises it.
    gallery_size: int
    # False identifications allowed per search of a stranger (1e-4: 1 in 10,000 searches).
    false_identification_rate: float
    # The best candidate must beat the second by this much.
    margin: float
    impostors: ImpostorModel
    # Never below the 1:1 threshold: a search is at least as strict as one verification.
    floor: float

    def threshold(self, gallery_size: int = 0) -> float:
        """The similarity a best candidate needs in a gallery of ``max(gallery_size,
        self.gallery_size)`` templates. A search compares a probe with N templates, so its
        false-identification rate is 1 - (1 - FMR)^N <= N * FMR: each comparison may falsely
        match with probability at most FIR / N."""
        size = max(gallery_size, self.gallery_size, 1)
        per_comparison = self.false_identification_rate / size
        return max(self.floor, self.impostors.per_comparison_threshold(per_comparison))


@dataclass(frozen=True)
class Candidates:
    """The best and second-best rows of one search (second: -1 when the gallery holds one)."""

    best_row: int
    best: float
    second: float


def search(gallery: np.ndarray, probe: np.ndarray) -> Candidates | None:
    """One matrix product: the cosine similarity of the unit-length ``probe`` (D,) with every
    unit-length row of ``gallery`` (N, D); None for an empty gallery."""
    if gallery.shape[0] == 0:
        return None
    scores = gallery @ probe.astype(gallery.dtype, copy=False)
    if scores.shape[0] == 1:
        return Candidates(0, float(scores[0]), -1.0)
    top_two = np.argpartition(scores, -2)[-2:]
    second_row, best_row = sorted(top_two, key=lambda row: scores[row])
    return Candidates(int(best_row), float(scores[best_row]), float(scores[second_row]))


def accepts(candidates: Candidates | None, threshold: float, margin: float) -> bool:
    """A match only when the best candidate reaches the threshold and clearly beats the
    second: two enrolled people both close to the probe give no answer rather than a guess."""
    return (
        candidates is not None
        and candidates.best >= threshold
        and candidates.best - candidates.second >= margin
    )
