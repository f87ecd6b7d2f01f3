"""The bytes wire.py writes are the bytes Django's SMTP backend would send, and the backend that
uses them delivers the same email through a real SMTP server."""

from __future__ import annotations

import random
import re
import smtplib
import string
from email.charset import Charset

import pytest
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django.core.mail.message import forbid_multi_line_headers, sanitize_address

from digest_site.mailing import smtp, wire
from recommender.delivery import sending
from tests.delivery.test_digest_render import digests, items_of, papers  # noqa: F401
from tests.smtp import SMTPSink

FIXED = {"Date": "Tue, 01 Dec 2026 07:01:28 -0000", "Message-ID": "<1.2.3@paper-digest>"}
BOUNDARY = re.compile(rb'boundary="([^"]+)"')


def django_bytes(message: EmailMessage) -> bytes:
    return message.message().as_bytes(linesep="\r\n")


def same_boundary(ours: bytes, theirs: bytes) -> bytes:
    """`theirs` with its random boundary replaced by the one in `ours`."""
    mine, other = BOUNDARY.search(ours), BOUNDARY.search(theirs)
    if mine is None:
        return theirs
    return theirs.replace(other.group(1), mine.group(1))


def email(subject="Tue 1 Dec: 10 papers on robots", text="Hello\n", html="<p>Hi</p>\n", **kw):
    headers = {**FIXED, **kw.pop("headers", {})}
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=kw.pop("from_email", "Paper Digest <digest@example.org>"),
        to=kw.pop("to", ["ada@example.com"]),
        headers=headers,
        **kw,
    )
    if html is not None:
        message.attach_alternative(html, "text/html")
    return message


UNSUBSCRIBE = {
    "List-Unsubscribe": "<https://digest.example.org/unsubscribe/1.1xYHrk.a3jYqtvdw4EPDIVJ-9zFN"
    "MjMUy7ewIRCQf-i5n1lV0M/?one-click=1>, <mailto:unsubscribe@example.org?subject=1.1xYHrk>",
    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
}

SHAPES = {
    "ascii": email(),
    "non-ascii subject and body": email(
        subject="Mon 30 Nov: 3 papers on Schrödinger bridges — “diffusion”",
        text="Ünïcode text\r\nwith CRLF\rand a lone CR\nand no final newline",
        html="<p>caf\u00e9 \u2014 \u4e2d\u6587</p>",
    ),
    "a subject long enough to fold": email(subject="Weekly: " + "robot manipulation " * 12),
    "a non-ascii subject long enough to fold": email(subject="Wöchentlich: " + "Röbot " * 30),
    "a non-ascii sender name": email(from_email="Papiér Digest <digest@example.org>"),
    "unsubscribe headers": email(headers=UNSUBSCRIBE),
    "text only": email(html=None),
    "empty text": email(text="", html="<p>only html</p>"),
    "empty text only": email(text="", html=None),
    "cc and reply-to": email(cc=["bob@example.com"], reply_to=["editors@example.org"]),
    "To given as a header": email(headers={"To": "Ada <ada@example.com>"}),
    "To as a header, only Bcc": email(
        to=[], bcc=["cy@example.com"], headers={"To": "undisclosed-recipients:;"}
    ),
    "Reply-To as a header only": email(headers={"Reply-To": "editors@example.org"}),
    "lines at the limit": email(text="x" * 998 + "\n", html="é" * 499),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_the_bytes_are_djangos_bytes(shape):
    message = SHAPES[shape]
    ours = wire.message_bytes(message)
    assert ours is not None
    assert ours == same_boundary(ours, django_bytes(message))


def test_date_and_message_id_are_set_when_not_given():
    message = email()
    message.extra_headers = {}
    ours = wire.message_bytes(message)
    assert re.search(rb"\r\nDate: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d [-+]\d{4}\r\n", ours)
    assert re.search(rb"\r\nMessage-ID: <[^>\r\n]+@[^>\r\n]+>\r\n", ours)


def test_real_digests_are_djangos_bytes(digests):  # noqa: F811
    for digest in digests:
        message = sending.digest_message(digest, items_of(digest), digest.subscriber)
        message.extra_headers["Date"] = FIXED["Date"]
        ours = wire.message_bytes(message)
        assert ours == same_boundary(ours, django_bytes(message))
        assert b"Content-Transfer-Encoding: 8bit" in ours


def test_other_shapes_go_djangos_way():
    with_file = email()
    with_file.attach("notes.txt", "hello", "text/plain")
    two_alternatives = email()
    two_alternatives.attach_alternative("# hi", "text/markdown")
    latin = email()
    latin.encoding = "iso-8859-1"
    upper = email()  # Django sends any spelling but "utf-8" base64
    upper.encoding = "UTF-8"
    charset = email()
    charset.encoding = Charset("utf-8")
    html_body = email(html=None)
    html_body.content_subtype = "html"
    too_long = email(html="<p>" + "x" * 996 + "</p>")  # 1,003 bytes: Django sends QP
    for message in (with_file, two_alternatives, latin, upper, charset, html_body, too_long):
        assert wire.message_bytes(message) is None


def test_a_header_with_a_newline_is_refused_as_django_refuses_it():
    from django.core.mail import BadHeaderError

    with pytest.raises(BadHeaderError):
        wire.message_bytes(email(subject="Hi\r\nBcc: everyone@example.com"))


class _RawCollector:
    def __init__(self) -> None:
        self.received: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.received.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def test_the_backend_delivers_the_same_bytes_through_a_real_smtp_server(digests):  # noqa: F811
    messages = SHAPES["non-ascii subject and body"], SHAPES["cc and reply-to"]
    digest = digests[0]
    digest_mail = sending.digest_message(digest, items_of(digest), digest.subscriber)
    fallback = email(html="<p>" + "x" * 996 + "</p>")  # sent Django's way, quoted-printable
    with SMTPSink(_RawCollector()) as sink:
        connection = get_connection(
            "digest_site.mailing.smtp.EmailBackend",
            host="127.0.0.1",
            port=sink.port,
            use_tls=False,
            use_ssl=False,
            username="",
            password="",
        )
        assert connection.send_messages([*messages, digest_mail, fallback]) == 4
        assert connection.content_sent  # the last message's DATA went out
    received = sink.handler.received
    assert [rcpts for rcpts, _raw in received] == [
        ["ada@example.com"],
        ["ada@example.com", "bob@example.com"],
        [digest.subscriber.email],
        ["ada@example.com"],
    ]
    for message, (_rcpts, raw) in zip([*messages, digest_mail], received, strict=False):
        ours = wire.message_bytes(message)
        # Everything but the boundary (random per call) and the digest's Date (its own clock).
        date = re.compile(rb"\r\nDate: [^\r]+")
        assert date.sub(b"", raw) == date.sub(b"", same_boundary(raw, ours))
    assert b"quoted-printable" in received[3][1]


def test_short_plain_header_values_are_written_as_folding_would_write_them():
    """wire._header skips the email package for short values of printable ASCII words; for
    every such value it must give what the package gives."""
    rng = random.Random(7)
    alphabet = [chr(c) for c in range(33, 127)]
    checked = 0
    for name in ("Subject", "From", "To", "Message-ID", "List-Unsubscribe-Post", "X-Note"):
        for _ in range(400):
            words = [
                "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
                for _ in range(rng.randint(1, 8))
            ]
            value = " ".join(words)[: rng.randint(1, 74 - len(name))].strip()
            if not wire._PLAIN_VALUE.fullmatch(value) or "=?" in value:
                continue
            slow = wire._POLICY.fold(*forbid_multi_line_headers(name, value, "utf-8"))
            assert wire._header(name, value, "utf-8") == slow, (name, value)
            checked += 1
    assert checked > 2000


def test_envelope_addresses_are_what_django_makes_of_them():
    """smtp.envelope_address skips Django's sanitize_address for bare ASCII addresses; on random
    addresses, near-misses included, it must give what sanitize_address gives, or raise where
    it raises."""
    rng = random.Random(11)
    atom = string.ascii_letters + string.digits + "!#$%&'*+/=?^_`{|}~-"
    odd = ' "(),:;<>@[\\]é.\n'

    def part(alphabet: str, longest: int) -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, longest)))

    fast = 0
    for _ in range(4000):
        local = ".".join(part(atom, 8) for _ in range(rng.randint(1, 3)))
        labels = [part(string.ascii_letters + string.digits + "-", 70) for _ in range(3)]
        domain = ".".join(labels[: rng.randint(1, 3)])
        address = f"{local}@{domain}"
        if rng.random() < 0.2:  # a character the fast path must not take
            at = rng.randint(0, len(address))
            address = address[:at] + rng.choice(odd) + address[at:]
        try:
            expected = sanitize_address(address, "utf-8")
        except Exception as error:  # whatever Django raises, ours raises too
            with pytest.raises(type(error)):
                smtp.envelope_address(address, "utf-8")
        else:
            assert smtp.envelope_address(address, "utf-8") == expected, address
            assert smtp._quoted(expected) == smtplib.quoteaddr(expected), address
        fast += bool(smtp._BARE_ADDRESS.fullmatch(address))
    assert fast > 1000  # the fast path was exercised, not only the fallback
    named = "Paper Digest <digest@localhost>"
    assert smtp.envelope_address(named, "utf-8") == sanitize_address(named, "utf-8")
    assert smtp._quoted(named) == smtplib.quoteaddr(named) == "<digest@localhost>"
