"""The subscribe form's paste box in a real browser: typed lines are checked live, each shown
with the paper it names or why none, before the person sends the form."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from accounts.models import Subscriber
from tests.browser.helpers import DESKTOP, PHONE, SCREENSHOTS, shoot

pytestmark = pytest.mark.browser


def test_it_shows_each_typed_line_checked_before_sending(browser, site):
    page = browser.new_page(viewport=DESKTOP)
    page.goto(site.url + "/")
    page.get_by_label("Email address").fill("ada@example.org")
    page.get_by_label("What do you read?").fill("speculative decoding for language models")
    box = page.get_by_label("Papers you liked")
    box.press_sequentially(
        "2606.00001\nGraph neural networks for molecule property prediction\n"
        "2501.99999\nA Paper Nobody Wrote\n2513.12345"
    )
    status = page.locator("#paste-check-status")
    expect(status).to_have_text("5 lines: 2 found, 2 not in our library yet, 1 not valid.")
    lines = page.locator(".paste-lines li")
    expect(lines.nth(0)).to_contain_text("Found Speculative decoding for large language models")
    expect(lines.nth(1)).to_contain_text("Found Graph neural networks for molecule property")
    expect(lines.nth(2)).to_contain_text(
        "Line 3 2501.99999 Not found arXiv id 2501.99999 is not in our library yet"
    )
    expect(lines.nth(3)).to_contain_text("Not found No paper with this title")
    expect(lines.nth(4)).to_contain_text("Line 5 2513.12345 Not valid")
    assert not Subscriber.objects.exists()
    shoot(page, "10-paste-check")
    field = page.locator(".field", has=box)
    for name, size in [("desktop", DESKTOP), ("phone", PHONE)]:
        page.set_viewport_size(size)
        field.screenshot(path=str(SCREENSHOTS / f"10-paste-check-field-{name}.png"))
    page.set_viewport_size(DESKTOP)

    box.fill(box.input_value().rsplit("\n", 1)[0])
    expect(status).to_have_text("4 lines: 2 found, 2 not in our library yet.")
    # Seen checked, so the form goes straight through: no second review step.
    page.get_by_role("button", name="Send me the confirmation email").click()
    page.get_by_role("heading", name="Check your inbox").wait_for()
    profile = Subscriber.objects.get().profile
    assert profile.seed_references[2:] == ["2501.99999", "A Paper Nobody Wrote"]
    assert sorted(p.arxiv_id for p in profile.seed_papers.all()) == ["2606.00001", "2606.00003"]
    page.close()
