"""Delivering mail: an SMTP sender (stdlib smtplib), the development stand-in that logs the
link instead, and the queue that runs them off the request. What to send, to whom and when is
decided in business_val (email_links.py); this package only delivers."""

from face_auth.mail.message import OutgoingMail
from face_auth.mail.queue import MailQueue
from face_auth.mail.senders import LinkLogSender, MailSender, SmtpConfig, SmtpSender, mail_sender

__all__ = [
    "LinkLogSender",
    "MailQueue",
    "MailSender",
    "OutgoingMail",
    "SmtpConfig",
    "SmtpSender",
    "mail_sender",
]
