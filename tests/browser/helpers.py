"""What the browser tests share: Chromium's flags, the two widths and the screenshot helper."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def outbox_messages(site_settings) -> list[email.message.EmailMessage]:
    files = sorted(Path(site_settings.EMAIL_OUTBOX_DIR).glob("*.eml"))
    return [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default) for path in files
    ]


def shoot(page, name: str) -> None:
    """Full-page screenshots at desktop and phone width, then back to desktop."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-phone.png"), full_page=True)
    # Nothing may stick out sideways on a phone (the page would scroll horizontally).
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], name
    page.set_viewport_size(DESKTOP)
