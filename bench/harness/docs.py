"""docs/benchmarks.md: the page a full run replaces, but for its hand-written
section.
"""

import os

from .common import REPO


DECISIONS_HEADING = "## What the measurements decided"


def decisions_section():
    """The hand-written section of docs/benchmarks.md, as lines, to carry over
    into a regenerated page (it ends at the next second-level heading)."""
    path = os.path.join(REPO, "docs", "benchmarks.md")
    try:
        with open(path) as f:
            text = f.read().split("\n")
    except FileNotFoundError:
        return []
    if DECISIONS_HEADING not in text:
        return []
    start = text.index(DECISIONS_HEADING)
    end = next((i for i in range(start + 1, len(text)) if text[i].startswith("## ")), len(text))
    section = text[start:end]
    while section and section[-1] == "":
        section.pop()
    return section + [""]


def update_docs(md):
    """Writes the report as docs/benchmarks.md (render() has carried the
    hand-written section over)."""
    with open(os.path.join(REPO, "docs", "benchmarks.md"), "w") as f:
        f.write(md)
