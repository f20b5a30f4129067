"""PostgreSQL's execution time over a stage, statement by statement, from
pg_stat_statements (the bench's stack loads it: MILLRACE_PG_STATEMENT_STATS
in stack.py). What a statement's time counts: its execution by the wall
clock, so its waits for locks and, on a busy machine, for a core, but not
its parse or its transaction's commit; statements run by a function or
trigger are counted in the one that ran them."""

import re


class StatementTimes:
    """Started before a stage's load, stopped after it: the stack's
    database's statements since, grouped by `classify(query)` (a name, or
    None to leave the statement out)."""

    def __init__(self, stack, classify):
        self.stack, self.classify = stack, classify
        self.database = re.search(r"/([^/?]+)(\?|$)", stack.pg).group(1)
        stack.superuser_psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", record=False)
        stack.superuser_psql("SELECT pg_stat_statements_reset()", record=False)

    def stop(self):
        """{name: {"calls", "rows", "ms"}}, the names in descending time."""
        rows = self.stack.superuser_psql(
            "SELECT s.calls, s.rows, round(s.total_exec_time::numeric, 1), "
            "regexp_replace(s.query, '\\s+', ' ', 'g') FROM pg_stat_statements s "
            f"JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = '{self.database}'", record=False)
        out = {}
        for line in rows.splitlines():
            calls, n, ms, query = line.split("\t", 3)
            name = self.classify(query)
            if name is None:
                continue
            entry = out.setdefault(name, {"calls": 0, "rows": 0, "ms": 0.0})
            entry["calls"] += int(calls)
            entry["rows"] += int(n)
            entry["ms"] = round(entry["ms"] + float(ms), 1)
        return dict(sorted(out.items(), key=lambda kv: -kv[1]["ms"]))
