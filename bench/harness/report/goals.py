"""The report's table of issue 40's goals: each one's ratio in every
repetition of its stage, their median, and whether the median meets it.
"""

from ..goals import goal_values


def render_goals(r):
    rows = goal_values(r)
    if not rows:
        return []
    repeats = max(len(row["values"]) for row in rows)
    lines = [
        "### Issue 40's goals", "",
        f"Each goal is a ratio to a reference measured in the same run. The stages that decide them ran up to "
        f"{repeats} times each (`--repeats`; the cached reads, a stage of many wrk runs, once): a goal's figure "
        "is the median of its runs, and the sections below show, of each stage, the run whose first goal was "
        "the median one.", "",
        "| goal | bound | each run | median | met |",
        "| --- | ---: | --- | ---: | --- |",
    ]
    for row in rows:
        g = row["goal"]
        bound = ("at most " if g.at_most else "at least ") + f"{g.bound:g}"
        each = ", ".join(f"{v:.3f}" for v in row["values"])
        lines.append(f"| {g.text} | {bound} | {each} | {row['median']:.3f} | {'yes' if row['met'] else '**no**'} |")
    lines.append("")
    return lines
