"""The issue's new user, tried as they would: one interest, one week of real papers.

"diffusion models for protein structure generation" with the keywords "protein design,
AlphaFold" (the issue's example; any other with --text / --keywords) is built through
profiles.build_profile and ranked through scoring.rank_profile, the code a digest goes
through, on the papers first listed in one week of the shared stream, with the model fitted on
the stream before that week. It prints the digest's note, each pick with its reason, and how
many of the week's papers and of the picks contain each keyword's words.

    .venv/bin/python bench/new_user_example.py --model-cache /tmp/rel-cache/june-model.pkl

(the cache of bench/recommender_quality.py's June fit is the same fit: the stream before
2026-06-01.)
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "digest_site.settings")

import django

django.setup()

from bench import dump
from recommender.model import features, profiles
from recommender.models import Paper
from recommender.ranking import candidates, scoring


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=dump.DEFAULT_DATA)
    parser.add_argument("--text", default="diffusion models for protein structure generation")
    parser.add_argument("--keywords", default="protein design, AlphaFold")
    parser.add_argument("--start", default="2026-06-01", help="first day of the week")
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--model-cache", type=Path, help="pickle of the fit (read if present)")
    args = parser.parse_args()

    start = date.fromisoformat(args.start)
    records = dump.load(args.data)
    train = [r for r in records if r["first_seen"] < args.start]
    week = [
        r for r in records if 0 <= (date.fromisoformat(r["first_seen"]) - start).days < args.days
    ]
    print(f"fit on {len(train)} papers before {args.start}; {len(week)} papers in the week")
    model = dump.fit_cached(train, components=features.SVD_COMPONENTS, cache=args.model_cache)
    papers = dump.papers(week)
    batch = candidates.prepare_candidates(papers, model)
    keywords = [k.strip() for k in args.keywords.split(",") if k.strip()]
    profile = profiles.build_profile(model, profiles.ProfileSpec(text=args.text, keywords=keywords))
    digest = scoring.rank_profile(model, profile, batch, limit=10)
    relevance = scoring.relevance_of(profile, batch)
    reached = int((relevance >= scoring.calibration_of(profile).floor).sum())
    print(f"interest: text “{args.text}”, keywords “{args.keywords}”")
    print(f"papers reaching the profile's floor: {reached} of {len(papers)}")
    print(f"note: {digest.note or '(none)'}")
    for rank, pick in enumerate(digest.picks, 1):
        print(f"{rank:2d}. {pick.paper.title[:90]}\n    {pick.reason}")
    for keyword in keywords:
        words = keyword.lower().split()

        def has(paper: Paper, words=words) -> bool:
            text = f"{paper.title} {paper.abstract}".lower()
            return all(word in text for word in words)

        in_week = sum(has(p) for p in papers)
        in_picks = sum(has(p.paper) for p in digest.picks)
        print(
            f"“{keyword}”: all its words in {in_week} papers of the week, {in_picks} of the picks"
        )


if __name__ == "__main__":
    main()
