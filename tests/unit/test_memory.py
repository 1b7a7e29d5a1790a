"""limit_malloc_arenas: glibc's arenas per process, counted by malloc_stats in a fresh one."""

import subprocess
import sys

import pytest

from face_auth.utils.memory import limit_malloc_arenas

# 16 threads alive at once, each allocating: glibc gives each new thread an arena of its own
# up to its limit (8 per core), then prints one "Arena N:" block per arena.
PROGRAM = """
import ctypes, sys, threading
from face_auth.utils.memory import limit_malloc_arenas
if sys.argv[1] != "0":
    assert limit_malloc_arenas(int(sys.argv[1]))
barrier = threading.Barrier(16)
def allocate():
    barrier.wait()
    kept = [bytearray(10_000) for _ in range(50)]
    barrier.wait()
threads = [threading.Thread(target=allocate) for _ in range(16)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
ctypes.CDLL(None).malloc_stats()
"""


def arenas_used(limit: int) -> int:
    completed = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(limit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return sum(line.startswith("Arena ") for line in completed.stderr.splitlines())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_the_limit_caps_the_arenas_of_new_threads() -> None:
    assert arenas_used(0) > 2
    assert 1 <= arenas_used(2) <= 2


def test_zero_keeps_the_default() -> None:
    assert limit_malloc_arenas(0) is False
