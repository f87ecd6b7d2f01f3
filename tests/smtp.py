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


class SMTPSink:
    """An aiosmtpd server on a free loopback port around `handler`, started and stopped as a
    context manager; the base of the sinks the tests use."""

    def __init__(self, handler) -> None:
        self.port = free_port()
        self.handler = handler
        self._controller = Controller(handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self):
        self._controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self._controller.stop()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"


class LoopbackSMTPServer(SMTPSink):
    def __init__(self) -> None:
        super().__init__(_Collector())
        self._collector = self.handler

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
