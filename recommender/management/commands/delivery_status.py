"""`manage.py delivery_status`: the digest ledger per period, what is overdue and what is stuck.

    python manage.py delivery_status [--days 7]

Exits 1 when digests are overdue, so a cron job or a monitoring check can alert on it.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from recommender.delivery import health


class Command(BaseCommand):
    help = "Digests per period: due, pending, built, sending, sent, failed, skipped, suppressed."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--days", type=int, default=7, help="periods to show (default 7)")

    def handle(self, *args, days: int, **options) -> None:
        now = timezone.now()
        rows = health.ledger_by_period(since=now.date() - timedelta(days=days - 1))
        columns = health.LEDGER_COLUMNS
        self.stdout.write(f"{'period':<12}" + "".join(f"{c:>11}" for c in columns))
        for row in rows:
            cells = "".join(f"{row[c]:>11}" for c in columns)
            self.stdout.write(f"{row['period']!s:<12}{cells}")
        if not rows:
            self.stdout.write("(no digests in these periods)")

        stuck = health.stuck_digests(now=now)
        if stuck:
            self.stdout.write("\nStuck (open past their send time):")
            for digest, holdup in stuck:
                self.stdout.write(
                    f"  digest {digest.pk} {digest.subscriber.email} {digest.period_start} "
                    f"{digest.status}, due {digest.due_at:%Y-%m-%d %H:%M}: {holdup}"
                )
        late = health.overdue(now=now)
        summary = (
            f"{late['digests']} digests overdue, {late['unclaimed']} due subscribers unclaimed "
            f"(overdue = more than {settings.DIGEST_OVERDUE_MINUTES:g} min late)"
        )
        if late["digests"] or late["unclaimed"]:
            raise CommandError(summary)
        self.stdout.write(self.style.SUCCESS(summary))
