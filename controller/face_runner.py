from collections.abc import Callable
from functools import partial
from typing import ParamSpec, TypeVar

import anyio
import anyio.to_thread

from face_auth.exception import ServiceBusy

P = ParamSpec("P")
R = TypeVar("R")


class BoundedRunner:
    """Runs CPU-heavy calls (the face pipeline) in worker threads, at most `workers` at once,
    with at most `queue_limit` waiting; beyond that callers get ServiceBusy (503) at once.
    The event loop never runs the work, so other requests are not stalled."""

    def __init__(self, workers: int, queue_limit: int) -> None:
        self._limiter = anyio.CapacityLimiter(workers)
        self._queue_limit = queue_limit

    @property
    def queue_depth(self) -> int:
        return self._limiter.statistics().tasks_waiting

    @property
    def in_flight(self) -> int:
        return int(self._limiter.borrowed_tokens)

    async def run(self, func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        if self.queue_depth >= self._queue_limit and self._limiter.available_tokens == 0:
            raise ServiceBusy()
        return await anyio.to_thread.run_sync(partial(func, *args, **kwargs), limiter=self._limiter)
