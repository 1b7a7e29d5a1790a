"""Process memory settings."""

import ctypes

_M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h)


def limit_malloc_arenas(count: int) -> bool:
    """Cap glibc's malloc arenas for the threads created from now on; True if glibc took it.

    glibc gives threads that allocate at the same time arenas of their own, up to 8 per core,
    and returns little of their free memory. The app's request, password, TensorFlow and ONNX
    Runtime threads made peak RSS 1238 MB in an 8-client load run, 1166 MB with 2 arenas at
    the same speed (docs/performance.md). Arenas made before the call stay, and the cap is
    ignored once the process has had 8 (glibc fixes its limit then), so it runs at app
    creation. 0 keeps glibc's default.
    """
    if count <= 0:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the process already runs on
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to cap
        return False
    return bool(mallopt(_M_ARENA_MAX, count))
