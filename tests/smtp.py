"""A real SMTP server on loopback that keeps what it receives, for end-to-end email tests."""

from __future__ import annotations

import email
import email.policy
import threading
import time
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from tests.services import free_port


class _Collector:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.arrived:
            self.messages.append(message)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.arrived.notify_all()
        return "250 Message accepted for delivery"


class LoopbackSMTPServer:
    def __init__(self) -> None:
        self.port = free_port()
        self._collector = _Collector()
        self._controller = Controller(self._collector, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> LoopbackSMTPServer:
        self._controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self._controller.stop()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def messages(self) -> list[EmailMessage]:
        return list(self._collector.messages)

    def wait_for(self, recipient: str, *, seconds: float) -> EmailMessage:
        """The first message delivered to `recipient`, waiting up to `seconds` for it."""
        deadline = time.monotonic() + seconds
        with self._collector.arrived:
            while True:
                for (_sender, rcpts), message in zip(
                    self._collector.envelopes, self._collector.messages, strict=True
                ):
                    if recipient in rcpts:
                        return message
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no email reached {recipient} within {seconds:.0f}s")
                self._collector.arrived.wait(remaining)
