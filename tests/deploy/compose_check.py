#!/usr/bin/env python3
"""Checks docker-compose.yml, its Kafka cluster override and the image recipe
as far as a machine without a Docker engine can, with the real programs:

- docker-compose parses and validates each file set (`config -q`) with no
  .env: the one-shot secrets makes every password and token (the secure
  profile still requires its SASL password, and is refused without it);
- the one-shot secrets, run here, writes each service's password and token
  files, which the checks below read;
- every Millrace service's command, with exactly the environment compose
  gives it, passes that binary's own `--check-config`, and reads every
  MILLRACE_ variable it is given (a misspelt one would be ignored);
- every command names a binary the Dockerfile builds and installs, and the
  Dockerfile builds every target an install(TARGETS) names (its `cmake
  --install` fails on one that was not built);
- each Kafka broker's KAFKA_* variables, translated to broker properties the
  way the apache/kafka image documents, are all broker settings and pass
  Kafka 3.9.1's own KafkaConfig validation; node ids are unique and every
  broker names the same controller quorum; published ports match the
  advertised external listeners;
- Prometheus' compose config passes promtool with the alert rules, and scrapes
  the ports the services' metrics listen on;
- the runtime image installs the Debian package of every shared library the
  built binaries link;
- every file compose mounts exists;
- the secure profile (deploy/docker/compose.secure.yml): its one-shot certs,
  run here, makes a CA and the servers' certificates, keeps them when run
  again, signs with a CA brought in its import directory and refuses a
  certificate that CA did not sign; every certificate, key and CA file a
  service is told to use lies in a certs volume it mounts, each key owned
  by the user its image runs as and readable by nobody else, each
  certificate valid for its compose name and localhost; every Kafka client
  uses SASL_SSL, every PostgreSQL connection verify-full, both HTTP
  services TLS, the broker's PLAINTEXT listeners are on its loopback; a
  PostgreSQL started with the postgres service's command refuses TCP
  without TLS and serves verify-full clients; Prometheus scrapes the HTTPS
  services over HTTPS, and its and Grafana's files differ from the plain
  ones only in TLS.

With --rehearse, it then plays docker-compose.yml's start against the local
stack (deploy/local/stack, MILLRACE_STATE_DIR), with each service's own
command and environment and only the addresses swapped for the stack's (plus
a topic, schema, groups, roles and admin token of its own), and no .env: the
one-shot secrets (every password and token it must make), create-topics,
migrate, a small catalog loaded with the cli service, the API's roles made by
deploy/docker/postgres-init/'s script (renamed for this run), changefeed-publish
and api-grant run to completion first, then the replicas compose starts of
the sink, the aggregator, the producer, the change feed, the webhooks, the
cache, the API and the archiver. The archiver's S3 store is a weed of the
rehearsal's own, run from the seaweedfs service's command and settings
(deploy/docker/seaweedfs.sh writes its identities from the one-shot secrets'
keys; scripts/bootstrap's weed stands in for the image's), after which the
one-shot s3-bucket makes the bucket; the archiver's files must be listed in
it with the secrets' keys and read back by the cli service's
`archive verify`. Events produced by the cli service's command and one
POSTed to the producer must all be accounted for by both consumer groups,
the change feed must publish them and the webhooks group account for its
changes; the cache must mark a generation live in Redis, the API must pass
its healthcheck command and answer GET /v1/categories from the cache (a hit
in its metrics), and a category changed through its admin API must come back
changed, through the change feed and the cache. Every service must exit 0 on
SIGTERM within the stop_grace_period. Then it plays the secure profile's
start the same way, with a .env that sets the sink's password (the secrets
must take it, and the sink's role log in with it): certs (given the stack's
CA, as your own would be), a
broker of its own with the kafka service's settings that must pass the
service's healthcheck, kafka-scram through its loopback listener, the
stack's PostgreSQL over TLS, the producer and the API over HTTPS, with the
same checks, and every PostgreSQL session of the run over TLS.

Usage: compose_check.py SOURCE_DIR BIN_DIR KAFKA_CLASSPATH_FILE [--rehearse]
"""

import os
import sys

# The checks (composecheck/, beside this file) and what they share with the
# other Python test tools (tests/pysupport), without writing bytecode caches
# into the repository.
sys.dont_write_bytecode = True
sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from composecheck.cli import main  # noqa: E402

if __name__ == "__main__":
    main(__doc__)
