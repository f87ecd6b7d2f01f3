"""Admin actions that ask first: every action on selected rows shows what it will do to which
rows, and runs only when the staff member confirms (as Django's own delete action does)."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

SHOWN = 50


def confirm_then(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet,
    *,
    question: str,
    explanation: str,
    apply: Callable[[QuerySet], str],
) -> TemplateResponse | None:
    """Show a confirmation page for the selected rows; on "Yes", run `apply` and show the
    message it returns. Returning None sends the admin back to the list."""
    if request.POST.get("confirmed") == "yes":
        modeladmin.message_user(request, apply(queryset), messages.SUCCESS)
        return None
    opts = modeladmin.model._meta
    count = queryset.count()
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": question,
        "question": question,
        "explanation": explanation,
        "objects": list(queryset[:SHOWN]),
        "count": count,
        "more": max(count - SHOWN, 0),
        "opts": opts,
        "action": request.POST.get("action", ""),
        "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
        "select_across": request.POST.get("select_across", "0"),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/console/confirm_action.html", context)
