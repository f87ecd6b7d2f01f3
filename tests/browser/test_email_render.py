"""The demo digest as people see it, in Chromium: rendered at a phone's and a desktop's width and
in dark mode (PNGs in var/screenshots/email-*.png), its size under Gmail's clipping limit, its
buttons real tap targets; its web version and the pages around it at both widths."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command

from accounts import tokens
from accounts.models import Subscriber
from recommender.models import Digest, FeedbackEvent
from tests.browser.helpers import DESKTOP, PHONE, SCREENSHOTS, outbox_messages, shoot

pytestmark = pytest.mark.browser

GMAIL_CLIP_BYTES = 102 * 1024
TAP_TARGET_PX = 44
# The top of the email, for the README: what a reader sees before scrolling, and a bit more.
TOP_CROP_PX = 1500


@pytest.fixture
def demo_digest(site, settings):
    """The demo command's digest (sample papers, a fitted model, the demo reader), as emailed."""
    call_command("demo", stdout=io.StringIO())
    (message,) = outbox_messages(settings)
    return message


def luminance(css_colour: str) -> float:
    red, green, blue = (int(v) / 255 for v in re.findall(r"\d+", css_colour)[:3])
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


@pytest.mark.parametrize(
    ("name", "viewport", "scheme"),
    [
        ("email-phone", PHONE, "light"),
        ("email-desktop", DESKTOP, "light"),
        ("email-phone-dark", PHONE, "dark"),
    ],
)
def test_the_demo_digest_renders_well_at_each_width_and_scheme(
    browser, demo_digest, name, viewport, scheme
):
    html = demo_digest.get_body(("html",)).get_content()
    assert len(html.encode()) < GMAIL_CLIP_BYTES

    context = browser.new_context(viewport=viewport, color_scheme=scheme)
    page = context.new_page()
    page.set_content(html)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    height = page.evaluate("document.documentElement.scrollHeight")
    page.screenshot(
        path=str(SCREENSHOTS / f"{name}-top.png"),
        clip={"x": 0, "y": 0, "width": viewport["width"], "height": min(height, TOP_CROP_PX)},
        full_page=True,
    )

    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    assert page.get_by_role("heading", level=1).inner_text() == "10 papers picked for you"
    assert page.locator(".overview li").count() == 3
    buttons = page.get_by_role("link", name=re.compile(r"^(More|Less) like this$"))
    assert buttons.count() == 20
    for index in range(buttons.count()):
        box = buttons.nth(index).bounding_box()
        assert box["height"] >= TAP_TARGET_PX, (index, box)
        assert box["width"] >= TAP_TARGET_PX, (index, box)
    # Each paper's two buttons sit side by side, also on a phone.
    first, second = buttons.nth(0).bounding_box(), buttons.nth(1).bounding_box()
    assert first["y"] == second["y"]

    card = page.locator("table.card").first
    background = card.evaluate("el => getComputedStyle(el).backgroundColor")
    text = card.evaluate("el => getComputedStyle(el).color")
    link = page.locator(".title a").first.evaluate("el => getComputedStyle(el).color")
    if scheme == "dark":
        assert luminance(background) < 0.15 < 0.7 < luminance(text)
        assert luminance(link) > 0.5
    else:
        assert luminance(background) > 0.95 > 0.3 > luminance(text)
    context.close()


def test_the_web_version_and_its_feedback_links_work_in_the_browser(browser, demo_digest, settings):
    text = demo_digest.get_body(("plain",)).get_content()
    web_url = re.search(r"View it in your browser: (\S+)", text).group(1)
    page = browser.new_page(viewport=PHONE)
    page.goto(web_url)
    first_title = re.search(r"^1\. (.+)$", text, re.M).group(1).strip()
    assert page.get_by_role("heading", level=2).first.inner_text() == first_title
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(SCREENSHOTS / "email-web-version-phone.png"), full_page=True)

    page.get_by_role("link", name="More like this").first.click()
    page.get_by_role("button", name="Yes, more like this").click()
    page.get_by_role("heading", name="Thanks, noted").wait_for()
    assert FeedbackEvent.objects.get().paper.readable_title == first_title
    page.close()


def test_the_preferences_page_offers_past_digests_a_feed_and_bibtex(browser, demo_digest):
    reader = Subscriber.objects.get(email="demo@example.com")
    digest = Digest.objects.get(subscriber=reader)
    FeedbackEvent.objects.create(
        subscriber=reader, paper=digest.items.get(rank=1).paper, kind=FeedbackEvent.Kind.UP
    )
    page = browser.new_page(viewport=DESKTOP)
    page.goto(tokens.absolute(tokens.preferences_path(reader)))

    page.get_by_role("button", name="Make my feed address").click()
    page.get_by_text("Your feed is ready").wait_for()
    feed_url = page.get_by_label("Feed address").input_value()
    assert feed_url.endswith(".atom")
    feed = page.context.request.get(feed_url)
    assert feed.status == 200
    assert "<entry>" in feed.text()

    with page.expect_download() as download:
        page.get_by_role("link", name="Download these as BibTeX").click()
    bib = download.value.path().read_text()
    assert bib.startswith("@misc{")
    assert "doi" in bib

    page.get_by_role("link", name="Open this digest as it was emailed").click()
    page.get_by_role("heading", name="10 papers picked for you").wait_for()
    page.go_back()
    shoot(page, "21-preferences-feed-bibtex")
    page.close()


def test_check_inbox_shows_the_address_and_fixes_a_typo(browser, site, settings):
    page = browser.new_page(viewport=DESKTOP)
    page.goto(site.url + "/")
    page.get_by_label("Email address").fill("researcher@gmial.con")
    page.get_by_label("What do you read?").fill("robot learning")
    page.get_by_role("button", name="Send me the confirmation email").click()
    page.get_by_role("heading", name="Check your inbox").wait_for()
    assert page.locator(".sent-to").inner_text() == "r…@gmial.con"
    shoot(page, "22-check-inbox-typo")

    page.get_by_role("button", name="Use r…@gmail.com instead").click()
    page.get_by_role("heading", name="Check your inbox").wait_for()
    assert page.locator(".sent-to").inner_text() == "r…@gmail.com"
    assert [m["To"] for m in outbox_messages(settings)] == [
        "researcher@gmial.con",
        "researcher@gmail.com",
    ]
    page.close()


def test_unknown_pages_and_the_favicon(browser, site):
    page = browser.new_page(viewport=DESKTOP)
    response = page.goto(site.url + "/no/such/page")
    assert response.status == 404
    page.get_by_role("heading", name="We can’t find that page").wait_for()  # noqa: RUF001
    shoot(page, "23-not-found")
    page.get_by_role("link", name="Go to the home page").click()
    page.get_by_label("Email address").wait_for()
    favicon = page.context.request.get(site.url + "/favicon.ico")
    assert favicon.status == 200
    assert favicon.headers["content-type"] == "image/x-icon"
    page.close()
