from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import ParamSpec, TypeVar

import anyio
import anyio.to_thread

from face_auth.exception import ServiceBusy

P = ParamSpec("P")
R = TypeVar("R")


class BoundedRunner:
    """Runs CPU-heavy calls (the face pipeline) in worker threads, at most `workers` at once,
    with at most `queue_limit` more admitted to wait; beyond that callers get ServiceBusy (503)
    at once. A request takes its place with `slot()` before it reads its upload, so refused
    requests never hold their bodies in memory. The event loop never runs the work, so other
    requests are not stalled."""

    def __init__(self, workers: int, queue_limit: int) -> None:
        self._limiter = anyio.CapacityLimiter(workers)
        self._capacity = workers + queue_limit
        self._admitted = 0

    @property
    def queue_depth(self) -> int:
        """Admitted requests not running yet (reading their upload or waiting for a worker)."""
        return max(0, self._admitted - self.in_flight)

    @property
    def in_flight(self) -> int:
        return int(self._limiter.borrowed_tokens)

    @contextmanager
    def slot(self) -> Iterator[None]:
        """A place in the runner for one request, or ServiceBusy when all are taken. Used on
        the event loop only, so the check and the count cannot interleave."""
        if self._admitted >= self._capacity:
            raise ServiceBusy()
        self._admitted += 1
        try:
            yield
        finally:
            self._admitted -= 1

    async def run(self, func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run `func` on a worker thread; call it inside `slot()`."""
        return await anyio.to_thread.run_sync(partial(func, *args, **kwargs), limiter=self._limiter)
