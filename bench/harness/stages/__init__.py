"""The stages, one module per kind, and the order a run takes them in.
"""

# Every stage, in the order a run takes them; --stages picks some.
STAGES = ("warmup", "produce", "end_to_end", "enrich", "orders", "growth", "scale", "latency", "http", "changefeed",
          "backfill", "webhooks", "cache_reads", "cache_invalidation", "archive")
# Stages a run takes only when --stages names them, in the order a run takes
# them (after STAGES): the archive to the stack's S3 store starts SeaweedFS
# beside the stack and installs the AWS CLI, its reference, with pip the
# first time; the websocket source's, likewise, installs its reference
# client's Python packages; the declared views' runs Flink SQL, whose jars
# Maven fetches the first time; the outbox's runs Debezium in Kafka Connect
# (tests/peers/connect/pom.xml's jars, likewise); the soak alone lasts
# --soak-minutes (20). archive_s3_rounds runs the archive to S3 and `aws s3
# cp` --repeats times, interleaved, near and behind --archive-rtt-ms round
# trips.
OPTIONAL_STAGES = ("archive_s3", "archive_s3_rounds", "websocket", "declared_views", "outbox", "soak")
# Those that read the generated data set (events.ndjson, rows.copy).
DATA_STAGES = {"warmup", "produce", "end_to_end", "enrich", "growth", "scale", "latency", "archive", "archive_s3",
               "archive_s3_rounds"}
