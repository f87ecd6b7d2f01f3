"""Email backends that fail on purpose, for testing how delivery copes with a refusing server."""

from __future__ import annotations

from typing import ClassVar

from anymail.backends.test import EmailBackend as AnymailTestBackend
from anymail.exceptions import AnymailAPIError
from anymail.message import AnymailRecipientStatus
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.locmem import EmailBackend


class BrokenBackend(BaseEmailBackend):
    """Every send fails, as with a mail server that is down."""

    def send_messages(self, messages):
        raise OSError("connection refused")


class RefusesOneAddress(BaseEmailBackend):
    """Refuses bad@example.com, delivers everything else to Django's test outbox."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.inner = EmailBackend()

    def send_messages(self, messages):
        if any(m.to == ["bad@example.com"] for m in messages):
            raise ConnectionResetError("connection reset by the mail server")
        return self.inner.send_messages(messages)


class FlakyProvider(AnymailTestBackend):
    """anymail's test backend answering as a provider's API does under trouble: for each
    recipient in `plan`, the answers to give before accepting, in order: "429" (rate limited),
    "500"/"503" (provider failing) or "rejected" (the provider refuses the recipient). Accepted
    messages land in django.core.mail.outbox; refused ones do not."""

    plan: ClassVar[dict[str, list[str]]] = {}

    def post_to_esp(self, payload, message):
        answers = self.plan.get(payload.recipient_emails[0], [])
        answer = answers.pop(0) if answers else "sent"
        if answer.isdigit():
            raise AnymailAPIError(
                f"provider answered HTTP {answer}",
                status_code=int(answer),
                email_message=message,
                payload=payload,
                backend=self,
            )
        if answer == "rejected":
            refused = AnymailRecipientStatus(message_id=None, status="rejected")
            return {"recipient_status": dict.fromkeys(payload.recipient_emails, refused)}
        return super().post_to_esp(payload, message)


class Scripted(BaseEmailBackend):
    """Django's test outbox, with a script per recipient: each send to an address in `plan`
    takes its next step first; an exception is raised (as the SMTP backend raises a refusal),
    a callable is called (something that happens while the chunk runs) and then the message is
    delivered. Addresses with no steps left are delivered."""

    plan: ClassVar[dict[str, list]] = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.inner = EmailBackend()

    def send_messages(self, messages):
        for message in messages:
            steps = self.plan.get(message.to[0], [])
            step = steps.pop(0) if steps else None
            if isinstance(step, BaseException):
                raise step
            if callable(step):
                step()
        return self.inner.send_messages(messages)
