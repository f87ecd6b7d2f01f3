# ruff: noqa: RUF001 (expected outputs are Unicode look-alikes of LaTeX)
"""Titles and abstracts read as prose, not LaTeX source, in emails, pages and the admin.

The table's inputs are real arXiv titles and abstract fragments (or their patterns)."""

from __future__ import annotations

import pytest

from recommender.templatetags.paper_text import plain_text
from recommender.text import readable

LATEX_TABLE = [
    ("Propagation of~Interval Belief", "Propagation of Interval Belief"),
    ("TerraDiT-$Ω$", "TerraDiT-Ω"),
    ("D$^{2}$R$^{2}$OSR", "D²R²OSR"),
    ("FG$^2$: Fine-Grained", "FG²: Fine-Grained"),
    ("FA^{3}-CLIP: Frequency", "FA³-CLIP: Frequency"),
    (r"LLM$\times$MapReduce-V2", "LLM×MapReduce-V2"),
    (r"360$^\circ$ Horizons", "360° Horizons"),
    (r"Memorization $\neq$ Understanding", "Memorization ≠ Understanding"),
    (r"$\textit{Agents Under Siege}$: Breaking", "Agents Under Siege: Breaking"),
    ("CaO$_2$: Rectifying", "CaO₂: Rectifying"),
    (r"$\mathcal{V}isi\mathcal{P}runer$: Decoding", "VisiPruner: Decoding"),
    ("Humanoid Policy ~ Human Policy", "Humanoid Policy ~ Human Policy"),
    (r"Radial Attention: $O(n\log n)$ Sparse", "Radial Attention: O(n log n) Sparse"),
    (r"User Experience \& Acceptability", "User Experience & Acceptability"),
    (r"Can LLMs $\textit{understand}$ Math? -- Exploring", "Can LLMs understand Math? – Exploring"),
    ("the spacecraft ``Integrity'' during", "the spacecraft “Integrity” during"),
    (r"Schr\"odinger, Erd\H{o}s, Poincar\'{e}, {\c{c}}a", "Schrödinger, Erdős, Poincaré, ça"),
    (r"Strongly Solving $7 \times 6$ Connect-Four", "Strongly Solving 7 × 6 Connect-Four"),
    (r"over $\mathbb{R}^n$", "over ℝⁿ"),
    (r"over $\mathbb{F}_{p^m}$", "over 𝔽_(pᵐ)"),
    (r"\textsc{SimInstruct}: A Tool", "SimInstruct: A Tool"),
    (r"$\text{R}^2\text{ec}$: Towards", "R²ec: Towards"),
    (r"$\alpha$-Perfect Hashing", "α-Perfect Hashing"),
    ("${D}^{3}${ETOR}: ${D}$ebate", "D³ETOR: Debate"),
    (r"A$^\text{T}$A: Adaptive", "AᵀA: Adaptive"),
    ("Mid-20$^{th}$ century", "Mid-20ᵗʰ century"),
    (r"H$^{\mathbf{3}}$DP: Triply", "H³DP: Triply"),
    (r"$\ell_1$ regularization", "ℓ₁ regularization"),
    (r"Towards $\infty$-LLMs", "Towards ∞-LLMs"),
    (r"$\frac{1}{2}$-approximation", "1/2-approximation"),
    (r"Di$\mathtt{[M]}$O: Distilling", "Di[M]O: Distilling"),
    (r"1\textpertenthousand{} error", "1‱ error"),
    ("FaSTA$^*$: Fast", "FaSTA*: Fast"),
    ("$(RSA)^2$: A Framework", "(RSA)²: A Framework"),
    (r"a \(7\times\) speed-up", "a 7× speed-up"),
    (r"FID $\downarrow$ 49.16\%", "FID ↓ 49.16%"),
    (r"de-professiona\-lisation", "de-professionalisation"),
    ("code at https://github.com/~user/repo", "code at https://github.com/~user/repo"),
    # Dollars in prose are money, not math.
    (
        "costs less than $2,000 USD at today's prices, and the other run $45 in total",
        "costs less than $2,000 USD at today's prices, and the other run $45 in total",
    ),
    ("an unpaired $ dollar", "an unpaired dollar"),
]


@pytest.mark.parametrize(("latex", "text"), LATEX_TABLE)
def test_it_turns_latex_into_readable_text(latex, text):
    assert readable(latex) == text


@pytest.mark.parametrize(
    ("latex", "plain"),
    [
        (r"we propose \textbf{Event-VLA}, a model", "we propose Event-VLA, a model"),
        (r"\emph{\textbf{nested}} markup", "nested markup"),
        (r"error $O(n \log n)$ in time", "error O(n log n) in time"),
        (r"costs \$5 per run", "costs $5 per run"),
        ("plain text\nwith  line breaks", "plain text with line breaks"),
    ],
)
def test_it_unwraps_latex_markup(latex, plain):
    assert plain_text(latex) == plain


def test_it_shows_clean_abstracts_in_the_digest_email(make_subscriber, make_paper):
    from datetime import UTC, date, datetime

    from django.core import mail

    from recommender.delivery import digests, sending

    make_paper(
        title="Event cameras for robot grasping",
        abstract=r"We propose \textbf{Event-Grasp} for robot grasping with event cameras.",
        categories=["cs.RO"],
        first_seen=date(2026, 6, 30),
    )
    reader = make_subscriber(interests_text="robot grasping with event cameras")
    digest, _ = digests.build_digest(reader, moment=datetime(2026, 7, 1, 7, tzinfo=UTC))

    assert sending.send_digest(digest)

    html = mail.outbox[0].alternatives[0][0]
    assert "We propose Event-Grasp for robot grasping" in mail.outbox[0].body
    assert "We propose Event-Grasp for robot grasping" in html
    assert "textbf" not in mail.outbox[0].body + html


def test_it_shows_readable_titles_in_the_admin_and_pages(admin_client, make_paper):
    paper = make_paper(title=r"TerraDiT-$\Omega$: D$^{2}$R$^{2}$OSR maps")
    changelist = admin_client.get("/admin/recommender/paper/").content.decode()
    assert "TerraDiT-Ω: D²R²OSR maps" in changelist
    assert "$" not in changelist.split("TerraDiT")[1][:40]
    assert str(paper) == f"{paper.arxiv_id}: TerraDiT-Ω: D²R²OSR maps"
