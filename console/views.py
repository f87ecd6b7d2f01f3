from __future__ import annotations

from datetime import date, timedelta

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.views import View

from . import charts, dashboard
from .charts import Series, Threshold

MAX_DAYS = 366
STATUS_COLORS = {
    "pending": "#d69e2e",
    "active": "#38a169",
    "unsubscribed": "#718096",
    "suppressed": "#e53e3e",
    "built": "#a0aec0",
    "sending": "#805ad5",
    "sent": "#38a169",
    "failed": "#e53e3e",
    "skipped": "#d69e2e",
}


def chosen_range(request: HttpRequest) -> dashboard.DayRange:
    """?days=N (one of the quick ranges) or ?start=YYYY-MM-DD&end=YYYY-MM-DD; 30 days by default.
    A range the admin cannot read is replaced by the default rather than refused."""
    today = timezone.localdate()
    try:
        start = date.fromisoformat(request.GET.get("start", ""))
        end = date.fromisoformat(request.GET.get("end", "") or today.isoformat())
        if start <= end and (end - start).days < MAX_DAYS:
            return dashboard.DayRange(start, end)
    except ValueError:
        pass
    days = request.GET.get("days", "")
    length = int(days) if days.isdigit() and 1 <= int(days) <= MAX_DAYS else 30
    return dashboard.DayRange.last(length, today=today)


class DashboardView(View):
    site: admin.AdminSite | None = None

    def get(self, request: HttpRequest) -> HttpResponse:
        days = chosen_range(request)
        labels = [day.strftime("%d %b") for day in days.days]
        subscribers = dashboard.subscribers_by_status(days)
        digests = dashboard.digests_by_status(days)
        delivery = dashboard.delivery_rates(days)
        engagement = dashboard.engagement(days)
        ingestion = dashboard.ingestion(days)
        limits = delivery["thresholds"]
        context = {
            **self.site.each_context(request),
            "title": "Dashboard",
            "range": days,
            "ranges": dashboard.RANGES,
            "previous_start": days.start - timedelta(days=days.length),
            "subscribers": subscribers,
            "subscribers_chart": _status_bars(
                labels, subscribers["series"], "Subscribers by status at the end of each day"
            ),
            "digests": digests,
            "digests_chart": _status_bars(labels, digests["series"], "Digests per day by status"),
            "delivery": delivery,
            "complaints_chart": charts.lines(
                labels,
                [Series("complaints per send", delivery["complaint_daily"], "#e53e3e")],
                title="Spam complaint rate per day",
                fmt=charts.percent,
                thresholds=[
                    Threshold(limits["complaint_target"], "0.1 % target", "#d69e2e"),
                    Threshold(limits["complaint_limit"], "0.3 % limit", "#c53030"),
                ],
            ),
            "bounces_chart": charts.lines(
                labels,
                [Series("bounces per send", delivery["bounce_daily"], "#dd6b20")],
                title="Bounce rate per day",
                fmt=charts.percent,
                thresholds=[
                    Threshold(limits["bounce_target"], "2 % target", "#d69e2e"),
                    Threshold(limits["bounce_limit"], "5 % limit", "#c53030"),
                ],
            ),
            "engagement": engagement,
            "engagement_chart": charts.lines(
                labels,
                [
                    Series("opened a paper", engagement["click_daily"], "#2b6cb0"),
                    Series("gave feedback", engagement["feedback_daily"], "#38a169"),
                ],
                title="Share of sent digests with a paper opened or feedback given",
                fmt=charts.percent,
            ),
            "ingestion": ingestion,
            "ingestion_chart": charts.stacked_bars(
                labels,
                [Series(source, values) for source, values in ingestion["created_series"].items()],
                title="New papers stored per day by source",
            ),
            **dashboard.model_card(),
        }
        return TemplateResponse(request, "admin/console/dashboard.html", context)


def _status_bars(labels, series: dict, title: str) -> str:
    """Stacked bars of counts per status, in the statuses' own colours."""
    bars = [Series(status, values, STATUS_COLORS[status]) for status, values in series.items()]
    return charts.stacked_bars(labels, bars, title=title)
