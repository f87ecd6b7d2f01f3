"""Subscription pages. Thin: parse the request, call a service, pick a template.

Every link that arrives by email (confirm, unsubscribe, feedback, change-email) answers a GET
with a page and one button, and changes state only on POST: mail scanners follow links.
"""

from __future__ import annotations

import functools
import hashlib
import json

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import get_script_prefix, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from digest_site.mailing.account_emails import mask_email
from recommender.delivery.digest_email import web_version_url
from recommender.delivery.feed import feed_url
from recommender.ranking.subscribers import preview_papers

from . import paste_check, ratelimit, selectors, sent_to, services, signups, tasks, tokens
from .categories import CATEGORY_NAMES
from .forms import (
    INTERESTS_MAX_LENGTH,
    ChangeEmailForm,
    PreferencesForm,
    SingleLineEmailField,
    SubscribeForm,
)
from .models import Subscriber
from .references import PastedLine, paste_fingerprint
from .typos import suggest_email

RATE_LIMITED_MESSAGE = (
    "Too many requests from your network in a short time. Please wait an hour and try again."
)


def _limit_per_ip(request: HttpRequest) -> ratelimit.Limit:
    return ratelimit.Limit(
        "subscribe-ip",
        ratelimit.client_ip(request) or "no-ip",
        settings.SUBSCRIBE_LIMIT_PER_IP,
        settings.SUBSCRIBE_LIMIT_WINDOW_SECONDS,
    )


def _limit_per_email(email: str) -> ratelimit.Limit:
    # Caps the emails one address can be sent through our forms, whoever asks.
    return ratelimit.Limit(
        "subscribe-email",
        email.strip().lower(),
        settings.SUBSCRIBE_LIMIT_PER_EMAIL,
        settings.SUBSCRIBE_LIMIT_WINDOW_SECONDS,
    )


def _consent(request: HttpRequest) -> services.Consent:
    return services.Consent(
        ip=ratelimit.client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )


# The blank landing page is the same for everyone but for its CSRF token: render it once per
# process and put each visitor's token in, so the busiest page costs almost nothing to serve.
_TOKEN_SLOT = "csrf-token-slot-7d1c"  # noqa: S105 (a placeholder, not a secret)


@functools.cache
def _blank_landing_page(site_name: str) -> str:
    context = {
        "form": SubscribeForm(),
        "csrf_token": _TOKEN_SLOT,
        "site_name": site_name,
        "site_url": settings.SITE_URL,
    }
    return render_to_string("accounts/subscribe.html", context)


@require_http_methods(["GET", "POST"])
def subscribe(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        if settings.DEBUG or len(messages.get_messages(request)):
            return render(request, "accounts/subscribe.html", {"form": SubscribeForm()})
        html = _blank_landing_page(settings.SITE_NAME)
        return HttpResponse(html.replace(_TOKEN_SLOT, get_token(request)))
    form = SubscribeForm.for_validation(request.POST)
    per_ip = _limit_per_ip(request)
    limits = [per_ip]
    # A filled honeypot gets the same answer as everyone else and nothing is sent; so does an
    # address already mailed enough this hour, so neither bots nor people probing addresses
    # learn anything. The address is counted only when the IP's limit allows the attempt.
    sign_up = review = None
    pasted = request.POST.get("seed_references", "")
    if form.is_valid():
        # Asked of every valid form, honeypot or not, so the answer does not give the trap away.
        review = paste_check.lines_to_review(form.cleaned_data, pasted)
    if form.is_valid() and review is None and not form.cleaned_data["website"]:
        data = form.cleaned_data
        limits.append(_limit_per_email(data["email"]))
        sign_up = {
            "email": data["email"],
            "profile": services.ProfileData.from_cleaned(data).to_json(),
            "consent": _consent(request).to_json(),
        }
    # Counts both limits and hands the sign-up to the worker, in one Redis round trip.
    if signups.submit(sign_up, limits) == per_ip:
        form = SubscribeForm(request.POST)  # for rendering (see for_validation)
        form.add_error(None, RATE_LIMITED_MESSAGE)
        return render(request, "accounts/subscribe.html", {"form": form}, status=429)
    if not form.is_valid() or review is not None:
        return _subscribe_again(request, SubscribeForm(request.POST), pasted, review)
    response = HttpResponseRedirect(_check_inbox_url(get_script_prefix()))
    if sign_up is not None:
        sent_to.remember(response, sign_up["email"], profile=sign_up["profile"])
    return response


def _subscribe_again(
    request: HttpRequest, form: SubscribeForm, pasted: str, review: list[PastedLine] | None
) -> HttpResponse:
    """The form as sent, with its errors (400) or its pasted papers to review (200). Either
    way each pasted line is shown with the paper it names or why none."""
    context = {
        "form": form,
        "paste_review": review is not None,
        "paste_fingerprint": paste_fingerprint(pasted),
        **_paste_context(review if review is not None else paste_check.lines_to_show(pasted)),
    }
    status = 200 if review is not None else 400
    return render(request, "accounts/subscribe.html", context, status=status)


def _paste_context(lines: list[PastedLine]) -> dict:
    return {"paste_lines": lines, "paste_summary": paste_check.summary(lines)}


@functools.cache
def _check_inbox_url(script_prefix: str) -> str:
    """Resolved once per process and script prefix: resolving it was a tenth of a subscribe
    POST's own work."""
    return reverse("accounts:check-inbox")


@require_GET
def check_inbox(request: HttpRequest) -> HttpResponse:
    context: dict = {"confirm_days": settings.CONFIRM_LINK_MAX_AGE_DAYS}
    sent = sent_to.read(request)
    if sent is not None:
        suggestion = suggest_email(sent["e"])
        context |= {
            "masked_email": mask_email(sent["e"]),
            "suggestion": suggestion,
            "masked_suggestion": mask_email(suggestion) if suggestion else "",
            "one_click": bool(suggestion) and ("p" in sent or sent.get("k") == "link"),
            "kind": sent.get("k", "subscribe"),
        }
    return render(request, "accounts/check_inbox.html", context)


@require_POST
def correct_address(request: HttpRequest) -> HttpResponse:
    """The check-your-inbox page's "use this instead": redo the sign-up (or the link request)
    just made, at the address with its domain corrected. Only that correction is possible: the
    address and profile come from the signed cookie, the correction from suggest_email."""
    sent = sent_to.read(request)
    suggestion = suggest_email(sent["e"]) if sent else None
    if sent is None or suggestion is None:
        return redirect("accounts:check-inbox")
    per_ip = _limit_per_ip(request)
    if sent.get("k") == "link":
        if not ratelimit.first_exceeded(per_ip, _limit_per_email(suggestion)):
            tasks.request_link.delay(suggestion)
    elif "p" in sent:
        sign_up = {
            "email": suggestion,
            "profile": sent["p"],
            "consent": _consent(request).to_json(),
        }
        if signups.submit(sign_up, [per_ip, _limit_per_email(suggestion)]) == per_ip:
            messages.error(request, RATE_LIMITED_MESSAGE)
            return redirect("accounts:check-inbox")
    else:
        return redirect("accounts:check-inbox")
    response = redirect("accounts:check-inbox")
    sent_to.remember(response, suggestion, kind=sent.get("k", "subscribe"))
    return response


@require_http_methods(["GET", "POST"])
def request_link(request: HttpRequest) -> HttpResponse:
    """The page that emails a fresh preferences link (lost or expired ones); like subscribing,
    its answer is the same for every address."""
    field = SingleLineEmailField(max_length=254)
    error, email = "", request.POST.get("email", "")
    if request.method == "POST":
        if ratelimit.first_exceeded(_limit_per_ip(request)):
            error, status = RATE_LIMITED_MESSAGE, 429
        else:
            try:
                email = field.clean(email)
            except ValidationError as invalid:
                error, status = invalid.messages[0], 400
            else:
                if not ratelimit.first_exceeded(_limit_per_email(email)):
                    tasks.request_link.delay(email)
                response = redirect("accounts:check-inbox")
                sent_to.remember(response, email, kind="link")
                return response
        context = {"error": error, "email": email}
        return render(request, "accounts/request_link.html", context, status=status)
    return render(request, "accounts/request_link.html", {"email": ""})


@require_GET
def preview(request: HttpRequest) -> HttpResponse:
    """The papers a half-filled form would get right now: an HTML fragment for the live preview."""
    if not ratelimit.allow_live_check(request, "preview-ip"):
        return HttpResponse("Too many previews; slow down a little.", status=429)
    interests = " ".join(request.GET.get("interests", "").split())[:INTERESTS_MAX_LENGTH]
    keywords = [k.strip() for k in request.GET.get("keywords", "").split(",") if k.strip()][:20]
    categories = sorted(
        {code for code in request.GET.getlist("categories") if code in CATEGORY_NAMES}
    )
    papers = None
    if len(interests) >= 3 or keywords or categories:
        papers = _cached_preview(interests, keywords, categories)
    response = render(request, "accounts/_preview.html", {"papers": papers})
    response["Cache-Control"] = "private, max-age=60"
    return response


def _cached_preview(interests: str, keywords: list[str], categories: list[str]) -> list[dict]:
    key_source = json.dumps([interests.lower(), keywords, categories])
    key = "preview:" + hashlib.sha256(key_source.encode()).hexdigest()
    papers = cache.get(key)
    if papers is None:
        ranked = preview_papers(
            interests_text=interests, keywords=keywords, categories=categories, limit=5
        )
        papers = [
            {
                "title": item.paper.readable_title,
                "url": item.paper.url,
                "reason": item.reason,
                "categories": item.paper.categories[:3],
            }
            for item in ranked
        ]
        cache.set(key, papers, settings.PREVIEW_CACHE_SECONDS)
    return papers


def invalid_link(request: HttpRequest, error: tokens.InvalidToken) -> HttpResponse:
    """The page for a link that is forged, expired or no longer valid (any signed link)."""
    return render(
        request,
        "accounts/invalid_link.html",
        {"message": str(error), "expired": error.expired},
        status=400,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscriber = tokens.read_token(token, "confirm").subscriber
    except tokens.InvalidToken as error:
        return invalid_link(request, error)
    if subscriber.status == Subscriber.Status.ACTIVE:
        return redirect(tokens.preferences_path(subscriber))
    if subscriber.status != Subscriber.Status.PENDING:
        error = tokens.InvalidToken("This confirmation link is not valid any more.")
        return invalid_link(request, error)
    if request.method == "GET":
        return render(request, "accounts/confirm.html", {"subscriber": subscriber})
    services.subscriber_confirm(subscriber=subscriber)
    messages.success(request, selectors.first_digest_message(subscriber))
    return redirect(tokens.preferences_path(subscriber))


def _preferences_subscriber(token: str) -> Subscriber:
    return tokens.read_token(token, "preferences").subscriber


@never_cache
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscriber = _preferences_subscriber(token)
    except tokens.InvalidToken as error:
        return invalid_link(request, error)
    if request.method == "POST":
        form = PreferencesForm(request.POST)
        if form.is_valid():
            services.subscriber_update_preferences(
                subscriber=subscriber,
                profile=services.ProfileData.from_cleaned(form.cleaned_data),
            )
            messages.success(request, "Saved. Your next digest uses these preferences.")
            return redirect(request.path)
        return _preferences_page(request, subscriber, token, form=form, status=400)
    return _preferences_page(request, subscriber, token)


def _preferences_page(
    request: HttpRequest,
    subscriber: Subscriber,
    token: str,
    *,
    form: PreferencesForm | None = None,
    email_form: ChangeEmailForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The preferences page, with either of its two forms as submitted (errors and input)."""
    profile = subscriber.profile
    form = form or PreferencesForm.for_profile(profile)
    liked, disliked = selectors.rated_papers(subscriber)
    context = {
        "subscriber": subscriber,
        "profile": profile,
        "form": form,
        "email_form": email_form or ChangeEmailForm(current_email=subscriber.email),
        "token": token,
        "digests": [
            (digest, web_version_url(digest))
            for digest in selectors.recent_digests(subscriber, limit=10)
        ],
        "feed_url": feed_url(subscriber),
        "liked": liked,
        "disliked": disliked,
        **_paste_context(paste_check.lines_to_show(form["seed_references"].value() or "")),
        "unsubscribe_path": reverse(
            "accounts:unsubscribe", args=[tokens.make_token(subscriber, "unsubscribe")]
        ),
    }
    return render(request, "accounts/preferences.html", context, status=status)


@never_cache
@require_POST
def request_email_change(request: HttpRequest, token: str) -> HttpResponse:
    """The preferences page's "change email address" form: mail a link to the new address.

    Like asking for a preferences link, the answer is the same whether or not the new address
    is known; the per-address limit (counted with subscribing) caps what one address is sent.
    """
    try:
        subscriber = _preferences_subscriber(token)
    except tokens.InvalidToken as error:
        return invalid_link(request, error)
    form = ChangeEmailForm(request.POST, current_email=subscriber.email)
    if ratelimit.first_exceeded(_limit_per_ip(request)):
        form.add_error(None, RATE_LIMITED_MESSAGE)
        return _preferences_page(request, subscriber, token, email_form=form, status=429)
    if subscriber.status == Subscriber.Status.SUPPRESSED:
        form.add_error(None, "Emails to this subscription are stopped, so it cannot be moved.")
    if not form.is_valid():
        return _preferences_page(request, subscriber, token, email_form=form, status=400)
    new_email = form.cleaned_data["new_email"]
    if not ratelimit.first_exceeded(_limit_per_email(new_email)):
        tasks.request_email_change.delay(subscriber.pk, new_email)
    messages.info(
        request,
        f"Check your new inbox: we sent an email to {new_email}. Your address changes when you "
        f"follow the link in it (within {settings.CHANGE_EMAIL_LINK_MAX_AGE_DAYS} days); until "
        f"then everything keeps going to {subscriber.email}.",
    )
    # The form's action ends in #change-email (so an error shows by the form) and a redirect
    # keeps that fragment unless it names its own: this one shows the message at the top.
    return redirect(reverse("accounts:preferences", args=[token]) + "#main")


def _already_changed(request: HttpRequest, token: str) -> HttpResponse | None:
    """A change-email link whose change is done (a second click or tab): on to preferences."""
    subscriber = tokens.applied_email_change(token)
    if subscriber is None:
        return None
    messages.info(request, f"Done already: your digests go to {subscriber.email}.")
    return redirect(tokens.preferences_path(subscriber))


@never_cache
@require_http_methods(["GET", "POST"])
def change_email(request: HttpRequest, token: str) -> HttpResponse:
    """The link mailed to a new address: one button, whose POST moves the subscription there."""
    try:
        subscriber, new_email = tokens.read_email_change(token)
    except tokens.InvalidToken as error:
        return _already_changed(request, token) or invalid_link(request, error)
    obstacle = selectors.email_change_obstacle(subscriber, new_email)
    if obstacle is None and request.method == "POST":
        outcome = services.subscriber_change_email(
            subscriber=subscriber, new_email=new_email, ip=ratelimit.client_ip(request)
        )
        if outcome == "changed":
            messages.success(
                request,
                f"Done: your digests now go to {new_email}. We let your old address know.",
            )
            return redirect(tokens.preferences_path(subscriber))
        if outcome == "stale":  # another click changed it a moment ago
            stale = tokens.InvalidToken("This link is not valid any more.")
            return _already_changed(request, token) or invalid_link(request, stale)
        obstacle = outcome
    if obstacle is not None:
        context = {"reason": obstacle, "new_email": new_email}
        return render(request, "accounts/change_email_refused.html", context, status=409)
    context = {"new_email": new_email, "masked_old_email": mask_email(subscriber.email)}
    return render(request, "accounts/change_email.html", context)


@require_POST
def pause(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscriber = _preferences_subscriber(token)
    except tokens.InvalidToken as error:
        return invalid_link(request, error)
    if request.POST.get("action") == "resume":
        services.subscriber_resume(subscriber=subscriber)
        messages.success(request, "Welcome back: digests are on again.")
    else:
        services.subscriber_pause(subscriber=subscriber)
        messages.success(request, "Paused. We keep your preferences; resume any time.")
    return redirect("accounts:preferences", token=token)


@never_cache
@require_http_methods(["GET", "POST"])
def delete_data(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscriber = _preferences_subscriber(token)
    except tokens.InvalidToken as error:
        return invalid_link(request, error)
    if request.method == "GET":
        context = {"subscriber": subscriber, "token": token}
        return render(request, "accounts/delete.html", context)
    services.subscriber_delete_all_data(subscriber=subscriber)
    return render(request, "accounts/deleted.html")


@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """The page behind the link in every email: one button, and a POST that does it."""
    try:
        subscriber = tokens.read_token(token, "unsubscribe").subscriber
    except tokens.InvalidToken as error:
        return invalid_link(request, error)
    if request.method == "GET":
        context = {"subscriber": subscriber, "token": token}
        return render(request, "accounts/unsubscribe.html", context)
    services.subscriber_unsubscribe(subscriber=subscriber)
    context = {"preferences_path": tokens.preferences_path(subscriber)}
    return render(request, "accounts/unsubscribed.html", context)


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe_one_click(request: HttpRequest, token: str) -> HttpResponse:
    """RFC 8058 one-click: the mail client POSTs List-Unsubscribe=One-Click, with no cookies
    and no CSRF token (the signed token is the proof). Answers 200, never a redirect."""
    if request.method == "GET":
        # A client without one-click support opens the link: show the one-button page.
        return unsubscribe(request, token)
    if request.POST.get("List-Unsubscribe") != "One-Click":
        return HttpResponse(
            "Expected List-Unsubscribe=One-Click.\n", status=400, content_type="text/plain"
        )
    try:
        subscriber = tokens.read_token(token, "unsubscribe").subscriber
    except tokens.InvalidToken as error:
        return HttpResponse(f"{error}\n", status=400, content_type="text/plain")
    services.subscriber_unsubscribe(subscriber=subscriber)
    return HttpResponse("You are unsubscribed.\n", content_type="text/plain")
