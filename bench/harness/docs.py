"""docs/benchmarks.md: the page a full run replaces, but for its hand-written
sections.
"""

import os

from .common import REPO


# The only second-level section the report generates; every other one on the
# page was written by hand.
GENERATED_HEADINGS = ("## Commands run",)


def handwritten_sections():
    """The hand-written sections of docs/benchmarks.md, as lines, to carry
    over into a regenerated page: every second-level section the report does
    not generate (an issue's analysis, and "What the measurements decided"),
    in their order. A section's own text says which run it is about."""
    path = os.path.join(REPO, "docs", "benchmarks.md")
    try:
        with open(path) as f:
            text = f.read().split("\n")
    except FileNotFoundError:
        return []
    starts = [i for i, line in enumerate(text) if line.startswith("## ")] + [len(text)]
    out = []
    for start, end in zip(starts, starts[1:]):
        if text[start] in GENERATED_HEADINGS:
            continue
        section = text[start:end]
        while section and section[-1] == "":
            section.pop()
        out += section + [""]
    return out


def update_docs(md):
    """Writes the report as docs/benchmarks.md (render() has carried the
    hand-written section over)."""
    with open(os.path.join(REPO, "docs", "benchmarks.md"), "w") as f:
        f.write(md)
