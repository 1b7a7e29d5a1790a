import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from pymongo.errors import AutoReconnect, ConnectionFailure, ServerSelectionTimeoutError

from face_auth.exception import DatabaseUnavailable

P = ParamSpec("P")
R = TypeVar("R")

_UNAVAILABLE = (AutoReconnect, ConnectionFailure, ServerSelectionTimeoutError)


def translate_unavailable(func: Callable[P, R]) -> Callable[P, R]:
    """Turn pymongo's 'cannot reach the server' errors into the domain's DatabaseUnavailable."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except _UNAVAILABLE as error:
            raise DatabaseUnavailable() from error

    return wrapper
