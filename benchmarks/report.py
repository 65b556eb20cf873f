"""The markdown report every benchmark script writes: a title, its metadata
lines, its table; printed, and written to ``--out`` when given."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def write_report(title: str, meta: Sequence[str], lines: Sequence[str], out: Path | None) -> str:
    """Print the report and write it to ``out`` (its folder made as needed)."""
    text = "\n".join([f"# {title}", "", *meta, "", *lines, ""])
    print(text)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
    return text
