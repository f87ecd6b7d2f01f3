"""Django's SMTP backend, sending the bytes wire.py writes for the messages it knows, with two
waits of each send given back to the caller.

Everything else is Django's: the connection, TLS, authentication, envelope addresses and the
errors raised. Turning a message into bytes is replaced where wire.py returns bytes (it returns
None for any message of another shape, which then goes Django's way).

The two waits, for the messages wire.py writes:

- `ready`, when the caller sets it, is called once the envelope (MAIL FROM and RCPT TO) is
  accepted and before DATA: the caller's own wait (the ledger's claim, sent to the database
  before the send) overlaps the envelope's round trips. If it returns False the envelope is
  reset and nothing is sent; nothing is delivered before the content's end, so nothing was.
- With `defer_reply` set, the send returns right after the content and its closing "." are
  written, and `finish_pending()` reads the server's final answer later, raising what smtplib's
  sendmail would have raised; the caller renders the next digest in between. Nothing else is
  written on the connection before that answer is read.

The envelope and the refusals are handled as smtplib's sendmail handles them (a 421 closes the
session, any other refusal resets it for the next message).
"""

from __future__ import annotations

import contextlib
import functools
import re
import smtplib
from collections.abc import Callable
from typing import NamedTuple

from django.conf import settings
from django.core.mail.backends import smtp
from django.core.mail.message import sanitize_address

from . import wire

# The commonest address, written alone: a dot-atom local part and a host name of letters, digits
# and hyphens, all ASCII. Django's sanitize_address (a full RFC 5322 parse, a fifth of a
# millisecond a call) gives such an address back as it is, so it is not parsed
# (tests/delivery/test_wire.py checks that on random addresses).
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9-]{1,63}"
_BARE_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})*")


def envelope_address(address, encoding: str) -> str:
    """`address` as the envelope carries it: Django's sanitize_address, skipped where it
    changes nothing, and remembered for the sender's address (the same for every message)."""
    if type(address) is not str:
        return sanitize_address(address, encoding)
    if _BARE_ADDRESS.fullmatch(address):
        return address
    return _sanitized(address, encoding)


_sanitized = functools.lru_cache(maxsize=64)(sanitize_address)


def _quoted(address: str) -> str:
    """smtplib.quoteaddr(address): a bare address in angle brackets as it is, the rest (the
    sender's, the same each time) parsed by smtplib and remembered."""
    if _BARE_ADDRESS.fullmatch(address):
        return f"<{address}>"
    return _quoted_parsed(address)


_quoted_parsed = functools.lru_cache(maxsize=64)(smtplib.quoteaddr)


def dot_stuffed(content: bytes) -> bytes:
    """`content` with the dot doubled at the start of every line that starts with one (RFC
    5321 4.5.2; a line starts at the start or after a "\\n", as smtplib reads it), by plain
    replaces: smtplib's regular expression took a tenth of a millisecond per digest."""
    quoted = content.replace(b"\n.", b"\n..")
    return b"." + quoted if quoted.startswith(b".") else quoted


class Prepared(NamedTuple):
    """A message as it goes on the wire: envelope addresses, size and the DATA content."""

    sender: str
    recipients: list[str]
    size: int  # of the message before dot-stuffing, as smtplib's sendmail gives SIZE
    content: bytes  # dot-stuffed, ending with CRLF "." CRLF


class EmailBackend(smtp.EmailBackend):
    # Whether the last message's content had started going to the server (its DATA command was
    # issued): a send cut off after that may have been delivered (sending.py says so).
    content_sent = False
    # Set by the caller (MailSession.start) for the next send; see the module's docstring.
    defer_reply = False
    ready: Callable[[], bool] | None = None
    # A message whose content went out and whose final reply has not been read yet.
    reply_pending = False

    def _send(self, email_message) -> bool:
        if self.reply_pending:  # never two messages' replies in flight on one connection
            self.finish_pending()
        self.content_sent = False
        connection = self.connection
        if connection is None or not email_message.recipients():
            return self._send_django_way(email_message)
        prepared = self.prepare(email_message)
        if prepared is None:
            return self._send_django_way(email_message)
        try:
            self._envelope(prepared.sender, prepared.recipients, prepared.size)
            if not self._go_ahead():
                return False
            self.content_sent = True
            self._content(prepared.content)
        except smtplib.SMTPException:
            if not self.fail_silently:
                raise
            return False
        return True

    def prepare(self, email_message) -> Prepared | None:
        """What goes on the wire for `email_message` (None: it goes Django's way), worked out
        now and kept on the message for its send: the caller prepares the next message while
        the server stores the one before, so none of this waits between the two. The message
        must not change after this."""
        prepared = getattr(email_message, "wire_prepared", None)
        if prepared is not None:
            return prepared
        raw = wire.message_bytes(email_message)
        if raw is None:
            return None
        encoding = email_message.encoding or settings.DEFAULT_CHARSET
        quoted = dot_stuffed(raw)
        prepared = Prepared(
            sender=envelope_address(email_message.from_email, encoding),
            recipients=[envelope_address(a, encoding) for a in email_message.recipients()],
            size=len(raw),
            content=quoted + (b".\r\n" if quoted.endswith(b"\r\n") else b"\r\n.\r\n"),
        )
        email_message.wire_prepared = prepared
        return prepared

    def _send_django_way(self, email_message) -> bool:
        if self.ready is not None and not self.ready():
            return False
        connection = self.connection
        if connection is None:
            return super()._send(email_message)
        data = connection.data

        def data_then_content(msg):
            self.content_sent = True
            return data(msg)

        connection.data = data_then_content  # sendmail calls self.data(msg)
        try:
            return super()._send(email_message)
        finally:
            del connection.data

    def _envelope(self, sender: str, recipients: list[str], size: int) -> None:
        """MAIL FROM and RCPT TO, refused as sendmail refuses them."""
        connection = self.connection
        connection.ehlo_or_helo_if_needed()
        options = [f"size={size}"] if connection.does_esmtp and connection.has_extn("size") else []
        # As smtplib's mail() and rcpt() write them, addresses quoted without a parse where
        # quoting is only the angle brackets.
        connection.putcmd("mail", f"FROM:{_quoted(sender)}{''.join(' ' + o for o in options)}")
        code, reply = connection.getreply()
        if code != 250:
            self._after_refusal(code)
            raise smtplib.SMTPSenderRefused(code, reply, sender)
        refused = {}
        for recipient in recipients:
            connection.putcmd("rcpt", f"TO:{_quoted(recipient)}")
            code, reply = connection.getreply()
            if code not in (250, 251):
                refused[recipient] = (code, reply)
            if code == 421:
                connection.close()
                raise smtplib.SMTPRecipientsRefused(refused)
        if len(refused) == len(recipients):
            self._after_refusal(0)
            raise smtplib.SMTPRecipientsRefused(refused)

    def _go_ahead(self) -> bool:
        """Ask the caller (ready) whether to send; a no, or an error, resets the envelope."""
        if self.ready is None:
            return True
        try:
            go = self.ready()
        except BaseException:
            self._after_refusal(0)
            raise
        if not go:
            self._after_refusal(0)
        return go

    def _content(self, content: bytes) -> None:
        """DATA, then the content (dot-stuffed, with its end); the final answer read now, or
        left to finish_pending() with defer_reply."""
        connection = self.connection
        code, reply = connection.docmd("data")
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        connection.send(content)
        self.reply_pending = True
        if not self.defer_reply:
            self.finish_pending()

    def finish_pending(self) -> None:
        """Read the final answer to the message whose content went out last; raise as sendmail
        would have for a refusal (SMTPDataError), or SMTPServerDisconnected when the connection
        broke before the answer."""
        if not self.reply_pending:
            return
        self.reply_pending = False
        code, reply = self.connection.getreply()
        if code != 250:
            self._after_refusal(code)
            raise smtplib.SMTPDataError(code, reply)

    def _after_refusal(self, code: int) -> None:
        """A 421 means the server is closing the session; otherwise reset the transaction so
        the session is ready for the next message (a server that hung up is noticed then)."""
        if code == 421:
            self.connection.close()
            return
        with contextlib.suppress(smtplib.SMTPServerDisconnected):
            self.connection.rset()

    def close(self) -> None:
        self.reply_pending = False  # an answer never read: the caller treats it as unknown
        super().close()
