from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from recommender.ranking.subscribers import preview_digest

from .models import InterestProfile, Subscriber


class InterestProfileInline(admin.StackedInline):
    model = InterestProfile
    can_delete = False
    filter_horizontal = ()
    raw_id_fields = ("seed_papers",)


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = (
        "email",
        "status",
        "created_at",
        "confirmed_at",
        "next_digest_at",
        "digest_preview",
    )
    list_filter = ("status",)
    search_fields = ("email",)
    readonly_fields = (
        "digest_preview",
        "consent_at",
        "consent_ip",
        "consent_user_agent",
        "consent_source",
        # Set only by the owner's own request; confirming it is the owner's step, not staff's.
        "pending_email",
        "pending_email_requested_at",
    )
    inlines = (InterestProfileInline,)

    def get_urls(self):
        preview = self.admin_site.admin_view(self.preview_view)
        return [
            path("<int:object_id>/preview/", preview, name="accounts_subscriber_preview"),
            *super().get_urls(),
        ]

    @admin.display(description="Next digest")
    def digest_preview(self, subscriber: Subscriber) -> str:
        if not subscriber.pk:
            return "-"
        url = reverse("admin:accounts_subscriber_preview", args=[subscriber.pk])
        return format_html('<a href="{}">Preview</a>', url)

    def preview_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """The papers this subscriber would get if their digest were built now, and why."""
        subscriber = get_object_or_404(Subscriber.objects.select_related("profile"), pk=object_id)
        if not self.has_view_permission(request, subscriber):
            return HttpResponse(status=403)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "subscriber": subscriber,
            "result": preview_digest(subscriber),
            "title": f"Next digest of {subscriber.email}",
        }
        return TemplateResponse(request, "admin/accounts/subscriber/preview_digest.html", context)
