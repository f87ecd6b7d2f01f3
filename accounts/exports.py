"""Taking the papers elsewhere, from the preferences page: the feed's secret address (make,
replace, stop) and the liked papers as BibTeX. Thin views over services and recommender.bibtex."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from recommender.bibtex import bibtex

from . import selectors, services, tokens
from .views import invalid_link


@never_cache
@require_POST
def feed_settings(request: HttpRequest, token: str) -> HttpResponse:
    """The preferences page's feed buttons: a new secret address (the old one stops), or off."""
    try:
        subscriber = tokens.read_token(token, "preferences").subscriber
    except tokens.InvalidToken as error:
        return invalid_link(request, error)
    if request.POST.get("action") == "off":
        services.subscriber_stop_feed(subscriber=subscriber)
        messages.success(request, "Your feed is off; its address no longer works.")
    else:
        had_one = bool(subscriber.feed_key)
        services.subscriber_new_feed_key(subscriber=subscriber)
        messages.success(
            request,
            "Your feed has a new address; the old one no longer works."
            if had_one
            else "Your feed is ready: add its address to your feed reader.",
        )
    return redirect(reverse("accounts:preferences", args=[token]) + "#feed")


@never_cache
@require_GET
def liked_bibtex(request: HttpRequest, token: str) -> HttpResponse:
    """The papers the subscriber marked "More like this", as a BibTeX file."""
    try:
        subscriber = tokens.read_token(token, "preferences").subscriber
    except tokens.InvalidToken as error:
        return invalid_link(request, error)
    liked, _disliked = selectors.rated_papers(subscriber, limit=1000)
    response = HttpResponse(bibtex(liked), content_type="application/x-bibtex; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="liked-papers.bib"'
    response["X-Robots-Tag"] = "noindex"
    return response
