"""An email backend for the embedded default: one .eml file per message in EMAIL_OUTBOX_DIR.

Django's own file backend appends every message of a connection to one .log file; separate .eml
files open directly in any mail client and are easy for tests and people to inspect.
"""

from __future__ import annotations

import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage

from . import wire


class OutboxBackend(BaseEmailBackend):
    def __init__(self, *args, outbox_dir: str | os.PathLike | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.outbox_dir = Path(outbox_dir or settings.EMAIL_OUTBOX_DIR)

    def send_messages(self, email_messages: list[EmailMessage]) -> int:
        self.outbox_dir.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            if not message.recipients():
                continue
            self._write(message)
            sent += 1
        return sent

    def _write(self, message: EmailMessage) -> Path:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        recipient = re.sub(r"[^A-Za-z0-9@._-]", "_", message.recipients()[0])
        target = self.outbox_dir / f"{stamp}-{recipient}.eml"
        # Write to a temporary name and rename, so a reader never sees half a message.
        fd, tmp = tempfile.mkstemp(dir=self.outbox_dir, suffix=".part")
        with os.fdopen(fd, "wb") as handle:
            # The bytes an SMTP server would receive (wire.py; Django's way for other shapes).
            handle.write(wire.message_bytes(message) or message.message().as_bytes(linesep="\r\n"))
        os.replace(tmp, target)
        return target
