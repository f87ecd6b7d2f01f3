"""Django's SMTP backend, sending the bytes wire.py writes for the messages it knows.

Everything else is Django's: the connection, TLS, authentication, envelope addresses and the
errors raised. Only turning a message into bytes is replaced, and only where wire.py returns
bytes (it returns None for any message of another shape, which then goes Django's way).
"""

from __future__ import annotations

import smtplib

from django.conf import settings
from django.core.mail.backends import smtp
from django.core.mail.message import sanitize_address

from . import wire


class EmailBackend(smtp.EmailBackend):
    # Whether the last message's content had started going to the server (its DATA command was
    # issued): a send cut off after that may have been delivered (sending.py says so).
    content_sent = False

    def _send(self, email_message) -> bool:
        self.content_sent = False
        connection = self.connection
        if connection is None:
            return super()._send(email_message)
        data = connection.data

        def data_then_content(msg):
            self.content_sent = True
            return data(msg)

        connection.data = data_then_content  # sendmail calls self.data(msg)
        try:
            return self._send_bytes(email_message)
        finally:
            del connection.data

    def _send_bytes(self, email_message) -> bool:
        raw = wire.message_bytes(email_message) if email_message.recipients() else None
        if raw is None:
            return super()._send(email_message)
        encoding = email_message.encoding or settings.DEFAULT_CHARSET
        from_email = sanitize_address(email_message.from_email, encoding)
        recipients = [sanitize_address(a, encoding) for a in email_message.recipients()]
        try:
            self.connection.sendmail(from_email, recipients, raw)
        except smtplib.SMTPException:
            if not self.fail_silently:
                raise
            return False
        return True
