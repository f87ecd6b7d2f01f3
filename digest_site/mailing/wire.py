"""The bytes of an email for SMTP, written directly for the messages this service sends.

Django turns a message into bytes by building a tree of Python `email` objects and running the
email package's generator over it: about 4 ms of CPU per digest on this machine (a 42 KB
message), a fifth of the whole cost of a digest, most of it moving the body through the
generator line by line. Our messages have one shape: a text body and at most one HTML
alternative, both UTF-8, no attachments. For that shape the bytes are written here, the same
bytes Django would send (tests/delivery/test_wire.py compares them byte for byte): the same
headers in the same order, folded by the same policy, the same part headers and line endings.
Anything else (attachments, other alternatives, another charset, a line too long to travel
8bit, which Django sends quoted-printable) returns None and goes Django's way.
"""

from __future__ import annotations

import re
import secrets
import sys
from email import policy
from email.utils import formatdate

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.message import (
    RFC5322_EMAIL_LINE_LENGTH_LIMIT,
    forbid_multi_line_headers,
    make_msgid,
)
from django.core.mail.utils import DNS_NAME

# What the generator does with each header: compat32 folding, CRLF line ends.
_POLICY = policy.compat32.clone(linesep="\r\n")
# Headers Django sets from the message's own fields rather than from extra_headers.
_FROM_FIELDS = {"from", "to", "cc", "reply-to"}
_BOUNDARY_DIGITS = len(repr(sys.maxsize - 1))
# UTF-8 takes at most 4 bytes a character.
_SHORT_LINE_CHARS = RFC5322_EMAIL_LINE_LENGTH_LIMIT // 4
# Printable ASCII words separated by single spaces.
_PLAIN_VALUE = re.compile(r"[!-~]+(?: [!-~]+)*")


def message_bytes(message: EmailMessage) -> bytes | None:
    """The message as Django's SMTP backend would send it, or None when it is not of the shape
    written here."""
    parts = _parts(message)
    if parts is None:
        return None
    encoding = message.encoding or settings.DEFAULT_CHARSET
    if any(_has_long_lines(text) for _subtype, text in parts):
        return None  # Django sends such a part quoted-printable
    if parts[-1][0] == "plain":  # no alternative: a text email, its part's headers on top
        subtype, text = parts[0]
        head = _part_headers(subtype, text, encoding)
        return (_top_headers(message, head, encoding) + "\r\n" + _lines(text)).encode()
    bodies = [
        _part_headers(subtype, text, encoding) + "\r\n" + _lines(text) for subtype, text in parts
    ]
    boundary = _boundary(bodies)
    head = _header("Content-Type", f'multipart/alternative; boundary="{boundary}"', encoding)
    head += _header("MIME-Version", "1.0", encoding)
    delimiter = f"\r\n--{boundary}\r\n"
    wire = (
        _top_headers(message, head, encoding)
        + f"\r\n--{boundary}\r\n"
        + delimiter.join(bodies)
        + f"\r\n--{boundary}--\r\n"
    )
    return wire.encode()


def _part_headers(subtype: str, text: str, encoding: str) -> str:
    """A UTF-8 text part's headers: 8bit unless the text is ASCII (the email package's
    encode_7or8bit)."""
    transfer = "7bit" if text.isascii() else "8bit"
    return (
        _header("Content-Type", f'text/{subtype}; charset="utf-8"', encoding)
        + _header("MIME-Version", "1.0", encoding)
        + _header("Content-Transfer-Encoding", transfer, encoding)
    )


def _parts(message: EmailMessage) -> list[tuple[str, str]] | None:
    """(subtype, text) of the body and its alternatives, or None for any other shape."""
    alternatives = list(getattr(message, "alternatives", None) or ())
    if (
        message.attachments
        or message.content_subtype != "plain"
        or getattr(message, "mixed_subtype", "mixed") != "mixed"
        or getattr(message, "alternative_subtype", "alternative") != "alternative"
        # Exactly "utf-8": Django sends any other spelling ("UTF-8", a Charset) base64.
        or not _plain_utf8(message.encoding or settings.DEFAULT_CHARSET)
        or len(alternatives) > 1
        or not isinstance(message.body, str)
    ):
        return None
    # An empty body is left out when there is an alternative, as Django leaves it out.
    parts = [("plain", message.body)] if message.body or not alternatives else []
    for content, mimetype in alternatives:
        if mimetype != "text/html" or not isinstance(content, str):
            return None
        parts.append(("html", content))
    return parts


def _plain_utf8(encoding) -> bool:
    # A Charset object compares equal to "utf-8" too, and Django sends it base64 as well.
    return type(encoding) is str and encoding == "utf-8"


def _has_long_lines(text: str) -> bool:
    """Whether a line is over the limit in bytes (Django's test); a line of at most a quarter of
    the limit in characters cannot be, so only longer ones are encoded to count."""
    lines = text.splitlines()
    if max(map(len, lines), default=0) <= _SHORT_LINE_CHARS:
        return False
    return any(
        len(line.encode(errors="surrogateescape")) > RFC5322_EMAIL_LINE_LENGTH_LIMIT
        for line in lines
        if len(line) > _SHORT_LINE_CHARS
    )


def _lines(text: str) -> str:
    """The text with CRLF line ends, as the generator writes a body."""
    # CRLF, a lone CR and a lone LF all end a line (the generator's NLCRE).
    if "\r" not in text:  # (the usual case: one pass instead of three)
        return text.replace("\n", "\r\n")
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")


def _header(name: str, value, encoding: str) -> str:
    """One header line (folded) as Django stores it and the generator writes it. A short value
    of printable ASCII words is written as it is: folding and encoding leave it so (checked on
    random values in tests/delivery/test_wire.py), and they cost more than the rest together."""
    value = str(value)
    if _PLAIN_VALUE.fullmatch(value) and "=?" not in value and len(name) + len(value) < 75:
        return f"{name}: {value}\r\n"
    return _POLICY.fold(*forbid_multi_line_headers(name, value, encoding))


def _top_headers(message: EmailMessage, head: str, encoding: str) -> str:
    """The message's headers after the content headers, in EmailMessage.message()'s order."""
    extra = message.extra_headers
    lines = [head, _header("Subject", message.subject, encoding)]
    lines.append(_header("From", extra.get("From", message.from_email), encoding))
    for name, values in (("To", message.to), ("Cc", message.cc), ("Reply-To", message.reply_to)):
        # As Django: the extra header when given (even with the field empty), else the field.
        if name in extra:
            lines.append(_header(name, extra[name], encoding))
        elif values:
            lines.append(_header(name, ", ".join(str(v) for v in values), encoding))
    names = {name.lower() for name in extra}
    if "date" not in names:
        lines.append(_header("Date", formatdate(localtime=settings.EMAIL_USE_LOCALTIME), encoding))
    if "message-id" not in names:
        lines.append(_header("Message-ID", make_msgid(domain=DNS_NAME), encoding))
    for name, value in extra.items():
        if name.lower() not in _FROM_FIELDS:
            lines.append(_header(name, value, encoding))
    return "".join(lines)


def _boundary(bodies: list[str]) -> str:
    """A boundary in the email package's form that no part contains."""
    while True:
        token = secrets.randbelow(sys.maxsize)
        boundary = "=" * 15 + f"{token:0{_BOUNDARY_DIGITS}d}" + "=="
        if not any(boundary in body for body in bodies):
            return boundary
