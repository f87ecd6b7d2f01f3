"""The floor under the subscribe POST, for bench/web_load.py: the production settings, middleware
and web server, serving one view that does the least a form POST can do.

GET / answers a CSRF token in the form field the load test reads; POST / passes the CSRF check
(which parses the form body), reads one field and redirects where the real subscribe POST does.
No form validation, no rate limits, no Redis: the real POST's latency minus this one is what the
application's own work costs. POST /validated does that and validates the subscribe form as the
real view does (SubscribeForm.for_validation), still without Redis: between the two, the cost of
the form alone and of the rate limits with the sign-up queue (one Redis round trip) alone.

    granian --interface wsgi ... bench.web_floor:application   (web_load.py starts it)
"""

from __future__ import annotations

import os

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.middleware.csrf import get_token
from django.urls import path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "digest_site.settings")


def floor(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return HttpResponse(f'<input name="csrfmiddlewaretoken" value="{get_token(request)}">')
    request.POST.get("email")
    return HttpResponseRedirect("/subscribe/check-your-inbox")


def validated(request: HttpRequest) -> HttpResponse:
    from accounts.forms import SubscribeForm

    if request.method == "GET":
        return floor(request)
    if not SubscribeForm.for_validation(request.POST).is_valid():
        return HttpResponse("invalid form", status=400)
    return HttpResponseRedirect("/subscribe/check-your-inbox")


urlpatterns = [path("", floor), path("validated", validated)]

# Sets Django up with the production settings (and the entry point's environment clean-up);
# the URLconf is read at the first request, so this module's takes the project's place.
from digest_site.wsgi import application  # noqa: F401

settings.ROOT_URLCONF = __name__
