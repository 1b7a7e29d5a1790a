"""Every domain error has a code of its own, from the one ErrorCode list."""

from face_auth.exception import ErrorCode, FaceAuthError


def all_error_types() -> list[type[FaceAuthError]]:
    found, pending = [], [FaceAuthError]
    while pending:
        error_type = pending.pop()
        found.append(error_type)
        pending.extend(error_type.__subclasses__())
    return found


def test_no_two_errors_share_a_code() -> None:
    codes = [error_type.code for error_type in all_error_types()]
    assert len(codes) == len(set(codes)), sorted(codes)


def test_every_code_comes_from_the_enum() -> None:
    for error_type in all_error_types():
        assert error_type.code in set(ErrorCode), error_type
