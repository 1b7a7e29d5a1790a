"""LoginAttemptRepository.reserve under concurrent first attempts, against the real database."""

import threading
import uuid
from datetime import timedelta

from face_auth.data_access import Database, LoginAttemptRepository
from face_auth.utils import utc_now

THREADS = 12


def reserve_at_once(attempts: LoginAttemptRepository, key: str, allowance: int) -> list[bool]:
    """THREADS requests reserve under one fresh key at the same moment; True for each that
    got an attempt."""
    barrier = threading.Barrier(THREADS)
    taken: list[bool] = []
    lock = threading.Lock()

    def reserve() -> None:
        barrier.wait()
        record = attempts.reserve(key, utc_now(), allowance, timedelta(minutes=10))
        with lock:
            taken.append(record is not None)

    threads = [threading.Thread(target=reserve) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return taken


def test_concurrent_first_attempts_under_the_allowance_all_get_one(database: Database) -> None:
    # Seen in a soak test: a request that missed the conditional update before a concurrent
    # one created the record read that record and refused, with attempts left (429).
    attempts = LoginAttemptRepository(database)
    for _ in range(10):
        key = f"register:{uuid.uuid4().hex}"
        assert reserve_at_once(attempts, key, allowance=100) == [True] * THREADS
        record = attempts.get(key, utc_now())
        assert record is not None and record.failures == THREADS


def test_concurrent_attempts_never_take_more_than_the_allowance(database: Database) -> None:
    attempts = LoginAttemptRepository(database)
    for _ in range(5):
        taken = reserve_at_once(attempts, f"login:{uuid.uuid4().hex}", allowance=5)
        assert taken.count(True) == 5
