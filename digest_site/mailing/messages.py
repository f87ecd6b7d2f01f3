"""Build emails from paired templates: emails/<name>.subject.txt, <name>.txt and <name>.html."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def make_message(
    name: str,
    to: str,
    context: dict,
    *,
    headers: dict[str, str] | None = None,
) -> EmailMultiAlternatives:
    context = {"site_name": settings.SITE_NAME, "site_url": settings.SITE_URL, **context}
    # Subjects are one line: template whitespace and newlines would break the header.
    subject = " ".join(render_to_string(f"emails/{name}.subject.txt", context).split())
    text_body = render_to_string(f"emails/{name}.txt", context)
    html_body = render_to_string(f"emails/{name}.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text_body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers=headers or {},
    )
    message.attach_alternative(html_body, "text/html")
    return message
