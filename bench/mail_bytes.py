"""Turning a digest into the bytes SMTP sends: Django's email generator against wire.py, on
the same messages, alternating, in one run.

    .venv/bin/python bench/mail_bytes.py [--eml var/outbox/<file>.eml] [--messages 300]
                                         [--rounds 5]

The message is a real digest: the newest .eml in var/outbox/ (`make demo` writes one), its
subject, text, HTML and List-Unsubscribe headers put back into an EmailMultiAlternatives as
sending.digest_message builds it. Each round times --messages conversions each way (CPU time
of this process), Django's first, then wire.py's, and checks that both gave the same bytes
(the random MIME boundary aside). Prints ms per message each way and their ratio per round,
then one JSON line with the medians.
"""

from __future__ import annotations

import argparse
import email
import json
import os
import re
import statistics
import sys
import time
from email import policy
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BOUNDARY = re.compile(rb'boundary="([^"]+)"')


def newest_eml() -> Path:
    found = sorted((ROOT / "var" / "outbox").glob("*.eml"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise SystemExit("no .eml in var/outbox/: run `make demo` first, or pass --eml")
    return found[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eml", type=Path)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "digest_site.settings")
    import django

    django.setup()
    from django.core.mail import EmailMultiAlternatives

    from digest_site.mailing import wire

    path = args.eml or newest_eml()
    parsed = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    text = parsed.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = parsed.get_body(("html",)).get_content().replace("\r\n", "\n")
    headers = {
        name: str(parsed[name])
        for name in ("Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post")
        if parsed[name]
    }

    def build() -> EmailMultiAlternatives:
        message = EmailMultiAlternatives(
            subject=str(parsed["Subject"]),
            body=text,
            from_email=str(parsed["From"]),
            to=[str(parsed["To"])],
            headers=dict(headers),
        )
        message.attach_alternative(html, "text/html")
        return message

    django_ms, wire_ms = [], []
    print(f"{path.name}: {len(path.read_bytes()):,} bytes; {args.messages} messages a round")
    for round_no in range(1, args.rounds + 1):
        messages = [build() for _ in range(args.messages)]
        started = time.process_time()
        theirs = [m.message().as_bytes(linesep="\r\n") for m in messages]
        django_ms.append(1000 * (time.process_time() - started) / args.messages)
        messages = [build() for _ in range(args.messages)]
        started = time.process_time()
        ours = [wire.message_bytes(m) for m in messages]
        wire_ms.append(1000 * (time.process_time() - started) / args.messages)
        mine, other = BOUNDARY.search(ours[0]), BOUNDARY.search(theirs[0])
        dates = re.compile(rb"\r\nDate: [^\r]+")
        same = dates.sub(b"", ours[0]) == dates.sub(
            b"", theirs[0].replace(other.group(1), mine.group(1))
        )
        print(
            f"round {round_no}: Django {django_ms[-1]:.2f} ms, wire.py {wire_ms[-1]:.2f} ms "
            f"per message ({django_ms[-1] / wire_ms[-1]:.1f}x); same bytes: {same}"
        )
        if not same:
            raise SystemExit("wire.py and Django gave different bytes")
    print(
        json.dumps(
            {
                "django_ms": round(statistics.median(django_ms), 3),
                "wire_ms": round(statistics.median(wire_ms), 3),
                "ratio": round(statistics.median(django_ms) / statistics.median(wire_ms), 2),
            }
        )
    )


if __name__ == "__main__":
    main()
