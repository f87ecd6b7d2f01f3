# ruff: noqa: RUF001 (pages and papers use typographic quotes and Greek letters)
"""The pages around a digest: its web version, the Atom feed and the BibTeX export behind their
links (tampered, expired, revoked), the confirm message, check-your-inbox with a typo fix, the
favicon and the error pages."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from datetime import date
from unittest import mock

import bibtexparser
import pytest
from django.core import mail
from django.test import Client

from accounts import services, tokens
from accounts.models import Subscriber
from accounts.typos import suggest_email
from recommender.delivery import digest_email
from recommender.models import Digest, FeedbackEvent
from tests.helpers import (
    confirm_via_email,
    links_in,
    only_message_to,
    path_of,
    sent_digest,
    subscribe,
)

pytestmark = pytest.mark.usefixtures("fresh_cache")
ATOM = "{http://www.w3.org/2005/Atom}"


def prefs_path(subscriber) -> str:
    return tokens.preferences_path(subscriber)


# --- The web version ------------------------------------------------------------------------


def test_the_emailed_view_in_browser_link_shows_the_same_digest(
    client, make_subscriber, make_paper
):
    reader = make_subscriber()
    sent_digest(reader, make_paper, titles=[r"TerraDiT-$\Omega$ maps", "Second paper"])
    message = only_message_to("reader@example.com")
    (link,) = links_in(message, "/digest/")

    response = client.get(path_of(link))
    assert response.status_code == 200
    page = response.content.decode()
    assert "TerraDiT-Ω maps" in page
    assert "Second paper" in page
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert response["Referrer-Policy"] == "no-referrer"
    # The reader's own links, as in the email; no "view in browser" on the page itself.
    assert "/feedback/" in page
    assert "/unsubscribe/" in page
    assert "View this digest in your browser" not in page


def test_the_web_version_refuses_a_tampered_link(client, make_subscriber, make_paper):
    digest = sent_digest(make_subscriber(), make_paper)
    path = path_of(digest_email.web_version_url(digest))
    response = client.get(path[:-4] + "abc/")
    assert response.status_code == 400
    assert "Email me a new link" in response.content.decode()


def test_the_web_version_refuses_an_expired_link(client, make_subscriber, make_paper, settings):
    digest = sent_digest(make_subscriber(), make_paper)
    too_old = time.time() - (settings.DIGEST_LINK_MAX_AGE_DAYS + 1) * 86400
    with mock.patch("django.core.signing.time.time", return_value=too_old):
        old = digest_email.web_version_url(digest)
    response = client.get(path_of(old))
    assert response.status_code == 400
    assert "This link has expired" in response.content.decode()


def test_the_web_version_link_is_revoked_by_an_address_change_or_deletion(
    client, make_subscriber, make_paper
):
    reader = make_subscriber()
    digest = sent_digest(reader, make_paper)
    path = path_of(digest_email.web_version_url(digest))
    assert client.get(path).status_code == 200

    Subscriber.objects.filter(pk=reader.pk).update(email="moved@example.com")
    assert client.get(path).status_code == 400

    digest = Digest.objects.get(pk=digest.pk)  # with the subscriber's new address
    fresh = path_of(digest_email.web_version_url(digest))
    assert client.get(fresh).status_code == 200
    services.subscriber_delete_all_data(subscriber=reader)
    assert client.get(fresh).status_code == 400


def test_a_digest_link_never_opens_another_readers_digest(client, make_subscriber, make_paper):
    alice = make_subscriber("alice@example.com")
    bob_digest = sent_digest(make_subscriber("bob@example.com"), make_paper)
    token = tokens.make_token(alice, "digest", d=bob_digest.pk)
    assert client.get(f"/digest/{token}/").status_code == 400


def test_the_preferences_page_lists_past_digests_with_their_web_versions(
    client, make_subscriber, make_paper
):
    reader = make_subscriber()
    sent_digest(reader, make_paper, titles=["A paper about graphs"])
    page = client.get(prefs_path(reader)).content.decode()
    assert "Past digests" in page
    assert "Wednesday 1 July 2026" in page
    start = page.index("Open this digest as it was emailed")
    link = page[
        page.rindex('href="', 0, start) + 6 : page.index('"', page.rindex('href="', 0, start) + 6)
    ]
    assert "A paper about graphs" in client.get(path_of(link)).content.decode()


# --- The Atom feed --------------------------------------------------------------------------


def _make_feed(client, reader) -> str:
    response = client.post(prefs_path(reader) + "feed", {"action": "new"})
    assert response.status_code == 302
    page = client.get(response["Location"].split("#")[0]).content.decode()
    reader.refresh_from_db()
    assert reader.feed_key
    url = f"/feed/{reader.feed_key}.atom"
    assert url in page
    return url


def test_the_feed_lists_the_readers_digests(client, make_subscriber, make_paper):
    reader = make_subscriber(interests_text="graphs")
    sent_digest(reader, make_paper, titles=["Graph networks", r"Graph $\alpha$-flows"])
    url = _make_feed(client, reader)

    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)
    (entry,) = feed.findall(f"{ATOM}entry")
    assert entry.find(f"{ATOM}title").text.startswith("Wed 1 Jul: 2 papers")
    link = entry.find(f"{ATOM}link").get("href")
    assert "/digest/" in link
    assert "Graph α-flows" in client.get(path_of(link)).content.decode()
    assert "Graph α-flows" in entry.find(f"{ATOM}summary").text


def test_the_feed_refuses_an_altered_key_and_a_replaced_or_stopped_one(
    client, make_subscriber, make_paper
):
    reader = make_subscriber()
    sent_digest(reader, make_paper)
    assert client.get("/feed/.atom").status_code == 404  # no feed yet
    old = _make_feed(client, reader)
    assert client.get(old).status_code == 200
    assert client.get(old.replace(".atom", "x.atom")).status_code == 404

    new = _make_feed(client, reader)  # "Make a new address": the old one is revoked
    assert new != old
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200

    client.post(prefs_path(reader) + "feed", {"action": "off"})
    assert client.get(new).status_code == 404
    assert Subscriber.objects.get(pk=reader.pk).feed_key is None


def test_feed_settings_need_a_valid_preferences_link(client, make_subscriber):
    reader = make_subscriber()
    token = tokens.make_token(reader, "unsubscribe")
    assert client.post(f"/preferences/{token}/feed", {"action": "new"}).status_code == 400
    assert Subscriber.objects.get(pk=reader.pk).feed_key is None


# --- BibTeX ---------------------------------------------------------------------------------


def test_liked_papers_export_as_bibtex_that_parses_back(client, make_subscriber, make_paper):
    reader = make_subscriber()
    liked = make_paper(
        arxiv_id="2606.01234",
        title=r"TerraDiT-$\Omega$: Maps \& Terrain",
        authors=["Ada Lovelace", "Alan Turing"],
        categories=["cs.CV"],
        first_seen=date(2026, 6, 30),
    )
    no_id = make_paper(
        arxiv_id=None,
        title="An unbalanced {brace paper & more",
        authors=["Grace Hopper"],
        abs_url="https://example.org/paper",
        first_seen=date(2025, 3, 18),
    )
    disliked = make_paper(title="Not for me")
    for paper, kind in [(liked, "up"), (no_id, "up"), (disliked, "down")]:
        FeedbackEvent.objects.create(subscriber=reader, paper=paper, kind=kind)

    response = client.get(prefs_path(reader) + "liked.bib")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/x-bibtex")
    assert 'filename="liked-papers.bib"' in response["Content-Disposition"]
    library = bibtexparser.parse_string(response.content.decode())
    assert not library.failed_blocks
    entries = {entry.key: entry for entry in library.entries}
    assert set(entries) == {"lovelace2026terradit", "hopper2025unbalanced"}

    terra = entries["lovelace2026terradit"]
    assert terra["title"] == r"TerraDiT-$\Omega$: Maps \& Terrain"
    assert terra["author"] == "Lovelace, Ada and Turing, Alan"
    assert terra["year"] == "2026"
    assert terra["eprint"] == "2606.01234"
    assert terra["archivePrefix"] == "arXiv"
    assert terra["primaryClass"] == "cs.CV"
    assert terra["doi"] == "10.48550/arXiv.2606.01234"

    hopper = entries["hopper2025unbalanced"]
    assert hopper["title"] == r"An unbalanced brace paper \& more"
    assert hopper["url"] == "https://example.org/paper"
    assert "doi" not in hopper.fields_dict


def test_the_bibtex_link_needs_a_valid_preferences_link(client, make_subscriber):
    reader = make_subscriber()
    path = prefs_path(reader) + "liked.bib"
    assert client.get(path.replace("/liked.bib", "xx/liked.bib")).status_code == 400


# --- Confirming: the truth about the first digest -------------------------------------------


# transactional_db: the first digest is enqueued on commit, which only happens (at once, as in
# production) outside the test's wrapping transaction.
def test_confirming_says_the_first_digest_just_went_out(client, transactional_db, make_paper):
    make_paper(title="Speculative decoding for language models", first_seen=date.today())
    subscribe(client, interests_text="speculative decoding for language models")
    response = confirm_via_email(client)
    page = client.get(response["Location"]).content.decode()
    assert "Your first digest just went to ada@example.org (1 paper)" in page
    assert "the next ones arrive every day at 07:00 (Europe/Berlin)" in page
    assert "arrives at the time you picked" not in page
    _confirmation, digest = [m for m in mail.outbox if m.to == ["ada@example.org"]]
    assert "Speculative decoding" in digest.body


def test_confirming_says_when_nothing_matched_yet(client, transactional_db):
    subscribe(client, interests_text="medieval poetry")
    page = client.get(confirm_via_email(client)["Location"]).content.decode()
    assert "No new paper matched your interests closely enough today" in page


def test_confirming_says_the_digest_is_on_its_way_when_a_worker_has_it(client, db):
    subscribe(client)
    with mock.patch("accounts.services.enqueue"):  # a worker elsewhere will build it
        page = client.get(confirm_via_email(client)["Location"]).content.decode()
    assert "Your first digest is on its way to ada@example.org" in page


# --- Check your inbox, with a fix for a mistyped domain -------------------------------------


@pytest.mark.parametrize(
    ("typed", "suggested"),
    [
        ("researcher@gmial.con", "researcher@gmail.com"),
        ("a@gamil.com", "a@gmail.com"),
        ("a@hotmial.com", "a@hotmail.com"),
        ("a@outlok.com", "a@outlook.com"),
        ("a@cs.stanford.eud", "a@cs.stanford.edu"),
        ("a@example.con", "a@example.com"),
        ("a@gmail.com", None),
        ("a@mail.com", None),
        ("a@mit.edu", None),
        ("a@uni-heidelberg.de", None),
        ("a@gmx.de", None),
        ("a@ox.ac.uk", None),
    ],
)
def test_it_suggests_a_fix_only_for_likely_domain_typos(typed, suggested):
    assert suggest_email(typed) == suggested


def test_check_inbox_shows_the_masked_address_and_fixes_a_typo_in_one_click(client, db):
    response = subscribe(client, email="researcher@gmial.con", keywords="graph networks")
    page = client.get(response["Location"]).content.decode()
    assert "We have sent an email to <strong" in page
    assert "r…@gmial.con" in page
    assert "researcher@" not in page  # masked
    assert "Did you mean r…@gmail.com?" in page

    response = client.post("/subscribe/correct")
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "r…@gmail.com" in page
    assert "Did you mean" not in page
    fixed = Subscriber.objects.get(email="researcher@gmail.com")
    assert fixed.status == Subscriber.Status.PENDING
    assert fixed.profile.keywords == ["graph networks"]
    assert fixed.profile.timezone == "Europe/Berlin"
    assert links_in(only_message_to("researcher@gmail.com"), "/confirm/")


def test_check_inbox_offers_no_fix_for_a_good_address_or_a_forged_cookie(client, db):
    page = client.get(subscribe(client)["Location"]).content.decode()
    assert "a…@example.org" in page
    assert "Did you mean" not in page

    forged = Client()
    forged.cookies["sent_to"] = "eyJlIjoiYUBnbWlhbC5jb24ifQ:forged:signature"
    page = forged.get("/subscribe/check-your-inbox").content.decode()
    assert "the address you entered" in page
    assert forged.post("/subscribe/correct").status_code == 302
    assert Subscriber.objects.count() == 1


def test_check_inbox_fixes_a_typo_when_asking_for_a_link(client, make_subscriber):
    make_subscriber("known@gmail.com")
    response = client.post("/manage", {"email": "known@gmial.com"})
    page = client.get(response["Location"]).content.decode()
    assert "k…@gmial.com" in page
    assert "Did you mean k…@gmail.com?" in page
    client.post("/subscribe/correct")
    assert links_in(only_message_to("known@gmail.com"), "/preferences/")


# --- Favicon and error pages ----------------------------------------------------------------


def test_it_serves_a_favicon(client, db):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    assert response.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert "max-age" in response["Cache-Control"]
    assert 'rel="icon"' in client.get("/").content.decode()


def test_unknown_pages_get_a_404_in_the_sites_style(client, db):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    page = response.content.decode()
    assert "We can’t find that page" in page
    assert 'href="/"' in page
    assert "site.css" in page


def test_server_errors_get_a_page_that_needs_nothing(rf):
    from django.views.defaults import server_error

    response = server_error(rf.get("/"))
    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong on our side" in page
    assert 'href="/"' in page
