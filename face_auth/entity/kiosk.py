"""A registered kiosk: a client that may call identify (1:N), never a user."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class Kiosk(BaseModel):
    model_config = ConfigDict(frozen=True)

    kiosk_id: str
    name: str
    created_at: datetime
