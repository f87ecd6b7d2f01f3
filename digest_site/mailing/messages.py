"""Build emails from paired templates: emails/<name>.subject.txt, <name>.txt and <name>.html."""

from __future__ import annotations

from typing import NamedTuple

import css_inline
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

# Styles written as classes in a <style> block go into each element's style attribute, which
# is all some clients (Gmail's apps, Outlook) read; @media rules (phone widths, dark mode) stay
# in the head for the clients that honour them. Nothing is fetched from the network.
_INLINER = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)


def inline_css(html: str) -> str:
    """`html` with its <style> rules inlined: for emails and for pages that show an email."""
    if "<style" not in html:
        return html
    return _INLINER.inline(html)


def render_html(name: str, context: dict) -> str:
    context = {"site_name": settings.SITE_NAME, "site_url": settings.SITE_URL, **context}
    return inline_css(render_to_string(f"emails/{name}.html", context))


class RenderedEmail(NamedTuple):
    subject: str
    text: str
    html: str


def render_email(name: str, context: dict) -> RenderedEmail:
    """The three parts of email `name`, each rendered from its template."""
    context = {"site_name": settings.SITE_NAME, "site_url": settings.SITE_URL, **context}
    # Subjects are one line: template whitespace and newlines would break the header.
    subject = " ".join(render_to_string(f"emails/{name}.subject.txt", context).split())
    text = render_to_string(f"emails/{name}.txt", context)
    return RenderedEmail(subject, text, render_html(name, context))


def make_message(
    name: str,
    to: str,
    context: dict,
    *,
    headers: dict[str, str] | None = None,
) -> EmailMultiAlternatives:
    return compose_message(render_email(name, context), to, headers=headers)


def compose_message(
    rendered: RenderedEmail, to: str, *, headers: dict[str, str] | None = None
) -> EmailMultiAlternatives:
    """The message of an email already rendered (digests render theirs in bulk)."""
    message = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers=headers or {},
    )
    message.attach_alternative(rendered.html, "text/html")
    return message
