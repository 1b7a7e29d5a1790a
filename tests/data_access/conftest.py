from tests.business_val.conftest import database

__all__ = ["database"]
