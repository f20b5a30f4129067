# shellcheck shell=bash
# deploy/local/lib/usage.sh — sourced by deploy/local/stack, which sets the
# globals used here; not a command of its own.
#
# The stack's help: `deploy/local/stack --help`.

usage() {
  cat <<EOF
Usage: deploy/local/stack [options] <command> [SERVER]

Commands:
  up [SERVER]             Start whatever is not running (restarting a crashed
                          server), create the topics and the database, then
                          print the env exports on stdout.
  down [SERVER]           Stop the servers; logs and data are kept.
  down --purge            Stop all servers and delete the state directory.
  status [SERVER]         Show running/stopped/crashed; exit 0 if all the
                          selected servers run, 3 otherwise.
  env                     Print shell exports: eval "\$(deploy/local/stack env)"
                          (MILLRACE_BROKERS, MILLRACE_PG as the tables' owner,
                          MILLRACE_CHANGEFEED_PG, one DSN per service's role:
                          MILLRACE_{SINK,AGGREGATOR,ARCHIVER,WEBHOOKS,CACHE,API,
                          API_ADMIN}_PG, MILLRACE_STACK_CA, MILLRACE_REDIS_URL,
                          the topics; and for the object stores that run,
                          MILLRACE_S3_{ENDPOINT,REGION,BUCKET},
                          AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
                          MILLRACE_AZURE_{BLOB_URL,KEY_FILE,SAS_FILE})

SERVER is kafka, postgres, redis, prometheus, all (these four), s3, azurite
or objstore (s3 and azurite), or kafka-N for one node of a cluster (up
restarts it, down stops it). Without one, up and status mean Kafka,
PostgreSQL and Redis (status also shows a Prometheus or object store that was
started, without counting it), and down stops Prometheus and the object
stores as well if they were started.
Redis keeps nothing on disk (no RDB snapshots, no AOF): stopping it, or
'down redis' then 'up redis' (same port), empties it, like a restarted cache.
Prometheus is optional: only 'up prometheus' or 'up all' start it. It scrapes
the Millrace services found in \$STATE/prometheus/targets/<job>[-*].json (jobs
millrace-sink, millrace-aggregator, millrace-producer; the files are re-read
every 2 s) with the rules of deploy/prometheus/rules.
With MILLRACE_ALERT_EMAIL_TO set, Alertmanager runs beside it
(MILLRACE_ALERTMANAGER_PORT, default 9093), configured from the
MILLRACE_ALERT_* variables (docs/operations.md, "Routing alerts").
The object stores are optional too: only 'up s3', 'up azurite' or 'up
objstore' start them (scripts/bootstrap installs both), and they keep their
data across 'down' and 'up'.
  s3       SeaweedFS' 'weed server -s3' (.cache/bin/weed): the S3 API on
           127.0.0.1:MILLRACE_S3_PORT and weed's master, volume server and
           filer (each with its gRPC port) and S3 gRPC on the seven ports
           after it. Authenticated (SigV4, path-style): the keys 'env'
           exports may read, write, list and tag in the bucket
           millrace-archive (made by 'up') and nothing else; an admin
           identity's keys are in \$STATE/s3-keys/millrace-admin.{id,secret}.
  azurite  Azurite's Blob service (.cache/azurite), strict (no --loose), on
           127.0.0.1:MILLRACE_AZURITE_PORT, account devstoreaccount1, whose
           well-known key is written to \$STATE/azurite/key; 'up' makes the
           container millrace-archive and a SAS for it (read, add, create,
           write, delete, list; ten years) in \$STATE/azurite/sas.

Options (each also read from the environment variable shown):
  --state-dir DIR          MILLRACE_STATE_DIR              (default: <repo>/.state/local)
  --kafka-port PORT        MILLRACE_KAFKA_PORT             (default: 9092)
  --controller-port PORT   MILLRACE_KAFKA_CONTROLLER_PORT  (default: 9093)
  --pg-port PORT           MILLRACE_PG_PORT                (default: 5432)
  --redis-port PORT        MILLRACE_REDIS_PORT             (default: 6379)
  --prometheus-port PORT   MILLRACE_PROMETHEUS_PORT        (default: 9090)
  --s3-port PORT           MILLRACE_S3_PORT                (default: 8333; weed also
                                                           takes PORT+1 to PORT+7)
  --azurite-port PORT      MILLRACE_AZURITE_PORT           (default: 10000)
  --topic NAME             MILLRACE_TOPIC                  (default: store-events)
  --dlq-topic NAME         MILLRACE_DLQ_TOPIC              (default: <topic>.dlq)
  --partitions N           MILLRACE_PARTITIONS             (default: 4)
  --brokers N              MILLRACE_KAFKA_BROKERS          (default: 1; 1 to 5)
  --secure                 also a SASL_SSL listener (TLS with the stack's own CA,
                           SCRAM-SHA-512 user "millrace" with a password made
                           for this state dir) on 9094; 'env' prints
                           MILLRACE_SECURE_BROKERS and MILLRACE_SECURE_KAFKA_PROPERTIES
  --secure-port PORT       MILLRACE_KAFKA_SECURE_PORT      (default: 0, none; --secure: 9094)
  --kafka-heap-opts OPTS   MILLRACE_KAFKA_HEAP_OPTS        (default: -Xms256m -Xmx512m,
                                                           per node of a cluster -Xms128m -Xmx384m)
  --kafka-gc-opts OPTS     MILLRACE_KAFKA_GC_OPTS          (default: $DEFAULT_KAFKA_GC_OPTS)
  -h, --help               Show this help.

Also read from the environment: MILLRACE_KAFKA_START_TIMEOUT (seconds to wait
for the broker, default 90), MILLRACE_PG_BINDIR (PostgreSQL server binaries;
default: the newest /usr/lib/postgresql/*/bin), MILLRACE_PG_STATEMENT_STATS
(on: PostgreSQL loads pg_stat_statements; default off), MILLRACE_REDIS_BIN
(default: /usr/bin/redis-server), MILLRACE_PROMETHEUS_BIN (default:
/usr/bin/prometheus), MILLRACE_PROMETHEUS_START_TIMEOUT (seconds, default
60), MILLRACE_WEED_BIN (default: <repo>/.cache/bin/weed),
MILLRACE_S3_START_TIMEOUT (seconds, default 90), MILLRACE_AZURITE_BIN
(default: <repo>/.cache/azurite/node_modules/.bin/azurite-blob),
MILLRACE_AZURITE_START_TIMEOUT (seconds, default 60), MILLRACE_STACK_PYTHON
(a Python with the Azure Storage SDK; default: <repo>/.cache/venv/bin/python),
JAVA_HOME, MILLRACE_STACK_CGROUP (a cgroup v2 directory: each server started
by 'up' runs in a cgroup of its own below it, named as in 'status'; default:
none).

'up' records ports and topics in \$STATE/stack.env; 'env', 'status' and
'down' use the recorded values, so they need no options. To change a port,
stop the server that uses it and run 'up' with the new value.

A cluster (--brokers N, N > 1): node i listens on the Kafka port + 2(i-1) and
its controller on the controller port + 2(i-1), so the defaults give brokers
on 9092, 9094, 9096 and controllers on 9093, 9095, 9097. Every node is a
voter of the KRaft quorum. Topics get replication factor min(N, 3) and, from
three nodes on, min.insync.replicas=2: with acks=all a write survives the loss
of any one node. The node count is fixed when the cluster is formatted; change
it with 'down --purge'.

State directory:
  stack.env          recorded settings
  kafka.properties   generated broker config (rewritten on every start)
  kafka.classpath    cached Maven classpath (deleted = resolved again)
  kafka.pid          broker pid
  kafka.log          broker stdout/stderr, i.e. its main log
  kafka-logs/        controller, state-change and log-cleaner logs; gc.log (the
                     JVM's collections and pauses, rotated)
  kafka-data/        broker data (log.dirs)
  kafka-N.*, kafka-logs-N/, kafka-data-N/
                     the same for node N > 1 of a cluster
  kafka.cluster-id   the KRaft cluster id every node is formatted with
  maven.log          output of the last classpath resolution
  pgdata/            PostgreSQL cluster (its pid is pgdata/postmaster.pid)
  pgrun/             PostgreSQL unix socket
  pg-passwords/      the services' roles' passwords, one file per role (made once)
  tls/               the stack's CA and server certificate (made once)
  kafka-sasl.password  up --secure: the SCRAM user's password (made once)
  postgres.log       PostgreSQL server log
  redis/             redis.conf (rewritten on every start) and Redis' working
                     directory (it saves nothing there)
  redis.pid          Redis pid
  redis.log          Redis server log
  prometheus/        prometheus.yml (copied from deploy/prometheus on every
                     start), rules/ (a link to deploy/prometheus/rules),
                     targets/ (file_sd target files; the defaults are copied
                     in when missing, edit or replace them freely), data/
  prometheus.pid     Prometheus pid
  prometheus.log     Prometheus output
  alertmanager/      alertmanager.yml (written by deploy/alertmanager/render.py
                     on every start) and data/, when MILLRACE_ALERT_EMAIL_TO
                     is set: Alertmanager runs beside Prometheus on
                     MILLRACE_ALERTMANAGER_PORT (default 9093)
  alertmanager.pid, alertmanager.log
  s3/                data/ (SeaweedFS' volumes, filer and master metadata) and
                     identities.json (weed's -s3.config, rewritten on every start)
  s3-keys/           the S3 identities' keys, <identity>.id and .secret (made once)
  s3.pid, s3.log     weed's pid and log
  azurite/           data/ (Azurite's blobs and metadata), key (the account's
                     key) and sas (the container's SAS, made once)
  azurite.pid, azurite.log
EOF
}
