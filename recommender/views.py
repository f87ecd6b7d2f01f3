from __future__ import annotations

from django.core.cache import cache
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts import tokens
from accounts.views import invalid_link

from .delivery import feed as feed_service
from .delivery import feedback as feedback_service
from .delivery import health, web_version
from .models import FeedbackEvent


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers and docker-compose, and delivery for monitoring.

    The database and cache must answer (else 503: this web process cannot serve). Delivery is
    reported beside them: with digests overdue (past their send time by more than
    DIGEST_OVERDUE_MINUTES and still not sent, or due subscribers not claimed) the status is
    "degraded" but the code stays 200, since restarting the web server would not help; the
    figure is cached for a minute so the check stays as cheap as the rest of the endpoint.
    """
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as error:  # report, never raise: this endpoint exists to say what is down
        checks["database"] = f"error: {error}"
    try:
        cache.set("healthz", "ok", 10)
        checks["cache"] = "ok" if cache.get("healthz") == "ok" else "error: value not kept"
    except Exception as error:
        checks["cache"] = f"error: {error}"
    serving = all(value == "ok" for value in checks.values())
    checks["delivery"] = _delivery_check() if serving else "unknown"
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "degraded", **checks}, status=200 if serving else 503
    )


def _delivery_check() -> str:
    late = cache.get("healthz:delivery")
    if late is None:
        late = health.overdue()
        cache.set("healthz:delivery", late, 60)
    if late["digests"] or late["unclaimed"]:
        return f"degraded: {late['digests']} digests overdue, {late['unclaimed']} due unclaimed"
    return "ok"


@never_cache
@require_http_methods(["GET", "POST"])
def feedback(request: HttpRequest, token: str) -> HttpResponse:
    """A "More/Less like this" link from a digest: GET asks, POST records (scanners only GET)."""
    try:
        subscriber, item, kind = feedback_service.read_feedback_token(token)
    except tokens.InvalidToken as error:
        return invalid_link(request, error)
    context = {
        "item": item,
        "paper": item.paper,
        "kind": kind,
        "kind_label": FeedbackEvent.Kind(kind).label,
        "token": token,
        "preferences_path": tokens.preferences_path(subscriber),
    }
    if request.method == "POST":
        feedback_service.record_feedback(
            subscriber=subscriber, paper=item.paper, kind=kind, digest_item=item
        )
        return render(request, "recommender/feedback_done.html", context)
    return render(request, "recommender/feedback.html", context)


@never_cache
@require_http_methods(["GET", "HEAD"])
def open_paper(request: HttpRequest, token: str) -> HttpResponse:
    """A paper's title in a digest: count the click (delivery.feedback), go to the paper."""
    try:
        url = feedback_service.open_paper(token, count=request.method == "GET")
    except tokens.InvalidToken as error:
        return invalid_link(request, error)
    # A link from an email opens a new top-level page: keep the token out of the Referer.
    response = HttpResponseRedirect(url)
    response["Referrer-Policy"] = "no-referrer"
    return response


@never_cache
@require_GET
def digest_web(request: HttpRequest, token: str) -> HttpResponse:
    """ "View in browser": a sent digest as its reader got it, behind a signed link."""
    try:
        html = web_version.render(token)
    except tokens.InvalidToken as error:
        return invalid_link(request, error)
    response = HttpResponse(html)
    # Personal links (feedback, preferences) are on the page: keep it out of indexes and
    # keep its address out of the Referer of every paper link followed from it.
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_GET
def digest_feed(request: HttpRequest, key: str) -> HttpResponse:
    """A subscriber's Atom feed; the secret key in its address is the only credential, so an
    old (replaced), altered or unknown key gets a plain 404."""
    subscriber = feed_service.subscriber_for_key(key)
    if subscriber is None:
        raise Http404("No such feed.")
    response = HttpResponse(
        feed_service.atom_feed(subscriber), content_type="application/atom+xml; charset=utf-8"
    )
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "private, max-age=900"
    return response
