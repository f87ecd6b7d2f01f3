"""Which format a saved file is in, from its first bytes."""

from __future__ import annotations

from pathlib import Path

from .records import read_head


def detect_format(path: str | Path) -> str | None:
    """Guess the format from the first bytes: '<' Atom, '[' HF JSON, '{' JSON lines, other
    readable text a saved page. None for an empty or binary file. Raises OSError if unreadable."""
    head = read_head(Path(path), 65536)
    head = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if not head:
        return None
    first = head[:1]
    if first == b"<":
        return "arxiv-atom"
    if first == b"[":
        return "hf-json"
    if first == b"{":
        return "jsonl"
    if b"\x00" in head:
        return None
    return "page-text"
