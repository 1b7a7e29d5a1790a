"""The match rule: a probe embedding against an enrolled template, by cosine similarity and
the configured threshold (FACE_AUTH_FACE_MATCH_THRESHOLD, docs/security.md). The server's
verification and `face-auth compare` both decide with it."""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from face_auth.face_pipeline import cosine_similarity


@dataclass(frozen=True)
class Match:
    similarity: float
    threshold: float

    @property
    def accepted(self) -> bool:
        return self.similarity >= self.threshold


def match(probe: np.ndarray, template: np.ndarray | Sequence[float], threshold: float) -> Match:
    return Match(cosine_similarity(probe, np.asarray(template)), threshold)
