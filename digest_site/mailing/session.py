"""One connection to the mail backend for many messages (an SMTP session, a provider's HTTP
session), opened on the first send, kept across per-message refusals, reopened after the
connection itself failed.

`start()` sends a message but leaves the server's final answer to `finish()` where the backend
can (our SMTP backend: the worker renders the next digest while the server stores this one);
any other backend sends the whole message in `start()`, and `finish()` has nothing to read.

Each message is handed to the backend on its own (`message.send()` over the shared
connection), so every send still raises its own error for the caller to sort (a refused
recipient, a 4xx, a 5xx): Django's SMTP backend re-raises per-message errors when
fail_silently is False and only closes a connection it opened itself; anymail's backends do the
same with their HTTP session.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable

from django.core.mail import EmailMessage, get_connection

log = logging.getLogger(__name__)

# Refusals of one message that smtplib answers with RSET, leaving the session ready for the
# next message (unless the server also hung up, e.g. a 421: checked on the socket).
_SESSION_SURVIVES = (
    smtplib.SMTPRecipientsRefused,
    smtplib.SMTPSenderRefused,
    smtplib.SMTPDataError,
)


class MailSession:
    """Send messages over one backend connection; a context manager that closes it."""

    def __init__(self, connection=None) -> None:
        self.connection = connection or get_connection(fail_silently=False)
        self.opened = 0  # connections opened: one per chunk unless the connection failed
        self._open = False

    def __enter__(self) -> MailSession:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send(self, message: EmailMessage) -> bool:
        """Send `message`, raising whatever the backend raised for it; False if the backend
        sent nothing (our SMTP backend when `ready` said no)."""
        if not self._open:
            self.connection.open()
            self._open = True
            self.opened += 1
        message.connection = self.connection
        try:
            return bool(message.send()) or not message.recipients()
        except BaseException as error:
            if not self._survives(error):
                self.close()  # the next send reconnects
            raise

    def prepare(self, message: EmailMessage) -> None:
        """Work out now what the backend would at the send (our SMTP backend: the message's
        bytes and envelope), so a caller can do it while the server is busy with the message
        before. Other backends have nothing to prepare."""
        prepare = getattr(self.connection, "prepare", None)
        if prepare is not None:
            prepare(message)

    def start(self, message: EmailMessage, ready: Callable[[], bool] | None = None) -> bool:
        """Send `message`, raising what the backend raised before the server's final answer;
        that answer is read (and a refusal in it raised) by `finish()`, which must come before
        the next send. `ready()`, if given, is asked right before the content goes out (our
        SMTP backend: once the envelope is accepted) and can still say no: then nothing is
        sent and this returns False."""
        connection = self.connection
        ours = hasattr(connection, "finish_pending")  # our SMTP backend: both waits given back
        if not ours and ready is not None and not ready():
            return False
        if ours:
            connection.defer_reply, connection.ready = True, ready
        try:
            return self.send(message)
        finally:
            if ours:
                connection.defer_reply, connection.ready = False, None

    def finish(self) -> None:
        """Read the final answer to the message `start()` sent; raise if it was a refusal."""
        finish_pending = getattr(self.connection, "finish_pending", None)
        if finish_pending is None:
            return
        try:
            finish_pending()
        except BaseException as error:
            if not self._survives(error):
                self.close()
            raise

    def close(self) -> None:
        if not self._open:
            return
        self._open = False
        try:
            self.connection.close()
        except Exception:  # a connection already broken may fail to say goodbye
            log.debug("closing the mail connection failed", exc_info=True)

    def _survives(self, error: BaseException) -> bool:
        smtp = getattr(self.connection, "connection", None)
        if isinstance(smtp, smtplib.SMTP):
            return isinstance(error, _SESSION_SURVIVES) and smtp.sock is not None
        # Providers' HTTP sessions reconnect by themselves; an error is about that message.
        return isinstance(error, Exception)
