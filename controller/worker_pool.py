from collections.abc import Callable
from functools import partial
from typing import ParamSpec, TypeVar

import anyio
import anyio.to_thread

from face_auth.exception import ServiceBusy

P = ParamSpec("P")
R = TypeVar("R")


class WorkerPool:
    """Runs blocking, CPU-heavy calls (bcrypt) in at most `workers` threads of its own.

    Up to `queue_limit` callers wait, each for at most `max_wait` seconds; past either bound a
    caller gets ServiceBusy (503 with Retry-After). A flood of such calls therefore never takes
    the threads that pages and health checks need.
    """

    def __init__(self, workers: int, queue_limit: int, max_wait: float) -> None:
        self._slots = anyio.CapacityLimiter(workers)
        self._threads = anyio.CapacityLimiter(workers)
        self._queue_limit = queue_limit
        self._max_wait = max_wait

    @property
    def queue_depth(self) -> int:
        return self._slots.statistics().tasks_waiting

    async def run(self, func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        if self._slots.available_tokens == 0 and self.queue_depth >= self._queue_limit:
            raise ServiceBusy()
        acquired = False
        with anyio.move_on_after(self._max_wait):
            await self._slots.acquire()
            acquired = True
        if not acquired:
            raise ServiceBusy()
        try:
            return await anyio.to_thread.run_sync(
                partial(func, *args, **kwargs), limiter=self._threads
            )
        finally:
            self._slots.release()
