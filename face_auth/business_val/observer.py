"""What the rules report for monitoring. The HTTP layer plugs in a Prometheus implementation;
the rules never import a metrics library."""

from collections.abc import Mapping
from typing import Protocol


class AuthObserver(Protocol):
    def login_attempt(self, factor: str, outcome: str) -> None: ...

    def face_similarity(self, similarity: float) -> None: ...

    def pipeline_timings(self, seconds_by_stage: Mapping[str, float]) -> None: ...

    def security_event(self, event: str) -> None:
        """Holds started, codes issued, used or refused (a bounded set of event names)."""


class NullObserver:
    def login_attempt(self, factor: str, outcome: str) -> None:
        pass

    def face_similarity(self, similarity: float) -> None:
        pass

    def pipeline_timings(self, seconds_by_stage: Mapping[str, float]) -> None:
        pass

    def security_event(self, event: str) -> None:
        pass
