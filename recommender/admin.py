from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from .delivery.health import delivery_health
from .models import DeliveryEvent, Digest, DigestItem, FeedbackEvent, Paper, Suppression


def _set_curation(request: HttpRequest, queryset: QuerySet[Paper], state: str) -> None:
    count = queryset.update(curation=state, curated_at=timezone.now(), curated_by=request.user)
    messages.success(request, f"{count} paper(s) marked {state}.")


@admin.register(Paper)
class PaperAdmin(admin.ModelAdmin):
    list_display = (
        "arxiv_id",
        "shown_title",
        "primary_category",
        "first_seen",
        "upvotes",
        "curation",
    )
    list_filter = ("curation", "first_seen", "primary_category")
    search_fields = ("arxiv_id", "title", "abstract")
    date_hierarchy = "first_seen"
    readonly_fields = ("arxiv_version", "title_key", "ingested_at", "updated_at", "sources")
    actions = ("feature", "pin", "hide", "reset_curation")

    @admin.display(description="title", ordering="title")
    def shown_title(self, paper: Paper) -> str:
        return paper.readable_title  # as readers see it: `$Ω$` -> Ω (recommender/text.py)

    @admin.action(description="Feature (boost in ranking)")
    def feature(self, request, queryset):
        _set_curation(request, queryset, Paper.Curation.FEATURED)

    @admin.action(description="Pin to the top of digests")
    def pin(self, request, queryset):
        _set_curation(request, queryset, Paper.Curation.PINNED)

    @admin.action(description="Hide (never show)")
    def hide(self, request, queryset):
        _set_curation(request, queryset, Paper.Curation.HIDDEN)

    @admin.action(description="Back to normal")
    def reset_curation(self, request, queryset):
        _set_curation(request, queryset, Paper.Curation.NORMAL)


class DigestItemInline(admin.TabularInline):
    model = DigestItem
    extra = 0
    raw_id_fields = ("paper",)
    readonly_fields = ("rank", "paper", "score", "reason")


@admin.register(Digest)
class DigestAdmin(admin.ModelAdmin):
    list_display = ("subscriber", "period_start", "status", "ranker", "sent_at", "attempts")
    list_filter = ("status", "frequency", "period_start")
    search_fields = ("subscriber__email", "message_id")
    raw_id_fields = ("subscriber",)
    inlines = (DigestItemInline,)

    def changelist_view(self, request, extra_context=None):
        # Delivery health sits above the list, so the page admins open daily shows it first.
        return super().changelist_view(
            request, {**(extra_context or {}), "health": delivery_health()}
        )


@admin.register(DeliveryEvent)
class DeliveryEventAdmin(admin.ModelAdmin):
    list_display = ("occurred_at", "kind", "email", "digest", "message_id")
    list_filter = ("kind", "occurred_at")
    search_fields = ("email", "message_id", "provider_event_id")
    raw_id_fields = ("digest",)


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    list_display = ("email", "reason", "created_at")
    list_filter = ("reason",)
    search_fields = ("email",)


@admin.register(FeedbackEvent)
class FeedbackEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "subscriber", "kind", "paper")
    list_filter = ("kind",)
    raw_id_fields = ("subscriber", "paper", "digest_item")
