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
        "the median one. A run whose load fell behind its schedule (marked *behind*) ran on an overloaded "
        "machine and does not measure its goal: it is left out of the median.", "",
        "| goal | bound | each run | median | met |",
        "| --- | ---: | --- | ---: | --- |",
    ]
    notes = []
    for row in rows:
        g = row["goal"]
        bound = ("at most " if g.at_most else "at least ") + f"{g.bound:g}"
        each = ", ".join(f"{v:.3f}" + (" *behind*" if b else "") for v, b in zip(row["values"], row["behind"]))
        if row["median"] is None:
            median, met = "none", "not measured"
        else:
            median, met = f"{row['median']:.3f}", "yes" if row["met"] else "**no**"
        lines.append(f"| {g.text} | {bound} | {each} | {median} | {met} |")
        notes += [f"- {g.text}, run {i + 1}: {b}." for i, b in enumerate(row["behind"]) if b]
    lines.append("")
    if notes:
        lines += ["Runs behind their schedule:", ""] + notes + [""]
    return lines
