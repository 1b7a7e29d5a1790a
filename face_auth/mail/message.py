from dataclasses import dataclass


@dataclass(frozen=True)
class OutgoingMail:
    """A plain-text mail carrying one link. `kind` and `user_id` name it in the logs (never
    the address); `link` is what the development sender logs instead of mailing."""

    to: str
    subject: str
    text: str
    kind: str
    user_id: str
    link: str
