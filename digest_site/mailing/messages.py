"""Build emails from paired templates: emails/<name>.subject.txt, <name>.txt and <name>.html."""

from __future__ import annotations

import re
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
    """`html` with its <style> rules inlined (and its lines kept short, see short_lines): for
    emails and for pages that show an email."""
    if "<style" not in html:
        return html
    return short_lines(_INLINER.inline(html))


# RFC 5322 caps a line at 998 bytes. Django sends a part whose lines all fit as 8bit, and one
# with a longer line as quoted-printable, which Python's email package encodes a character at a
# time (most of the cost of turning a digest into bytes, and a third more bytes on the wire).
# Inlined styles make long lines, so every style attribute starts a line of its own: a line
# break before an attribute inside a tag is whitespace the browser ignores. (`"` inside an
# attribute value is always escaped, so ` style="` only starts an attribute; in
# text, where a paper's own words could hold it, a newline reads as the space it replaces, and
# the emails have no preformatted text.) Broken everywhere rather than only where a line is
# long, so the bulk renderer's cached pieces, filled in later, come out the same as an email
# rendered whole; a line a long filled-in value still pushes over the limit travels QP.
_STYLE_ATTRIBUTE = re.compile(r' (style=")')


def short_lines(html: str) -> str:
    """`html` with a line break before each style attribute, so it can travel 8bit."""
    return _STYLE_ATTRIBUTE.sub(r"\n\1", html)


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
