"""The changes and what they reach (Changes, a part of check.Checker): the
change topic against the table (4), every webhook endpoint (5), the Redis
cache against the catalog (6), and the catalog edits, read back through
the API (6b); and _same_number, the cache check's comparison of values.
"""
import datetime
import json
import subprocess
import time


class Changes:
    # 4. the change topic, applied in order, equals the table
    def change_topic(self, changes):
        mine = sorted((c for c in changes if c["table"] == "public.nemesis_items"),
                      key=lambda c: (c["_p"], c["_o"]))
        ids = [c["id"] for c in mine]
        repeats = len(ids) - len(set(ids))
        state = {}
        for c in mine:
            key = json.dumps(c.get("key"), sort_keys=True)
            if c["op"] in ("c", "u", "r"):
                state[key] = c["after"]
            elif c["op"] == "d":
                state.pop(key, None)
            elif c["op"] == "t":
                state.clear()
        out = self.run.psql("SELECT json_build_object('id', id, 'v', v, 'note', note) FROM nemesis_items")
        table = {}
        for line in (out or "").splitlines():
            row = json.loads(line)
            table[json.dumps({"id": row["id"]}, sort_keys=True)] = row
        diff = []
        for k in sorted(set(state) | set(table)):
            a, b = state.get(k), table.get(k)
            if (a is None) != (b is None) or (a and (int(a["v"]) != int(b["v"]) or a["note"] != b["note"])):
                diff.append(f"key {k}: topic {a}, table {b}")
        return ("change topic (read_committed, applied in order) equals nemesis_items, each change once",
                bool(diff or repeats or out is None),
                f"{len(mine)} change(s) applied, {len(table)} row(s); {len(diff)} differing, {repeats} repeated"
                + (f"; first: {diff[0]}" if diff else ""))

    # 5. every webhook endpoint got every change, in commit order
    def webhooks(self, changes):
        expected = [c["id"] for c in changes if c["table"] == "public.nemesis_items"]
        want = set(expected)
        results = []
        rec = self.run.receiver
        for endpoint in sorted(rec.secrets):
            arrivals = list(rec.ids.get(endpoint, []))
            seen, firsts = set(), []
            for i in arrivals:
                if i not in seen:
                    seen.add(i)
                    firsts.append(i)
            missing = [i for i in expected if i not in seen]
            unknown = [i for i in firsts if i not in want]
            inversions, first_inv, top = 0, "", ""
            for i in firsts:  # change ids sort in commit order
                if i < top:
                    inversions += 1
                    first_inv = first_inv or f"{i} after {top}"
                top = max(top, i)
            bad_sig = rec.bad_signatures.get(endpoint, 0)
            results.append((f"webhook endpoint {endpoint}: every change, in commit order, signed",
                            bool(missing or unknown or inversions or bad_sig),
                            f"{len(firsts)} of {len(expected)} change(s) received ({len(arrivals) - len(firsts)}"
                            f" resent), missing {len(missing)}, unknown {len(unknown)}, out of commit order"
                            f" {inversions}, bad signatures {bad_sig}"
                            + (f"; first missing: {missing[0]}" if missing else "")
                            + (f"; first inversion: {first_inv}" if first_inv else "")))
        return results

    # 6. the cache equals the catalog, once the invalidator has caught up: it
    # converges, so a difference counts only if it outlives a minute
    def cache(self):
        deadline = time.time() + 60
        while True:
            result = self._cache_once()
            if not result[1] or time.time() > deadline:
                return result
            time.sleep(3)

    def _cache_once(self):
        schema = self.env.get("MILLRACE_PG_SCHEMA", "public")
        prefix = f"millrace:{schema}"
        url = self.env["MILLRACE_REDIS_URL"]

        def redis(*args):
            return subprocess.run(["redis-cli", "-u", url, "--raw", *args], stdout=subprocess.PIPE,
                                  text=True, timeout=120).stdout
        live = redis("GET", f"{prefix}:live").strip()
        if not live:
            return ("the Redis cache equals the catalog", True, "no live generation in Redis")
        keys = [k for k in redis("--scan", "--pattern", f"{prefix}:g{live}:*").splitlines() if k]
        rows = {}
        for table, col in (("categories", "name"), ("products", "sku")):
            out = self.run.psql(f"SELECT {col}, row_to_json(t) FROM {table} t", timeout=120) or ""
            for line in out.splitlines():
                k, _, js = line.partition("|")
                rows[(table, k)] = json.loads(js)
        compared, wrong = 0, []
        for key in keys:
            rest = key[len(f"{prefix}:g{live}:"):]
            kind, _, name = rest.partition(":")
            table = {"category": "categories", "product": "products"}.get(kind)
            if table is None:
                continue
            body = redis("HGET", key, "b")
            row = rows.get((table, name))
            compared += 1
            if not body.strip():
                if row is not None:
                    wrong.append(f"{key}: a tombstone, but the row exists")
                continue
            cached = json.loads(body)
            if row is None:
                wrong.append(f"{key}: cached, but no such row")
                continue
            for field, value in row.items():
                if field in cached and str(cached[field]) != str(value) and not _same_number(cached[field], value):
                    wrong.append(f"{key}: {field} cached {cached[field]!r}, catalog {value!r}")
                    break
        return ("the Redis cache equals the catalog", bool(wrong) or compared == 0,
                f"generation {live}: {compared} entr(ies) compared with {len(rows)} catalog row(s), {len(wrong)} wrong"
                + (f"; first: {wrong[0]}" if wrong else ""))

    # 6b. catalog edits (psql and the API's PUT): each category holds its
    # last acknowledged edit, or an edit sent after it whose outcome is
    # unknown; and the API reads back what the catalog holds (it may serve
    # from the cache, which converges: retried for up to a minute)
    def catalog_edits(self, converge_s=60):
        promise = "catalog edits: each category holds its last acknowledged edit, and the API reads it back"
        out = self.run.psql("SELECT name, display_name FROM categories", timeout=120)
        if out is None:
            return (promise, True, "could not read categories")
        table = {}
        for line in out.splitlines():
            name, _, shown = line.partition("|")
            table[name] = shown
        lost, checked = [], 0
        for name, log in sorted(self.run.load.catalog_log.items()):
            acked = [i for i, (_, ok) in enumerate(log) if ok]
            if not acked:
                continue  # every edit's outcome unknown: any of them, or none, may hold
            checked += 1
            allowed = {shown for shown, _ in log[acked[-1]:]}
            if table.get(name) not in allowed:
                lost.append(f"{name}: holds {table.get(name)!r}, last acknowledged {log[acked[-1]][0]!r}")
        deadline = time.time() + converge_s
        while True:
            unread = self._api_reads(table)
            if not unread or time.time() > deadline:
                break
            time.sleep(3)
        return (promise, bool(lost or unread),
                f"{checked} categories with an acknowledged edit, {len(lost)} not holding it; {len(table)} read"
                f" through the API, {len(unread)} differing" + (f"; first lost: {lost[0]}" if lost else "")
                + (f"; first differing: {unread[0]}" if unread else ""))

    def _api_reads(self, table):
        import http.client
        import urllib.parse
        wrong = []
        for name, shown in sorted(table.items()):
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.run.api_port, timeout=20)
                c.request("GET", "/v1/categories/" + urllib.parse.quote(name, safe=""),
                          headers={"Accept": "application/json"})
                r = c.getresponse()
                body = r.read()
                c.close()
            except (OSError, http.client.HTTPException) as e:
                wrong.append(f"{name}: {e!r}")
                continue
            if r.status != 200:
                wrong.append(f"{name}: status {r.status}")
                continue
            got = json.loads(body).get("display_name")
            if (got or "") != shown:
                wrong.append(f"{name}: the API reads {got!r}, the catalog holds {shown!r}")
        return wrong


def _same_number(a, b):
    """Equal as numbers, or as instants (the API writes UTC with Z,
    PostgreSQL's JSON with +00:00)."""
    try:
        return abs(float(a) - float(b)) < 1e-9
    except (TypeError, ValueError):
        pass
    try:
        return datetime.datetime.fromisoformat(str(a)) == datetime.datetime.fromisoformat(str(b))
    except ValueError:
        return False
