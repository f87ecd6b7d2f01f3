from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Count, F, Max, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from console.actions import confirm_then
from console.forms import LinesField

from .curation import papers_set_curation
from .delivery.health import delivery_health
from .ingestion.sources import SOURCE_OF_FORMAT
from .models import (
    DeliveryEvent,
    Digest,
    DigestItem,
    FeedbackEvent,
    IngestionRun,
    Paper,
    Suppression,
)

RECEIVERS_SHOWN = 50


class CappedCountPaginator(Paginator):
    """Counts at most `cap` + 1 rows: a search for a common word or name (a fifth of all
    papers) would otherwise scan the whole table just to print how many matched. Only the
    first `cap` matches can be paged through, which is all anyone reads of such a search."""

    cap = 1000

    @cached_property
    def count(self) -> int:
        return self.object_list[: self.cap + 1].count()

    @property
    def capped(self) -> bool:
        return self.count > self.cap


# --- Papers -----------------------------------------------------------------------------------


class ListingDayFilter(admin.SimpleListFilter):
    """Relative to the newest listing day stored (what "new today" means for digests)."""

    title = "listing day"
    parameter_name = "listed"
    SPANS = {"newest": 1, "2": 2, "7": 7, "30": 30}

    def lookups(self, request, model_admin):
        return [
            ("newest", "Newest listing day"),
            ("2", "Last 2 listing days"),
            ("7", "Last 7 days"),
            ("30", "Last 30 days"),
        ]

    def queryset(self, request, queryset):
        span = self.SPANS.get(self.value() or "")
        if span is None:
            return queryset
        newest = Paper.objects.aggregate(newest=Max("first_seen"))["newest"]
        if newest is None:
            return queryset.none()
        return queryset.filter(first_seen__gt=newest - timedelta(days=span))


class CategoryFilter(admin.SimpleListFilter):
    """Primary category, offering the categories subscribers can pick (not every code seen)."""

    title = "primary category"
    parameter_name = "category"

    def lookups(self, request, model_admin):
        from accounts.categories import CATEGORY_GROUPS

        return [(code, code) for _group, entries in CATEGORY_GROUPS for code, _name in entries]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(primary_category=self.value())
        return queryset


class SourceFilter(admin.SimpleListFilter):
    title = "source"
    parameter_name = "source"

    def lookups(self, request, model_admin):
        return [(name, name) for name in SOURCE_OF_FORMAT.values()]

    def queryset(self, request, queryset):
        if self.value() not in SOURCE_OF_FORMAT.values():
            return queryset
        if connection.vendor == "postgresql":
            return queryset.filter(sources__contains=[self.value()])  # jsonb @>, GIN-indexed
        # SQLite has no JSON containment: the stored list's text holds the quoted name.
        return queryset.filter(sources__icontains=f'"{self.value()}"')


class PaperForm(forms.ModelForm):
    authors = LinesField(required=False, help_text="One author per line.")
    categories = LinesField(required=False, help_text="One per line; the first is the primary.")
    keywords = LinesField(required=False, help_text="One per line.")

    class Meta:
        model = Paper
        # The fields the admin's fieldsets show and may edit (ingestion owns the rest).
        fields = (
            "title",
            "arxiv_id",
            "abstract",
            "authors",
            "categories",
            "primary_category",
            "first_seen",
            "published_at",
            "curation",
            "curation_note",
            "abs_url",
            "pdf_url",
            "code_url",
            "project_url",
            "comment",
            "keywords",
            "upvotes",
            "num_comments",
        )


def _curation_action(state: str, description: str, explanation: str):
    def action(modeladmin, request: HttpRequest, queryset: QuerySet[Paper]):
        def apply(selected: QuerySet[Paper]) -> str:
            changed = papers_set_curation(papers=selected, state=state, by=request.user)
            return f"{changed} paper(s) marked {Paper.Curation(state).label.lower()}."

        return confirm_then(
            modeladmin,
            request,
            queryset,
            question=description,
            explanation=explanation,
            apply=apply,
        )

    action.__name__ = f"mark_{state}"
    return admin.action(description=description)(action)


@admin.register(Paper)
class PaperAdmin(admin.ModelAdmin):
    form = PaperForm
    # Few, narrow columns: at 1280 px with the side menu and the filters open, the curation
    # column must still be on screen.
    list_display = ("short_title", "listed", "trending", "curation")
    list_display_links = ("short_title",)
    list_filter = ("curation", ListingDayFilter, CategoryFilter, SourceFilter)
    # arXiv ids are found by get_search_results (any spelling); the two text fields have
    # trigram indexes on PostgreSQL (migration 0005), which an OR with a third, unindexed
    # condition would keep the planner from using.
    search_fields = ("title", "authors")
    search_help_text = (
        "Title words, an author's name or an arXiv id (2503.11731, with or without v2)."
    )
    list_per_page = 50
    # The filtered count is enough; a second COUNT over every paper costs more than the page.
    show_full_result_count = False
    ordering = ("-first_seen", "-upvotes")
    readonly_fields = (
        "arxiv_version",
        "sources_list",
        "ingested_at",
        "updated_at",
        "curated_at",
        "curated_by",
        "feedback_counts",
        "received_by",
    )
    fieldsets = (
        (None, {"fields": ("title", "arxiv_id", "arxiv_version", "abstract", "authors")}),
        ("Listing", {"fields": ("categories", "primary_category", "first_seen", "published_at")}),
        (
            "Curation",
            {"fields": ("curation", "curation_note", "curated_at", "curated_by")},
        ),
        ("Readers", {"fields": ("received_by", "feedback_counts")}),
        (
            "Links and signals",
            {
                "classes": ("collapse",),
                "fields": (
                    "abs_url",
                    "pdf_url",
                    "code_url",
                    "project_url",
                    "comment",
                    "keywords",
                    "upvotes",
                    "num_comments",
                    "sources_list",
                    "ingested_at",
                    "updated_at",
                ),
            },
        ),
    )
    actions = (
        _curation_action(
            Paper.Curation.FEATURED,
            "Feature these papers",
            "Featured papers get a ranking boost in every digest they are relevant to.",
        ),
        _curation_action(
            Paper.Curation.PINNED,
            "Pin these papers",
            "Pinned papers go to the top of every digest whose window they fall in.",
        ),
        _curation_action(
            Paper.Curation.HIDDEN,
            "Hide these papers",
            "Hidden papers are never put in a digest (digests already sent keep them).",
        ),
        _curation_action(
            Paper.Curation.NORMAL,
            "Return these papers to normal",
            "The papers are ranked like any other again.",
        ),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(trend=F("upvotes") + F("num_comments"))

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        if request.GET.get("q"):
            return CappedCountPaginator(queryset, per_page, orphans, allow_empty_first_page)
        return super().get_paginator(request, queryset, per_page, orphans, allow_empty_first_page)

    def get_search_results(self, request, queryset, search_term):
        from digest_site.arxiv_ids import normalise

        arxiv_id = normalise(search_term.strip())
        if arxiv_id:
            # An id in any spelling (v2, arXiv: prefix, abs/pdf link) finds its paper.
            return queryset.filter(arxiv_id=arxiv_id), False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description="Paper", ordering="title")
    def short_title(self, paper: Paper) -> str:
        # Long titles wrap (console.css); past 30 words they end at a word, never mid-word.
        return format_html(
            '{}<br><span class="console-parts">{} · {}</span>',
            Truncator(paper.readable_title).words(30),  # as readers see it: `$Ω$` -> Ω
            paper.arxiv_id or "no arXiv id",
            paper.primary_category or "-",
        )

    @admin.display(description="Listed", ordering="first_seen")
    def listed(self, paper: Paper) -> str:
        return paper.first_seen.isoformat()

    @admin.display(description="Trending", ordering="-trend")
    def trending(self, paper: Paper) -> str:
        return format_html(
            '▲ {}<br><span class="console-parts">{} comments</span>',
            paper.upvotes,
            paper.num_comments,
        )

    @admin.display(description="Sources")
    def sources_list(self, paper: Paper) -> str:
        return ", ".join(paper.sources) or "-"

    @admin.display(description="Feedback")
    def feedback_counts(self, paper: Paper) -> str:
        counts = dict(
            FeedbackEvent.objects.filter(paper=paper).values_list("kind").annotate(n=Count("id"))
        )
        return ", ".join(
            f"{label}: {counts.get(kind, 0)}" for kind, label in FeedbackEvent.Kind.choices
        )

    @admin.display(description="Sent to")
    def received_by(self, paper: Paper) -> str:
        items = (
            DigestItem.objects.filter(paper=paper)
            .select_related("digest__subscriber")
            .order_by("-digest__period_start")
        )
        total = items.count()
        if not total:
            return "No subscriber has received this paper."
        rows = format_html_join(
            "",
            '<li><a href="{}">{}</a>, digest of {} ({}), rank {}</li>',
            (
                (
                    reverse("admin:accounts_subscriber_change", args=[item.digest.subscriber_id]),
                    item.digest.subscriber.email,
                    item.digest.period_start,
                    item.digest.get_status_display().lower(),
                    item.rank,
                )
                for item in items[:RECEIVERS_SHOWN]
            ),
        )
        more = total - RECEIVERS_SHOWN
        if more > 0:
            rows += format_html("<li>and {} more</li>", more)
        return format_html('<ul class="console-list">{}</ul>', rows)

    def save_model(self, request, obj: Paper, form, change) -> None:
        if "curation" in form.changed_data:
            from django.utils import timezone

            obj.curated_at = timezone.now()
            obj.curated_by = request.user
        super().save_model(request, obj, form, change)


# --- Digests ------------------------------------------------------------------------------------


class DigestItemInline(admin.TabularInline):
    model = DigestItem
    extra = 0
    fields = ("rank", "paper", "score_shown", "reason")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Score")
    def score_shown(self, item: DigestItem) -> str:
        return f"{item.score:.3f}"


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record of what happened: staff read it, nobody edits it here."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Digest)
class DigestAdmin(ReadOnlyAdmin):
    list_display = ("subscriber", "period_start", "status", "item_count", "sent_at", "attempts")
    list_filter = ("status", "skip_reason", "frequency", "period_start")
    search_fields = ("subscriber__email", "message_id")
    inlines = (DigestItemInline,)
    list_select_related = ("subscriber",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_items=Count("items"))

    @admin.display(description="Papers", ordering="n_items")
    def item_count(self, digest: Digest) -> int:
        return digest.n_items

    def changelist_view(self, request, extra_context=None):
        # Delivery health sits above the list, so the page admins open daily shows it first.
        return super().changelist_view(
            request, {**(extra_context or {}), "health": delivery_health()}
        )


@admin.register(DeliveryEvent)
class DeliveryEventAdmin(ReadOnlyAdmin):
    list_display = ("occurred_at", "kind", "email", "digest", "message_id")
    list_filter = ("kind", "occurred_at")
    search_fields = ("email", "message_id", "provider_event_id")


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    list_display = ("email", "reason", "detail", "created_at")
    list_filter = ("reason",)
    search_fields = ("email",)


@admin.register(FeedbackEvent)
class FeedbackEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "subscriber", "kind", "paper")
    list_filter = ("kind",)
    search_fields = ("subscriber__email", "paper__arxiv_id")
    list_select_related = ("subscriber", "paper")


@admin.register(IngestionRun)
class IngestionRunAdmin(ReadOnlyAdmin):
    list_display = (
        "started_at",
        "source",
        "trigger",
        "status",
        "created",
        "updated",
        "unchanged",
        "rejected",
        "label",
    )
    list_filter = ("source", "status", "trigger")
