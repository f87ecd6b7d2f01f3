from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import Truncator

from console.actions import confirm_then
from recommender.delivery.preview import preview_message, send_preview_to
from recommender.ranking.breakdown import preview_with_breakdown

from . import services
from .models import Subscriber

RECENT = 10


class PausedFilter(admin.SimpleListFilter):
    title = "paused"
    parameter_name = "paused"

    def lookups(self, request, model_admin):
        return [("yes", "Paused"), ("no", "Not paused")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(paused_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(paused_at__isnull=True)
        return queryset


def _lines(values) -> str:
    return format_html_join(mark_safe("<br>"), "{}", ((value,) for value in values)) or "-"


def _day(moment) -> str:
    return moment.date().isoformat() if moment else "-"


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    """Subscribers change their own address and preferences (through their signed links);
    staff read everything here and act through the actions, each recorded in the audit log."""

    list_display = ("email", "status", "signed_up", "confirmed", "last_digest", "preview")
    list_filter = ("status", PausedFilter, "created_at")
    search_fields = ("email", "pending_email")
    list_per_page = 50
    fieldsets = (
        (
            "Subscription",
            {
                "fields": (
                    "email",
                    "status",
                    "preview",
                    "created_at",
                    "confirmed_at",
                    "paused_at",
                    "unsubscribed_at",
                    "next_digest_at",
                    "last_digest_at",
                    "pending_email",
                    "pending_email_requested_at",
                )
            },
        ),
        (
            "Consent record",
            {"fields": ("consent_at", "consent_ip", "consent_user_agent", "consent_source")},
        ),
        ("Profile", {"fields": ("profile_summary",)}),
        ("Recent digests", {"fields": ("recent_digests",)}),
        ("Feedback history", {"fields": ("feedback_history",)}),
    )
    actions = ("resend_confirmation", "suppress", "reactivate", "delete_with_all_data")

    def get_readonly_fields(self, request, obj=None):
        return [field for fieldset in self.fieldsets for field in fieldset[1]["fields"]]

    def has_add_permission(self, request) -> bool:
        # A subscription starts with the person's own double opt-in, never with staff.
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        # Read-only pages: staff change a subscription only through the actions.
        return False

    @admin.display(description="Signed up", ordering="created_at")
    def signed_up(self, subscriber: Subscriber) -> str:
        return _day(subscriber.created_at)

    @admin.display(description="Confirmed", ordering="confirmed_at")
    def confirmed(self, subscriber: Subscriber) -> str:
        return _day(subscriber.confirmed_at)

    @admin.display(description="Last digest", ordering="last_digest_at")
    def last_digest(self, subscriber: Subscriber) -> str:
        return _day(subscriber.last_digest_at)

    def get_actions(self, request):
        actions = super().get_actions(request)
        # Replaced by delete_with_all_data (which also erases the delivery log).
        actions.pop("delete_selected", None)
        return actions

    def delete_model(self, request, obj: Subscriber) -> None:
        services.subscriber_delete_all_data(subscriber=obj)

    def delete_queryset(self, request, queryset: QuerySet[Subscriber]) -> None:
        for subscriber in queryset:
            services.subscriber_delete_all_data(subscriber=subscriber)

    # --- What the change page shows ----------------------------------------------------------

    @admin.display(description="Next digest")
    def preview(self, subscriber: Subscriber) -> str:
        if not subscriber.pk:
            return "-"
        url = reverse("admin:accounts_subscriber_preview", args=[subscriber.pk])
        return format_html('<a href="{}">Preview</a>', url)

    @admin.display(description="Interests and delivery")
    def profile_summary(self, subscriber: Subscriber) -> str:
        profile = getattr(subscriber, "profile", None)
        if profile is None:
            return "No profile."
        when = f"{profile.get_frequency_display()} at {profile.send_hour}:00 {profile.timezone}"
        if profile.frequency == profile.Frequency.WEEKLY:
            when += f", weekday {profile.send_weekday} (0 = Monday)"
        return format_html(
            "<dl><dt>Interests</dt><dd>{}</dd><dt>Keywords</dt><dd>{}</dd><dt>Categories</dt>"
            "<dd>{}</dd><dt>Papers they liked</dt><dd>{}</dd><dt>Delivery</dt><dd>{}</dd></dl>",
            profile.interests_text or "-",
            _lines(profile.keywords),
            ", ".join(profile.categories) or "-",
            _lines(profile.seed_references),
            when,
        )

    @admin.display(description="Latest digests")
    def recent_digests(self, subscriber: Subscriber) -> str:
        digests = subscriber.digests.order_by("-period_start")[:RECENT]
        rows = format_html_join(
            "",
            '<a href="{}">{}</a>: {}{}<br>',
            (
                (
                    reverse("admin:recommender_digest_change", args=[digest.pk]),
                    digest.period_start,
                    digest.get_status_display(),
                    f" ({digest.note})" if digest.note else "",
                )
                for digest in digests
            ),
        )
        return rows or "None yet."

    @admin.display(description="Latest feedback")
    def feedback_history(self, subscriber: Subscriber) -> str:
        events = subscriber.feedback.select_related("paper").order_by("-created_at")[:20]
        rows = format_html_join(
            "",
            '{}: {} <a href="{}">{}</a><br>',
            (
                (
                    event.created_at.strftime("%Y-%m-%d %H:%M"),
                    event.get_kind_display(),
                    reverse("admin:recommender_paper_change", args=[event.paper_id]),
                    Truncator(event.paper.readable_title).words(16),
                )
                for event in events
            ),
        )
        return rows or "None yet."

    # --- Actions (each asks first) ---------------------------------------------------------------

    @admin.action(description="Resend the confirmation email")
    def resend_confirmation(self, request, queryset):
        def apply(selected):
            sent = sum(services.subscriber_resend_confirmation(subscriber=s) for s in selected)
            return f"Confirmation email sent to {sent} pending subscriber(s)."

        return confirm_then(
            self,
            request,
            queryset,
            question="Resend the confirmation email",
            explanation="Pending subscribers get their confirmation link again; others are "
            "skipped (active ones are confirmed already; suppressed addresses get nothing).",
            apply=apply,
        )

    @admin.action(description="Suppress (stop all email)")
    def suppress(self, request, queryset):
        def apply(selected):
            detail = f"suppressed in the admin by {request.user.get_username()}"
            done = sum(services.subscriber_suppress(subscriber=s, detail=detail) for s in selected)
            return f"{done} subscriber(s) suppressed; their addresses are on the suppression list."

        return confirm_then(
            self,
            request,
            queryset,
            question="Suppress these subscribers",
            explanation="No email of any kind will go to these addresses (digests, account "
            "emails, new sign-ups) until they are reactivated here.",
            apply=apply,
        )

    @admin.action(description="Reactivate (lift a suppression)")
    def reactivate(self, request, queryset):
        def apply(selected):
            done = sum(services.subscriber_reactivate(subscriber=s) for s in selected)
            return f"{done} subscriber(s) reactivated (only suppressed ones can be)."

        return confirm_then(
            self,
            request,
            queryset,
            question="Reactivate these subscribers",
            explanation="Suppressed subscribers leave the suppression list and get digests "
            "again (pending ones stay pending). Unsubscribed people are left alone: only they "
            "can subscribe again.",
            apply=apply,
        )

    @admin.action(description="Delete with all their data")
    def delete_with_all_data(self, request, queryset):
        def apply(selected):
            count = 0
            for subscriber in list(selected):
                services.subscriber_delete_all_data(subscriber=subscriber)
                count += 1
            return f"{count} subscriber(s) deleted with their profile, feedback, digests and log."

        return confirm_then(
            self,
            request,
            queryset,
            question="Delete these subscribers with all their data",
            explanation="Erases each subscriber, their profile, feedback, digests and delivery "
            "log. This cannot be undone. Suppression entries stay, so a bounced or complaining "
            "address is still never mailed.",
            apply=apply,
        )

    # --- The next digest, as it would be sent now ------------------------------------------------

    def get_urls(self):
        preview = self.admin_site.admin_view(self.preview_view)
        return [
            path("<int:object_id>/preview/", preview, name="accounts_subscriber_preview"),
            *super().get_urls(),
        ]

    def preview_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """The email this subscriber would get if their digest were built now (nothing is
        stored), each paper's score split into its parts, and a button that mails the preview
        to the staff member."""
        subscriber = get_object_or_404(Subscriber.objects.select_related("profile"), pk=object_id)
        if not self.has_view_permission(request, subscriber):
            return HttpResponse(status=403)
        result, parts = preview_with_breakdown(subscriber)
        if request.method == "POST":
            return self._send_preview(request, subscriber, result)
        message = preview_message(subscriber, result, safe_links=True) if result.picks else None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "subscriber": subscriber,
            "result": result,
            "parts": parts,
            "message": message,
            "email_html": message.alternatives[0][0] if message else "",
            "title": f"Next digest of {subscriber.email}",
        }
        return TemplateResponse(request, "admin/accounts/subscriber/preview_digest.html", context)

    def _send_preview(self, request, subscriber, result) -> HttpResponse:
        address = request.user.email
        if not address:
            self.message_user(
                request, "Your staff account has no email address to send to.", messages.ERROR
            )
        elif not result.picks:
            self.message_user(request, "There is nothing to send.", messages.WARNING)
        else:
            send_preview_to(subscriber, result, address=address)
            self.message_user(request, f"Preview sent to {address}.", messages.SUCCESS)
        return HttpResponseRedirect(request.path)
