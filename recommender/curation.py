"""Curation: staff feature, pin or hide papers (ranking reads Paper.curation)."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from .models import Paper


def papers_set_curation(
    *, papers: Iterable[Paper], state: str, by: AbstractBaseUser | None, note: str | None = None
) -> int:
    """Set the curation of each paper (saved one by one so the audit log records each change,
    with its before and after); papers already in `state` are left alone. Returns how many
    changed."""
    if state not in Paper.Curation.values:
        raise ValueError(f"unknown curation {state!r}")
    changed = 0
    now = timezone.now()
    with transaction.atomic():
        for paper in papers:
            if paper.curation == state and note is None:
                continue
            paper.curation = state
            paper.curated_at = now
            paper.curated_by = by
            fields = ["curation", "curated_at", "curated_by"]
            if note is not None:
                paper.curation_note = note[:300]
                fields.append("curation_note")
            paper.save(update_fields=fields)
            changed += 1
    return changed
