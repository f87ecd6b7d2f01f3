"""The database side of profiles: a stored InterestProfile's spec (its seed papers as resolved
when the profile was saved, its feedback), and built profiles cached between runs.

`recommender.model.profiles.build_profile` does the arithmetic; this module only gathers inputs.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence

from django.conf import settings
from django.core.cache import cache
from django.db.models import F, Max, Window, prefetch_related_objects
from django.db.models.functions import RowNumber
from threadpoolctl import threadpool_limits

from accounts.models import InterestProfile, Subscriber
from accounts.references import resolve_pasted, unmatched_references

from ..model import profiles
from ..model.features import FittedModel
from ..model.profiles import PaperDoc, Profile, ProfileSpec
from ..models import FeedbackEvent, Paper

log = logging.getLogger(__name__)


def paper_doc(paper: Paper) -> PaperDoc:
    return PaperDoc(key=str(paper.pk), title=paper.title, abstract=paper.abstract)


def seed_papers_of(profile) -> tuple[list[Paper], list[str]]:
    """A profile's seed papers and the pasted lines that matched none.

    A saved profile's papers were resolved when it was saved (and again for lines still missing
    after each refit, `accounts.services.profiles_link_seed_papers`); only an unsaved one (the
    form's preview) is resolved here.
    """
    references = [str(line) for line in profile.seed_references or []]
    papers = list(profile.seed_papers.all()) if profile.pk else resolve_pasted(references)
    return papers, unmatched_references(references, papers)


def spec_for_subscriber(profile, *, feedback_limit: int = 200) -> ProfileSpec:
    """The ProfileSpec of a saved (or unsaved, for previews) accounts.InterestProfile."""
    seeds = seed_papers_of(profile)
    events = _feedback_events([profile.subscriber_id], limit=feedback_limit)
    return _spec(profile, seeds, events.get(profile.subscriber_id, []))


def specs_for_subscribers(interests: Sequence, *, feedback_limit: int = 200) -> list[ProfileSpec]:
    """The ProfileSpecs of saved InterestProfiles, their seed papers and feedback read in two
    queries for all of them (not two per subscriber)."""
    events = _load_inputs(interests, feedback_limit=feedback_limit)
    return [_spec_of(interest, events) for interest in interests]


def _load_inputs(interests: Sequence, *, feedback_limit: int = 200) -> dict[int, list]:
    """Read every spec input of `interests` at once: their seed papers (prefetched onto them)
    and their feedback events (returned, by subscriber id)."""
    prefetch_related_objects([i for i in interests if i.pk], "seed_papers")
    subscriber_ids = [i.subscriber_id for i in interests if i.subscriber_id]
    return _feedback_events(subscriber_ids, limit=feedback_limit)


def _spec_of(interest, events: dict[int, list]) -> ProfileSpec:
    return _spec(interest, seed_papers_of(interest), events.get(interest.subscriber_id, []))


def _spec(profile, seeds: tuple[list[Paper], list[str]], events: list) -> ProfileSpec:
    messages: list[str] = []
    papers, missing = seeds
    if missing:
        shown = ", ".join(f"“{ref[:60]}”" for ref in missing[:3])
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        messages.append(f"Seed papers not found in our library (ignored): {shown}{more}.")
    liked, clicked, disliked = _verdicts(events)
    return ProfileSpec(
        text=profile.interests_text or "",
        keywords=[str(k) for k in profile.keywords or []],
        categories=[str(c) for c in profile.categories or []],
        seeds=[paper_doc(p) for p in papers],
        liked=liked,
        clicked=clicked,
        disliked=disliked,
        messages=messages,
    )


def _feedback_events(subscriber_ids: Sequence[int | None], *, limit: int) -> dict[int, list]:
    """Each subscriber's latest `limit` feedback events, newest first, in one query."""
    ids = [pk for pk in subscriber_ids if pk]
    if not ids:
        return {}
    newest_first = [F("created_at").desc(), F("pk").desc()]
    events = (
        FeedbackEvent.objects.filter(subscriber_id__in=ids)
        .annotate(nth=Window(RowNumber(), partition_by=[F("subscriber_id")], order_by=newest_first))
        .filter(nth__lte=limit)
        .select_related("paper")
        .order_by("subscriber_id", *newest_first)
    )
    grouped: dict[int, list] = {}
    for event in events:
        grouped.setdefault(event.subscriber_id, []).append(event)
    return grouped


def _verdicts(events: list) -> tuple[list[PaperDoc], list[PaperDoc], list[PaperDoc]]:
    """The subscriber's latest reaction per paper: up, click (only) or down."""
    verdict: dict[int, tuple[str, Paper]] = {}
    for event in events:  # newest first: the first up/down seen for a paper wins
        kind, paper = event.kind, event.paper
        previous = verdict.get(paper.pk)
        if previous is None or (previous[0] == FeedbackEvent.Kind.CLICK and kind != previous[0]):
            verdict[paper.pk] = (kind, paper)
    liked = [paper_doc(p) for k, p in verdict.values() if k == FeedbackEvent.Kind.UP]
    clicked = [paper_doc(p) for k, p in verdict.values() if k == FeedbackEvent.Kind.CLICK]
    disliked = [paper_doc(p) for k, p in verdict.values() if k == FeedbackEvent.Kind.DOWN]
    return liked, clicked, disliked


def profiles_for(model: FittedModel, interests: Sequence) -> list[Profile | None]:
    """Built profiles of saved InterestProfiles (None for one that cannot be built), cached.

    A built profile is reused while nothing it depends on changed: the key holds the model
    version, the profile weights and build number, the profile's updated_at and the
    subscriber's latest feedback event. So a daily run
    only rebuilds the profiles that changed, and a nightly refit rebuilds them all (which also
    picks up seed papers ingested since).
    """
    subscriber_ids = [i.subscriber_id for i in interests if i.subscriber_id]
    latest = dict(
        FeedbackEvent.objects.filter(subscriber_id__in=subscriber_ids)
        .values("subscriber_id")
        .annotate(last=Max("pk"))
        .values_list("subscriber_id", "last")
    )
    built_by = _built_by()
    keys = [_cache_key(model, interest, latest, built_by) for interest in interests]
    hits = cache.get_many([key for key in keys if key]) if any(keys) else {}
    built: list[Profile | None] = []
    fresh = {}
    misses = [i for i, key in zip(interests, keys, strict=True) if not key or key not in hits]
    events = _load_inputs(misses) if misses else {}
    # A profile's products against the corpus are (1 x rows): one BLAS thread does them as fast
    # as two, and leaves the other core to the other pool process (as scoring does).
    with threadpool_limits(limits=1, user_api="blas"):
        for interest, key in zip(interests, keys, strict=True):
            profile = hits.get(key) if key else None
            if profile is None:
                try:
                    profile = profiles.build_profile(model, _spec_of(interest, events))
                except Exception:  # one broken profile must not sink the whole chunk
                    log.exception(
                        "cannot build the profile of subscriber %s", interest.subscriber_id
                    )
                else:
                    if key:
                        fresh[key] = profile
            built.append(profile)
    if fresh:
        cache.set_many(fresh, timeout=settings.PROFILE_CACHE_SECONDS)
    return built


# Bumped whenever build_profile turns the same inputs into a different profile (its vectors,
# or the text a digest's note quotes), so a deploy does not keep serving profiles built by the
# old code until the next refit.
PROFILE_BUILD = 7


def _built_by() -> str:
    """What the profiles are built with: a changed PROFILE_* weight or build number takes
    effect at once, not when the cached profiles expire."""
    return hashlib.blake2b(
        f"{PROFILE_BUILD}{sorted(settings.PROFILE_WEIGHTS.items())}".encode(), digest_size=5
    ).hexdigest()


def _cache_key(model: FittedModel, interest, latest: dict[int, int], built_by: str) -> str | None:
    if not interest.pk or not model.version or settings.PROFILE_CACHE_SECONDS <= 0:
        return None
    stamp = interest.updated_at.timestamp() if interest.updated_at else 0
    feedback = latest.get(interest.subscriber_id, 0)
    return f"profile:{model.version}:{built_by}:{interest.pk}:{stamp}:{feedback}"


def warm_profiles(model: FittedModel, *, chunk_size: int) -> int:
    """Build and cache the profiles of every active, unpaused subscriber, `chunk_size` at a
    time, through profiles_for (so with the keys the send path looks up); after a refit nothing
    cached is valid any more. Returns how many profiles were looked at."""
    interests = (
        InterestProfile.objects.filter(
            subscriber__status=Subscriber.Status.ACTIVE, subscriber__paused_at__isnull=True
        )
        .prefetch_related("seed_papers")
        .order_by("pk")
    )
    done = 0
    last_pk = 0
    while chunk := list(interests.filter(pk__gt=last_pk)[:chunk_size]):
        profiles_for(model, chunk)
        done += len(chunk)
        last_pk = chunk[-1].pk
    log.info("warmed %d profiles for model %s", done, model.version)
    return done
