"""The admin curation panel: curate papers, preview a subscriber's digest, watch delivery health."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import timezone

from recommender.models import DeliveryEvent, Digest, Paper

TODAY = timezone.localdate()


@pytest.fixture
def robotics(make_paper):
    return [
        make_paper(
            title=title, abstract=abstract, categories=["cs.RO"], first_seen=date(2026, 6, 30)
        )
        for title, abstract in [
            ("Dexterous grasping with tactile hands", "Robot hands learn grasping from touch."),
            ("Quadruped locomotion over rough ground", "Legged robot locomotion policies."),
        ]
    ]


def test_it_previews_a_subscribers_next_digest_without_storing_it(
    admin_client, make_subscriber, robotics
):
    reader = make_subscriber(interests_text="robot grasping and locomotion")

    page = admin_client.get(f"/admin/accounts/subscriber/{reader.pk}/preview/")

    assert page.status_code == 200
    html = page.content.decode()
    assert "Next digest of reader@example.com" in html
    assert "Dexterous grasping with tactile hands" in html
    assert "Quadruped locomotion over rough ground" in html
    assert not Digest.objects.exists()


def test_it_leaves_hidden_papers_out_of_the_preview(admin_client, make_subscriber, robotics):
    reader = make_subscriber(interests_text="robot grasping and locomotion")
    robotics[0].curation = Paper.Curation.HIDDEN
    robotics[0].save()

    html = admin_client.get(f"/admin/accounts/subscriber/{reader.pk}/preview/").content.decode()

    assert "Dexterous grasping with tactile hands" not in html
    assert "Quadruped locomotion over rough ground" in html


def test_it_links_the_preview_from_the_subscriber_list(admin_client, make_subscriber):
    reader = make_subscriber()

    html = admin_client.get("/admin/accounts/subscriber/").content.decode()

    assert f"/admin/accounts/subscriber/{reader.pk}/preview/" in html


def test_it_refuses_the_preview_to_visitors_who_are_not_staff(client, make_subscriber):
    reader = make_subscriber()

    response = client.get(f"/admin/accounts/subscriber/{reader.pk}/preview/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_it_hides_and_features_papers_with_admin_actions(admin_client, robotics):
    hide, feature = robotics

    # Each action asks first: nothing changes until the confirmation page's "Yes" is posted.
    asked = admin_client.post(
        "/admin/recommender/paper/", {"action": "mark_hidden", "_selected_action": [hide.pk]}
    )
    hide.refresh_from_db()
    assert "Hide these papers" in asked.content.decode()
    assert hide.curation == Paper.Curation.NORMAL
    for action, paper in (("mark_hidden", hide), ("mark_featured", feature)):
        admin_client.post(
            "/admin/recommender/paper/",
            {"action": action, "_selected_action": [paper.pk], "confirmed": "yes"},
        )

    hide.refresh_from_db()
    feature.refresh_from_db()
    assert hide.curation == Paper.Curation.HIDDEN
    assert feature.curation == Paper.Curation.FEATURED
    assert feature.curated_by.username == "admin"
    assert feature.curated_at is not None


def test_it_shows_delivery_health_above_the_digest_list(admin_client, make_subscriber):
    ann = make_subscriber("ann@example.com")
    bob = make_subscriber("bob@example.com")
    Digest.objects.create(subscriber=ann, period_start=TODAY, status=Digest.Status.SENT)
    Digest.objects.create(
        subscriber=bob,
        period_start=TODAY,
        status=Digest.Status.FAILED,
        last_error="SMTP 451 try again later",
    )
    DeliveryEvent.objects.create(kind=DeliveryEvent.Kind.BOUNCED, email="bob@example.com")

    html = admin_client.get("/admin/recommender/digest/").content.decode()

    assert "Delivery health since" in html
    assert "<strong>1</strong> digests sent" in html
    assert "<strong>50.0%</strong> of sends failed" in html
    assert "<strong>1</strong> failures, bounces, rejections and complaints" in html
    assert "SMTP 451 try again later" in html


def test_it_shows_a_pending_address_change_read_only(admin_client, make_subscriber):
    reader = make_subscriber()
    reader.pending_email = "reader@new.example.org"
    reader.save()

    html = admin_client.get(f"/admin/accounts/subscriber/{reader.pk}/change/").content.decode()

    assert '<div class="readonly">reader@new.example.org</div>' in html
    assert 'name="pending_email"' not in html
