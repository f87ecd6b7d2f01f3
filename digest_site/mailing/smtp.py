"""Django's SMTP backend, sending the bytes wire.py writes for the messages it knows, and able to
leave a message's final reply on the socket for later.

Everything else is Django's: the connection, TLS, authentication, envelope addresses and the
errors raised. Turning a message into bytes is replaced where wire.py returns bytes (it returns
None for any message of another shape, which then goes Django's way).

The final reply: once a message's content and its closing "." are written, the server takes a
while to store it before it answers. With `defer_reply` set, the send returns right after the
content is written and `finish_pending()` reads the answer later, raising what smtplib's
sendmail would have raised; the caller does its next piece of work (rendering the next digest)
in between. Nothing else is written on the connection before that answer is read.
"""

from __future__ import annotations

import contextlib
import re
import smtplib

from django.conf import settings
from django.core.mail.backends import smtp
from django.core.mail.message import sanitize_address

from . import wire

# A line of the content starting with "." is sent with the dot doubled (RFC 5321 4.5.2).
_LEADING_DOT = re.compile(rb"^\.", re.MULTILINE)


class EmailBackend(smtp.EmailBackend):
    # Whether the last message's content had started going to the server (its DATA command was
    # issued): a send cut off after that may have been delivered (sending.py says so).
    content_sent = False
    # Set by the caller (MailSession.start) for the next send: return before the final reply.
    defer_reply = False
    # A message whose content went out and whose final reply has not been read yet.
    reply_pending = False

    def _send(self, email_message) -> bool:
        if self.reply_pending:  # never two messages' replies in flight on one connection
            self.finish_pending()
        self.content_sent = False
        connection = self.connection
        if connection is None:
            return super()._send(email_message)
        raw = wire.message_bytes(email_message) if email_message.recipients() else None
        defer = self.defer_reply and raw is not None  # Django's way reads its answer itself
        data = connection.data

        def data_then_content(msg):
            self.content_sent = True
            return self._content_without_reply(msg) if defer else data(msg)

        connection.data = data_then_content  # sendmail calls self.data(msg)
        try:
            if raw is None:
                return super()._send(email_message)
            return self._send_bytes(email_message, raw)
        finally:
            del connection.data

    def _content_without_reply(self, content: bytes) -> tuple[int, bytes]:
        """DATA, then the content and its end; the final reply is finish_pending()'s to read."""
        connection = self.connection
        code, reply = connection.docmd("data")
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        quoted = _LEADING_DOT.sub(b"..", content)
        if not quoted.endswith(b"\r\n"):
            quoted += b"\r\n"
        connection.send(quoted + b".\r\n")
        self.reply_pending = True
        return 250, b"reply not read yet"  # what sendmail needs to return normally

    def finish_pending(self) -> None:
        """Read the final reply to the message sent with `defer_reply`; raise as sendmail
        would have for a refusal (SMTPDataError; the session closed on a 421, reset otherwise),
        or SMTPServerDisconnected when the connection broke before the answer."""
        if not self.reply_pending:
            return
        self.reply_pending = False
        connection = self.connection
        code, reply = connection.getreply()
        if code == 250:
            return
        if code == 421:
            connection.close()
        else:
            # Ready for the next message, as sendmail leaves it after a refusal.
            with contextlib.suppress(smtplib.SMTPServerDisconnected):
                connection.rset()
        raise smtplib.SMTPDataError(code, reply)

    def close(self) -> None:
        self.reply_pending = False  # an answer never read: the caller treats it as unknown
        super().close()

    def _send_bytes(self, email_message, raw: bytes) -> bool:
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
