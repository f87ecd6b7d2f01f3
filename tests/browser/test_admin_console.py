"""The admin console in a real browser (Debian's chromium through Playwright) against a live
server: sign in, read the dashboard, feature a paper and see it in a subscriber's preview, hide
it and see it leave, suppress a subscriber and see no digest go to them, read each step in the
audit log, and get locked out after repeated wrong passwords. Every screen is saved at 1280 px
in var/screenshots/admin-*.png for people to look at (the best are copied to docs/)."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import InterestProfile, Subscriber
from recommender.delivery import sending
from recommender.models import DeliveryEvent, Digest, Paper
from tests.browser.helpers import SCREENSHOTS, outbox_messages
from tests.helpers import clear_local_cache

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}  # the width, whatever helpers.DESKTOP says
PASSWORD = "correct-horse-battery-9"
TARGET = "Sparse autoencoders find interpretable features in protein language models"


@pytest.fixture
def console(live_server, settings, tmp_path, django_user_model):
    settings.SITE_URL = live_server.url
    settings.EMAIL_BACKEND = "digest_site.mailing.backends.OutboxBackend"
    settings.EMAIL_OUTBOX_DIR = tmp_path / "outbox"
    clear_local_cache()
    django_user_model.objects.create_superuser("editor", "editor@example.org", PASSWORD)
    day = date(2026, 6, 30)
    # Twelve papers with upvotes fill the ten places of a trending digest; the target has none,
    # so it is left out until it is featured (the featured boost outweighs any trending score
    # below the upvote scale).
    for n in range(12):
        Paper.objects.create(
            arxiv_id=f"2606.{n + 1:05d}",
            title=f"Trending paper number {n + 1} on efficient transformers",
            abstract="We study efficient transformers.",
            authors=["A. Author", "B. Author"],
            categories=["cs.LG"],
            sources=["hf-daily"],
            upvotes=5 + 5 * n,
            first_seen=day,
        )
    Paper.objects.create(
        arxiv_id="2606.00099",
        title=TARGET,
        abstract="Sparse autoencoders applied to protein language models.",
        authors=["C. Curator"],
        categories=["q-bio.BM", "cs.LG"],
        sources=["arxiv-dump"],
        first_seen=day,
    )
    now = timezone.now()
    for address in ("ada@example.org", "grace@example.org"):
        subscriber = Subscriber.objects.create(
            email=address,
            status="active",
            confirmed_at=now,
            consent_at=now,
            consent_ip="203.0.113.7",
            consent_source="web-form v1",
        )
        InterestProfile.objects.create(subscriber=subscriber, interests_text="protein models")
    return live_server


def shoot(page, name: str) -> None:  # helpers.shoot adds a phone width the admin does not claim
    """A full-page screenshot at 1280 px; nothing may stick out sideways at that width."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # Chromium paints a frame only once it has been on screen: bring each one into view first.
    # (A full-page screenshot does not depend on where the page is scrolled to, but the side
    # menu is sticky: pin it to the top for the picture.)
    for frame in page.locator("iframe").all():
        page.add_style_tag(content="#nav-sidebar { position: static !important; }")
        frame.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / f"admin-{name}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"], name
    # Nor inside a list: Django scrolls a too-wide result table within its own box.
    overflow = "[...document.querySelectorAll('.results')].some(e => e.scrollWidth > e.clientWidth)"
    assert not page.evaluate(overflow), name


def sign_in(page, url: str, password: str = PASSWORD) -> None:
    page.goto(url + "/admin/")
    page.get_by_label("Username").fill("editor")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def run_action(page, action_label: str, question: str) -> None:
    page.get_by_role("combobox", name="Action").select_option(label=action_label)
    page.get_by_role("button", name="Go").click()
    page.get_by_text(question).first.wait_for()


def preview_titles(page, url: str, subscriber: Subscriber) -> list[str]:
    page.goto(f"{url}/admin/accounts/subscriber/{subscriber.pk}/preview/")
    return page.locator("#score-breakdown tbody tr td:nth-child(2) a").all_inner_texts()


def test_it_curates_previews_suppresses_and_audits_through_the_admin(browser, console, settings):
    page = browser.new_context(viewport=DESKTOP).new_page()
    url = console.url
    sign_in(page, url)
    page.get_by_role("heading", name="Administration").wait_for()
    shoot(page, "01-index")

    page.get_by_role("link", name="Dashboard").first.click()
    page.get_by_role("heading", name="Subscribers by status").wait_for()
    charts = page.locator("svg.chart")
    assert charts.count() >= 1
    assert page.locator("#subscribers svg.chart rect.bar").count() > 0  # bars drawn
    box = page.locator("#subscribers svg.chart").bounding_box()
    assert box["width"] > 300
    assert box["height"] > 100
    assert page.get_by_text("No digest in this range").is_visible()
    shoot(page, "02-dashboard-empty")

    ada = Subscriber.objects.get(email="ada@example.org")
    assert TARGET not in preview_titles(page, url, ada)

    # Feature the paper: find it by an author, tick it, run the action, confirm.
    page.goto(url + "/admin/recommender/paper/")
    shoot(page, "03-papers")
    page.get_by_role("textbox", name="Search").fill("Curator")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("checkbox", name="Select this object for an action").first.check()
    run_action(page, "Feature these papers", "Featured papers get a ranking boost")
    shoot(page, "04-confirm-feature")
    page.get_by_role("button", name="Yes, feature these papers").click()
    page.get_by_text("1 paper(s) marked featured.").wait_for()
    assert Paper.objects.get(arxiv_id="2606.00099").curation == Paper.Curation.FEATURED

    titles = preview_titles(page, url, ada)
    assert titles[0] == TARGET
    expect(page.locator("#score-breakdown tbody tr").first).to_contain_text("featured")
    frame = page.frame_locator("iframe.console-email-frame")
    # The real email, with the featured paper's block in it (its title links to the paper).
    frame.get_by_role("heading", name=TARGET).wait_for()
    shoot(page, "05-preview-featured")
    page.get_by_role("button", name="Send this preview to me").click()
    page.get_by_text("Preview sent to editor@example.org.").wait_for()
    (copy,) = outbox_messages(settings)
    assert copy["To"] == "editor@example.org"
    assert TARGET in copy.get_body(("html",)).get_content()

    # Hide it: it leaves the preview.
    page.goto(url + "/admin/recommender/paper/?q=2606.00099")
    page.get_by_role("checkbox", name="Select this object for an action").first.check()
    run_action(page, "Hide these papers", "Hidden papers are never put in a digest")
    page.get_by_role("button", name="Yes, hide these papers").click()
    page.get_by_text("1 paper(s) marked hidden.").wait_for()
    assert TARGET not in preview_titles(page, url, ada)

    # Suppress Ada: the digest run that mails Grace sends Ada nothing.
    page.goto(url + "/admin/accounts/subscriber/")
    shoot(page, "06-subscribers")
    page.get_by_role("row", name="ada@example.org").get_by_role("checkbox").check()
    run_action(page, "Suppress (stop all email)", "No email of any kind will go")
    page.get_by_role("button", name="Yes, suppress these subscribers").click()
    page.get_by_text("1 subscriber(s) suppressed").wait_for()
    subscribers = list(Subscriber.objects.select_related("profile").order_by("email"))
    counts = sending.build_and_send(subscribers, moment=timezone.now())
    recipients = [message["To"] for message in outbox_messages(settings)]
    assert "grace@example.org" in recipients
    assert "ada@example.org" not in recipients
    assert counts["sent"] == 1
    assert not Digest.objects.filter(subscriber__email="ada@example.org", status="sent").exists()
    assert not DeliveryEvent.objects.filter(email="ada@example.org", kind="sent").exists()

    page.goto(f"{url}/admin/accounts/subscriber/{ada.pk}/change/")
    page.get_by_text("203.0.113.7").wait_for()  # the consent record
    shoot(page, "07-subscriber")

    # The audit log: each step, by whom, with before and after.
    page.get_by_role("link", name="Audit log").first.click()
    page.get_by_role("heading", name="Select log entry to view").wait_for()
    log = page.locator("#result_list").inner_text()
    assert "editor" in log
    assert "2606.00099" in log
    assert "ada@example.org" in log
    shoot(page, "08-audit-log")
    hide_entry = page.locator("#result_list tbody tr").filter(has_text="2606.00099").first
    hide_entry.locator("th a, td a").first.click()  # the newest change of the paper: hiding
    page.get_by_role("heading", name="View log entry").wait_for()
    changes = page.locator("#content-main")
    expect(changes).to_contain_text("featured")  # before
    expect(changes).to_contain_text("hidden")  # after
    expect(changes).to_contain_text("editor")
    shoot(page, "09-audit-entry")

    page.goto(url + "/admin/dashboard/?days=7")
    page.locator("#digests svg.chart rect.bar").first.wait_for()
    shoot(page, "10-dashboard")


def test_it_locks_the_sign_in_after_repeated_wrong_passwords(browser, console, settings):
    page = browser.new_context(viewport=DESKTOP).new_page()
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(page, console.url, password=f"wrong-{n}")
        page.get_by_text("Please enter the correct username and password").wait_for()
    sign_in(page, console.url, password="wrong-last")
    page.get_by_role("heading", name="Sign-in locked").wait_for()
    shoot(page, "11-locked-out")
    # Even the right password is refused now.
    sign_in(page, console.url)
    page.get_by_role("heading", name="Sign-in locked").wait_for()


def test_it_shows_a_busy_month_and_a_personalised_preview(browser, console, settings):
    """A month of activity (sign-ups, digests, provider events, feedback, ingestion runs, a
    refitted model): every chart is drawn, the complaint warning shows, and the preview of a
    subscriber with interests splits relevance into its two parts."""
    from datetime import timedelta

    from django.core.management import call_command

    from recommender.model import store
    from recommender.models import DigestItem, FeedbackEvent
    from tests.helpers import FIXTURES, SAMPLE_PAPERS

    call_command("ingest", str(SAMPLE_PAPERS))
    store.refit_from_corpus()
    call_command("evaluate", "--dataset", str(FIXTURES / "eval-dataset.json"))
    today = timezone.localdate()
    papers = list(Paper.objects.order_by("-first_seen")[:40])
    for n in range(40):
        day = today - timedelta(days=29 - (n * 29) // 39)
        moment = timezone.make_aware(timezone.datetime(day.year, day.month, day.day, 9))
        status = "active" if n % 9 else ("unsubscribed" if n % 2 else "pending")
        subscriber = Subscriber.objects.create(
            email=f"reader{n}@example.org",
            status=status,
            created_at=moment,
            confirmed_at=moment + timedelta(hours=1) if status != "pending" else None,
            unsubscribed_at=moment + timedelta(days=3) if status == "unsubscribed" else None,
        )
        InterestProfile.objects.create(subscriber=subscriber, interests_text="language models")
        for offset in range(0, (today - day).days, 2):
            period = day + timedelta(days=offset)
            sent_at = timezone.make_aware(
                timezone.datetime(period.year, period.month, period.day, 7)
            )
            failed = (n + offset) % 17 == 0
            digest = Digest.objects.create(
                subscriber=subscriber,
                period_start=period,
                ranker="test",
                status="failed" if failed else "sent",
                sent_at=None if failed else sent_at,
            )
            if failed:
                continue
            item = DigestItem.objects.create(
                digest=digest, paper=papers[(n + offset) % 40], rank=1, score=0.5
            )
            DeliveryEvent.objects.create(
                kind="sent", email=subscriber.email, digest=digest, occurred_at=sent_at
            )
            if (n + offset) % 3 == 0:
                FeedbackEvent.objects.create(
                    subscriber=subscriber,
                    paper=item.paper,
                    kind="click",
                    digest_item=item,
                    created_at=sent_at + timedelta(hours=2),
                )
            if (n + offset) % 5 == 0:
                FeedbackEvent.objects.create(
                    subscriber=subscriber,
                    paper=item.paper,
                    kind="up",
                    digest_item=item,
                    created_at=sent_at + timedelta(hours=3),
                )
    # What provider webhooks would have recorded: one complaint (above 0.3 % of the ~290
    # sends: the strongest warning) and a few bounces.
    yesterday = timezone.now() - timedelta(days=1)
    DeliveryEvent.objects.create(
        kind="complained", email="reader3@example.org", occurred_at=yesterday
    )
    for n in (4, 5):
        DeliveryEvent.objects.create(
            kind="bounced", email=f"reader{n}@example.org", occurred_at=yesterday
        )

    page = browser.new_context(viewport=DESKTOP).new_page()
    sign_in(page, console.url)
    page.get_by_role("heading", name="Administration").wait_for()
    page.goto(console.url + "/admin/dashboard/?days=30")
    for section in ("subscribers", "digests", "delivery", "engagement", "ingestion"):
        assert page.locator(f"#{section} svg.chart").first.is_visible(), section
    assert page.locator("#digests svg.chart rect.bar").count() >= 15
    assert page.locator("#engagement svg.chart circle.point").count() == 2 * 30
    warning = page.get_by_role("alert").filter(has_text="Spam complaints")
    assert "at or above the 0.3 % limit" in warning.inner_text()
    assert page.get_by_text("No provider feedback recorded yet").count() == 0
    assert store.current_version() in page.locator("#model").inner_text()
    assert "nDCG@10" in page.locator("#model").inner_text()
    shoot(page, "12-dashboard-busy")

    reader = Subscriber.objects.get(email="reader1@example.org")
    InterestProfile.objects.filter(subscriber=reader).update(
        interests_text="robot locomotion with reinforcement learning"
    )
    clear_local_cache()
    page.goto(f"{console.url}/admin/accounts/subscriber/{reader.pk}/preview/")
    first = page.locator("#score-breakdown tbody tr").first.inner_text()
    assert "+" in first  # relevance shown as its LSA part + its word-context part
    assert "trending fallback" not in first
    shoot(page, "13-preview-personalised")
