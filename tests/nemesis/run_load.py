"""The steady load (Load): store events and orders over HTTP, each
acknowledged one recorded, and edits of a published table and of the
catalog in psql and through the API; and the orders it sends, made by the
harness (make_orders).
"""
import http.client
import json
import random
import threading
import time
import urllib.parse


def make_orders(seed, count, skus):
    """Orders of seed 003's shape (proto/kinds/order.json), made here: the
    CLI's generator writes only store events. Ids are unique per seed."""
    rng = random.Random(seed * 7 + 3)
    out = []
    for n in range(count):
        email = f"nemesis{rng.randrange(10**6)}@example.com"
        lines = [{"Email": email, "ProductId": rng.choice(skus) if skus else 1 + rng.randrange(10**6),
                  "Quantity": rng.randint(1, 5), "UnitPrice": round(rng.uniform(1.99, 49.99), 2)}
                 for _ in range(rng.randint(1, 4))]
        total = round(sum(l["Quantity"] * l["UnitPrice"] for l in lines), 2)
        out.append(json.dumps({
            "PaymentTransactionId": f"nemesis-{seed}-{n}",
            "OrderDate": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "Total": total, "Region": rng.choice(["East US", "West Europe"]),
            "FirstName": "Ana", "LastName": "Silva", "Email": email, "Details": lines}))
    return out


class Load:
    """The steady load: store events and orders over HTTP (each acknowledged
    one recorded), edits of a published table and of the catalog in psql and
    through the API."""

    def __init__(self, run):
        self.run = run
        self.stop = threading.Event()
        self.acked_events = {}   # id -> (partition, offset, line)
        self.acked_orders = {}   # PaymentTransactionId -> (partition, offset, line)
        self.unacked_events = 0
        self.unacked_orders = 0
        self.table_tx_ok = 0
        self.table_tx_failed = 0
        self.catalog_edits = {"psql": 0, "api": 0, "failed": 0}
        # name -> [(display_name, acknowledged)], in the order sent (one
        # thread): a failed edit's outcome is unknown, not "not applied".
        self.catalog_log = {}
        self.threads = []

    def start(self):
        for target in (self.events, self.orders, self.table, self.catalog):
            t = threading.Thread(target=target, daemon=True)
            t.start()
            self.threads.append(t)

    def join(self):
        self.stop.set()
        for t in self.threads:
            t.join(60)

    def _post(self, path, lines):
        port = self.run.producer_port
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
            c.request("POST", path, body="\n".join(lines).encode(),
                      headers={"Content-Type": "application/x-ndjson"})
            r = c.getresponse()
            body = r.read()
            c.close()
            return r.status, json.loads(body) if body else {}
        except (OSError, http.client.HTTPException, ValueError):
            return 0, {}

    def _send(self, path, pool, batch, acked, pause):
        i = 0
        while not self.stop.is_set() and i < len(pool):
            lines = pool[i:i + batch]
            i += batch
            status, answer = self._post(path, lines)
            got = 0
            for res in answer.get("results", []) if isinstance(answer, dict) else []:
                if res.get("status") == "accepted":
                    acked[res["id"]] = (res["partition"], res["offset"], lines[res["index"]])
                    got += 1
            lost = len(lines) - got
            if path == "/v1/events":
                self.unacked_events += lost
            else:
                self.unacked_orders += lost
            self.stop.wait(pause)

    def events(self):
        self._send("/v1/events", self.run.event_pool, 20, self.acked_events, 0.1)

    def orders(self):
        self._send("/v1/orders", self.run.order_pool, 4, self.acked_orders, 0.25)

    def table(self):
        rng = random.Random(self.run.seed * 7 + 1)
        next_id = 1
        while not self.stop.is_set():
            stmts = []
            for _ in range(rng.randint(1, 3)):
                op = rng.random()
                if op < 0.5 or next_id < 10:
                    stmts.append(f"INSERT INTO nemesis_items (id, v, note) VALUES ({next_id}, 0, 'n{next_id}')")
                    next_id += 1
                elif op < 0.85:
                    k = rng.randrange(1, next_id)
                    stmts.append(f"UPDATE nemesis_items SET v = v + 1, note = 'u{rng.randrange(10**6)}' WHERE id = {k}")
                else:
                    stmts.append(f"DELETE FROM nemesis_items WHERE id = {rng.randrange(1, next_id)}")
            r = self.run.psql("BEGIN;" + ";".join(stmts) + ";COMMIT;", timeout=20)
            if r is None:
                self.table_tx_failed += 1
            else:
                self.table_tx_ok += 1
            self.stop.wait(0.15)

    def catalog(self):
        rng = random.Random(self.run.seed * 7 + 2)
        names = self.run.category_names
        while not self.stop.is_set():
            name = rng.choice(names)
            shown = f"{name} #{rng.randrange(10**6)}"
            if rng.random() < 0.5:
                q = shown.replace("'", "''")
                n = name.replace("'", "''")
                ok = self.run.psql(f"UPDATE categories SET display_name = '{q}' WHERE name = '{n}'",
                                   timeout=20) is not None
                self.catalog_edits["psql" if ok else "failed"] += 1
                self.catalog_log.setdefault(name, []).append((shown, ok))
            else:
                try:
                    c = http.client.HTTPConnection("127.0.0.1", self.run.api_port, timeout=20)
                    c.request("PUT", "/v1/categories/" + urllib.parse.quote(name, safe=""),
                              body=json.dumps({"display_name": shown}).encode(),
                              headers={"Content-Type": "application/json",
                                       "Authorization": "Bearer " + self.run.admin_token})
                    r = c.getresponse()
                    r.read()
                    c.close()
                    self.catalog_edits["api" if r.status < 300 else "failed"] += 1
                    self.catalog_log.setdefault(name, []).append((shown, r.status < 300))
                except (OSError, http.client.HTTPException):
                    self.catalog_edits["failed"] += 1
                    self.catalog_log.setdefault(name, []).append((shown, False))
            self.stop.wait(1.0)
