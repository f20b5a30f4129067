"""The rehearsal's checks once compose's services run: every event and
change accounted for, the cache live, the API answering from it, and an
admin write coming back through the change feed and the cache.
"""

import json
import os
import re
import subprocess
import time
import urllib.parse

from pysupport import http_request, metric_sum, parse_metrics, psql

from .compose import in_volumes
from .failures import fail


class Checks:
    """Mixed into Rehearsal (rehearsal.py), whose run they check: its
    services, ports, schema, groups and TLS context."""

    def check(self):
        """The checks in turn; one whose failure leaves nothing to check
        further ends them."""
        events = self.produce_events()
        if events is None:
            return
        self.check_accounting(events)
        self.check_archive()
        self.check_readiness()
        published = self.check_changefeed()
        self.check_webhooks(published)
        if not self.check_cache_live() or not self.check_api_health():
            return
        listed = self.check_api_reads()
        if listed is None:
            return
        self.check_admin_write(listed)
        if self.secure:
            self.check_sessions_encrypted()

    def http_get(self, url, token=None):
        """(status, body) of a GET, with the run's TLS context."""
        answer = http_request(url, token=token, context=self.tls_context, timeout=10)
        return answer.status, answer.body.decode()

    def scrape(self, url):
        """The metrics at `url`, parsed (whatever its status)."""
        return parse_metrics(self.http_get(url)[1])

    def healthcheck(self, service_name, compose_port):
        """The service's own healthcheck command, pointed at its port here."""
        port = self.ports[service_name][compose_port]
        test = self.services[service_name]["healthcheck"]["test"]
        return [in_volumes(a.replace(f"/127.0.0.1/{compose_port}", f"/127.0.0.1/{port}")
                           .replace(f"127.0.0.1:{compose_port}", f"127.0.0.1:{port}"),
                           self.services[service_name], self.volumes) for a in test[1:]]

    def produce_events(self):
        """Events by the cli service's command and one POSTed to the
        producer, once its healthcheck passes: how many, or None."""
        what = self.what
        events = 3000
        out = self.run_to_end("cli", {"MILLRACE_TOPIC": self.topic},
                              ["millrace", "produce", "--count", str(events), "--seed", "11",
                               "--time-spread", "7200"])
        if out is None:
            return None
        summary = json.loads(out)
        if summary.get("delivered") != events:
            fail(f"{what}: cli produce delivered {summary.get('delivered')} of {events}")

        check = self.healthcheck("producer", 8080)
        deadline = time.time() + 60
        while subprocess.run(check).returncode != 0:
            if time.time() > deadline:
                fail(f"{what}: the producer's healthcheck never passed")
                break
            time.sleep(1)
        else:
            print(f"ok: {what}: the producer's healthcheck passes")
        body = subprocess.run([os.path.join(self.bin_dir, "millrace"), "generate", "--count", "1",
                               "--seed", "12"], check=True, capture_output=True).stdout
        token = self.secret("MILLRACE_AUTH_TOKEN")
        answer = http_request(f"{self.scheme}://127.0.0.1:{self.ports['producer'][8080]}/v1/events",
                              data=body, headers={"Content-Type": "application/json"}, token=token,
                              context=self.tls_context)
        if answer.status != 200:
            fail(f"{what}: POST /v1/events answered {answer.status}")
        return events + 1

    def check_accounting(self, events):
        """Every event accounted for by every group, from the SQL a user reads."""
        what, schema = self.what, self.schema
        self.groups["archiver"] = self.name + "_archiver"
        deadline = time.time() + 180
        while True:
            rows = psql(self.pg_url, f"SELECT group_id, sum(consumed), sum(unaccounted) FROM "
                                     f"{schema}.partition_accounting GROUP BY group_id")
            seen = {g: (int(c), int(u)) for g, c, u in (r.split("|") for r in rows.splitlines())}
            if all(seen.get(g, (0, 0))[0] >= events for g in self.groups.values()) or time.time() > deadline:
                break
            time.sleep(1)
        for group in self.groups.values():
            consumed, unaccounted = seen.get(group, (0, 0))
            if consumed != events or unaccounted != 0:
                fail(f"{what}: group {group} consumed {consumed} of {events}, unaccounted {unaccounted}")
            else:
                print(f"ok: {what}: group {group} accounted for all {events} events")
        hours = int(psql(self.pg_url, f"SELECT count(*) FROM {schema}.hourly_sales"))
        if hours == 0:
            fail(f"{what}: the hourly_sales view is empty")

    def check_archive(self):
        """The archiver's Capture files are where compose says, in the S3
        store's bucket: listed there with the keys the one-shot secrets made,
        and read back in full by the cli service's `archive verify` (every
        recorded file, no object unrecorded)."""
        if not self.s3:
            return
        what, archiver = self.what, self.services["archiver"]
        env = archiver.get("environment") or {}
        bucket, _, prefix = str(env.get("MILLRACE_ARCHIVE_URL", "")).removeprefix("s3://").partition("/")
        credentials = in_volumes(str(env.get("AWS_SHARED_CREDENTIALS_FILE", "")), archiver, self.volumes)
        keys = self.s3.objects(bucket, prefix.rstrip("/") + "/", credentials)
        files = [k for k in keys or [] if "/.staging/" not in "/" + k]
        if not files:
            fail(f"{what}: the bucket {bucket} holds no archive file under {prefix} ({keys})")
            return
        print(f"ok: {what}: the bucket {bucket} holds {len(files)} archive files under {prefix}")
        self.run_to_end("cli", {"MILLRACE_PG_SCHEMA": self.schema, "MILLRACE_TOPIC": self.topic,
                                "MILLRACE_ARCHIVER_GROUP": self.groups["archiver"]},
                        ["millrace", "archive", "verify"])

    def check_changefeed(self):
        """The change feed published at least every stored event: streamed
        as an insert, or, stored before the feed first streamed (a new
        broker's first transactions wait for its coordinators), in its
        initial snapshot's backfill (op "r", counted with the changes).
        Returns how many it published."""
        stored = int(psql(self.pg_url, f"SELECT count(*) FROM {self.schema}.store_events"))
        metrics = f"http://127.0.0.1:{self.ports['changefeed'][9313]}/metrics"
        published = 0
        deadline = time.time() + 60
        while time.time() < deadline:
            samples = self.scrape(metrics)
            published = metric_sum(samples, "millrace_changefeed_changes_published_total")
            if stored > 0 and published >= stored:
                break
            time.sleep(1)
        if stored == 0 or published < stored:
            fail(f"{self.what}: the change feed published {published} changes; "
                 f"store_events holds {stored} rows")
        else:
            print(f"ok: {self.what}: the change feed published {int(published)} changes and "
                  f"snapshot rows ({stored} stored events and the aggregates)")
        return published

    def check_webhooks(self, published):
        """The webhooks group read every published change and accounted for
        each (no endpoint is registered: each is an outcome `filtered`)."""
        deadline = time.time() + 120
        consumed = unaccounted = 0
        while time.time() < deadline:
            row = psql(self.pg_url, f"SELECT coalesce(sum(consumed), 0), coalesce(sum(unaccounted), 0) "
                                    f"FROM {self.schema}.partition_accounting "
                                    f"WHERE group_id = '{self.webhooks_group}'")
            consumed, unaccounted = (int(x) for x in row.split("|"))
            if consumed >= published:
                break
            time.sleep(1)
        if published == 0 or consumed < published or unaccounted != 0:
            fail(f"{self.what}: the webhooks group consumed {consumed} of {int(published)} changes, "
                 f"unaccounted {unaccounted}")
        else:
            print(f"ok: {self.what}: the webhooks group accounted for all {consumed} changes")

    def check_cache_live(self):
        """The catalog cache: millrace-cache loads a generation and marks it
        live (the key readers trust, docs/cache.md)."""
        what = self.what
        live_key = f"millrace:{self.schema}:live"
        deadline = time.time() + 90
        while True:
            r = subprocess.run(["redis-cli", "-u", self.redis_url, "EXISTS", live_key],
                               capture_output=True, text=True, timeout=10)
            if r.stdout.strip() == "1":
                print(f"ok: {what}: the cache marked a generation live ({live_key})")
                break
            if time.time() > deadline:
                fail(f"{what}: the cache never marked a generation live: {live_key} absent "
                     f"(redis-cli: {(r.stdout + r.stderr).strip()!r}); see {self.logs}/cache-1.log")
                return False
            time.sleep(1)
        answer = http_request(f"http://127.0.0.1:{self.ports['cache'][9316]}/metrics", timeout=10)
        if answer.status != 200:
            fail(f"{what}: the cache's /metrics answered {answer.status}")
        return True

    def check_readiness(self):
        """Every long-running service's own healthcheck command (its
        /readyz, on its metrics port or its HTTP port), pointed at its port
        here, passes; and the services without an HTTP port of their own
        have one (docs/operations.md, "Health")."""
        for name, service in sorted(self.services.items()):
            if name not in self.ports:
                continue
            test = service.get("healthcheck", {}).get("test")
            if name not in ("producer", "api") and not test:
                fail(f"{self.what}: {name} has no healthcheck")
                continue
            compose_port = re.search(r"127\.0\.0\.1[/:](\d+)", " ".join(test)) if test else None
            if not compose_port:
                continue
            check = self.healthcheck(name, int(compose_port.group(1)))
            deadline = time.time() + 60
            while subprocess.run(check, capture_output=True).returncode != 0:
                if time.time() > deadline:
                    fail(f"{self.what}: {name}'s healthcheck (/readyz) never passed; "
                         f"see {self.logs}/{name}-1.log")
                    break
                time.sleep(1)
            else:
                print(f"ok: {self.what}: {name}'s healthcheck (/readyz) passes")

    def check_api_health(self):
        """The API's own healthcheck command (/readyz), pointed at its port."""
        check = self.healthcheck("api", 8090)
        deadline = time.time() + 60
        while subprocess.run(check).returncode != 0:
            if time.time() > deadline:
                fail(f"{self.what}: the API's healthcheck never passed; see {self.logs}/api-1.log")
                return False
            time.sleep(1)
        print(f"ok: {self.what}: the API's healthcheck passes")
        return True

    def api_url(self):
        return f"{self.scheme}://127.0.0.1:{self.ports['api'][8090]}"

    def check_api_reads(self):
        """Compose's read token: a read without it is refused. Then GET
        /v1/categories through the cache: every loaded category, and a hit
        in the API's metrics (a read before the API saw the live generation
        is a bypass, so ask again until one hits). Returns the categories
        listed, or None."""
        what, api = self.what, self.api_url()
        read_token = self.secret("MILLRACE_API_READ_TOKEN")
        status, body = self.http_get(api + "/v1/categories")
        if status != 401:
            fail(f"{what}: GET /v1/categories without the read token answered {status}, not 401")
        else:
            print(f"ok: {what}: the API refuses a read without MILLRACE_API_READ_TOKEN (401)")
        deadline = time.time() + 30
        while True:
            status, body = self.http_get(api + "/v1/categories", read_token)
            if status != 200:
                fail(f"{what}: GET /v1/categories answered {status}: {body[:500]}")
                return None
            listed = json.loads(body)["categories"]
            if len(listed) != self.categories:
                fail(f"{what}: GET /v1/categories listed {len(listed)} of {self.categories} "
                     "categories")
                return None
            hits = metric_sum(self.scrape(api + "/metrics"), "millrace_cache_reads_total",
                              kind="categories", result="hit")
            if hits >= 1:
                print(f"ok: {what}: GET /v1/categories answered all {self.categories} categories "
                      f"from the cache ({int(hits)} hit)")
                return listed
            if time.time() > deadline:
                fail(f"{what}: GET /v1/categories never hit the cache "
                     "(millrace_cache_reads_total{kind=\"categories\",result=\"hit\"} is 0)")
                return None
            time.sleep(1)

    def check_admin_write(self, listed):
        """An admin write (the admin role), seen by the change feed, applied
        to Redis by the cache, and served by the API from there."""
        what, api = self.what, self.api_url()
        read_token = self.secret("MILLRACE_API_READ_TOKEN")
        category = listed[0]["name"]
        path = "/v1/categories/" + urllib.parse.quote(category, safe="")
        wanted = f"{listed[0]['display_name']} (rehearsed)"
        answer = http_request(api + path, method="PUT",
                              data=json.dumps({"display_name": wanted, "active": True}).encode(),
                              headers={"Content-Type": "application/json"},
                              token=self.extra["api"]["MILLRACE_API_ADMIN_TOKEN"], context=self.tls_context)
        if not 200 <= answer.status < 300:
            fail(f"{what}: PUT {path} answered {answer.status}: {answer.body.decode()[:500]}")
        if answer.status != 200:
            return
        deadline = time.time() + 60
        while True:
            status, body = self.http_get(api + path, read_token)
            if status == 200 and json.loads(body).get("display_name") == wanted:
                print(f"ok: {what}: PUT {path} (admin role) is served changed through "
                      "the change feed and the cache")
                break
            if time.time() > deadline:
                fail(f"{what}: GET {path} still answers {status} {body[:300]} a minute "
                     f"after the admin API changed it")
                break
            time.sleep(0.5)

    def check_sessions_encrypted(self):
        """Every PostgreSQL session of this run's roles, and the change
        feed's replication session, is over TLS."""
        roles, superuser = self.roles, self.superuser
        listed = ", ".join(f"'{r}'" for r in roles.values())
        rows = psql(superuser, "SELECT a.usename, s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s "
                               f"USING (pid) WHERE a.usename IN ({listed})")
        seen = {}
        for row in rows.splitlines():
            user, encrypted = row.split("|")
            seen.setdefault(user, set()).add(encrypted)
        plain = sorted(u for u, e in seen.items() if "f" in e)
        wanted = {roles[f"millrace_{k}"] for k in ("sink", "aggregator", "archiver", "cache", "api")}
        feed = psql(superuser, "SELECT s.ssl FROM pg_replication_slots r JOIN pg_stat_ssl s ON "
                               f"s.pid = r.active_pid WHERE r.slot_name = "
                               f"'{self.changes['MILLRACE_CHANGEFEED_SLOT']}'")
        if plain or not wanted <= seen.keys() or feed != "t":
            fail(f"{self.what}: PostgreSQL sessions without TLS: {plain}; roles without a session: "
                 f"{sorted(wanted - seen.keys())}; the change feed's over TLS: {feed!r}")
        else:
            print(f"ok: {self.what}: every session of {', '.join(sorted(seen))} and the change "
                  "feed's replication session is over TLS")
