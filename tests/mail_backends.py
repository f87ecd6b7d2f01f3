"""Email backends that fail on purpose, for testing how delivery copes with a refusing server."""

from __future__ import annotations

from django.core.mail.backends.locmem import EmailBackend


class BrokenBackend:
    """Every send fails, as with a mail server that is down."""

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise OSError("connection refused")


class RefusesOneAddress:
    """Refuses bad@example.com, delivers everything else to Django's test outbox."""

    def __init__(self, *args, **kwargs):
        self.inner = EmailBackend()

    def send_messages(self, messages):
        if any(m.to == ["bad@example.com"] for m in messages):
            raise OSError("550 mailbox unavailable")
        return self.inner.send_messages(messages)
