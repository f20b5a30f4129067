#!/usr/bin/env python3
"""Kafka's side of nemesis seed 12's repeated changes, replayed against the
stack's broker with a client that is not librdkafka (PyPI `kafka-python`).

Two producers of one transactional.id: the first ("old") is fenced by the
second ("live"), which keeps its producer id with a higher epoch. While the
live producer's transaction holds a pending offset commit, an offset commit
in the old producer's epoch arrives, as a given-up producer's late request
did in seed 12. Kafka refuses it (INVALID_PRODUCER_EPOCH). The live
transaction then commits.

Kafka 3.9.1's group coordinator keeps a transaction's pending offsets per
producer id: the refused commit replaces the live one's pending offset
(GroupMetadata.prepareTxnOffsetCommit) and its refusal removes it
(failPendingTxnOffsetCommit), so the live transaction commits its records
without its offset. That is why kafka::TransactionalProducer cuts a given-up
producer off from every broker (libs/kafka/src/transactional.cpp,
SocketFence; unit.kafka's [zombie] test checks that it sends nothing more).

Checks, each run on a group and transactional.id of its own:
- without the late commit, the live transaction's record and offset are
  committed;
- with it, the refusal is INVALID_PRODUCER_EPOCH, and the live transaction's
  record is committed and its offset lost, as above. Should a broker keep it, this exits 1 and says so: the
  fence is then no longer needed, and the docs that explain it are stale.

  zombie_offsets.py BOOTSTRAP TOPIC
"""
import faulthandler
import sys
import time
import uuid

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.client_async import KafkaClient
from kafka.protocol.find_coordinator import FindCoordinatorRequest_v1
from kafka.protocol.txn_offset_commit import TxnOffsetCommitRequest_v0
from kafka.structs import OffsetAndMetadata, TopicPartition

INVALID_PRODUCER_EPOCH = 47
TIMEOUT_MS = 30000
# kafka-python waits for a transaction's steps without a bound: past this,
# every thread's stack goes to stderr and the test fails (ctest's own
# timeout is 300 s).
RUN_LIMIT_S = 240


def producer_id_and_epoch(producer):
    # kafka-python keeps them in its transaction manager; no public getter.
    return producer._transaction_manager.producer_id_and_epoch


def request(client, node, req):
    while not client.ready(node):
        client.poll(timeout_ms=100)
    future = client.send(node, req)
    client.poll(future=future, timeout_ms=TIMEOUT_MS)
    if not future.is_done:
        sys.exit(f"zombie_offsets: no answer to {type(req).__name__} in {TIMEOUT_MS} ms")
    if future.failed():
        raise future.exception
    return future.value


def group_coordinator(client, group):
    node = client.least_loaded_node()
    answer = request(client, node, FindCoordinatorRequest_v1(coordinator_key=group, coordinator_type=0))
    if answer.error_code != 0:
        sys.exit(f"zombie_offsets: FindCoordinator for {group}: error {answer.error_code}")
    return answer.coordinator_id


def wait_for_group_coordinator(bootstrap, group):
    """Until the group's coordinator answers for it. On a new broker the
    first group's FindCoordinator creates __consumer_offsets, and its
    partitions answer NOT_COORDINATOR while they load; kafka-python 2.2.15
    fails to handle that answer to a TxnOffsetCommit (AttributeError in its
    sender thread, transaction_manager.py: `errors.CoordinatorNotAvailableError`)
    and send_offsets_to_transaction() then waits forever."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        for _ in range(120):
            try:
                admin.list_consumer_group_offsets(group)
                return
            except Exception as e:  # kafka.errors' retriable coordinator errors
                last = e
                time.sleep(0.5)
        sys.exit(f"zombie_offsets: the coordinator of group {group} did not answer in 60 s: {last!r}")
    finally:
        admin.close()


def run(bootstrap, topic, late_commit):
    """The live transaction's committed offset of `topic`[0] for its group,
    and the error code the late commit got (None without one)."""
    run_id = uuid.uuid4().hex[:12]
    tid, group = f"zombie-offsets-{run_id}", f"zombie-offsets-{run_id}"
    tp = TopicPartition(topic, 0)
    wait_for_group_coordinator(bootstrap, group)
    old = KafkaProducer(bootstrap_servers=bootstrap, transactional_id=tid)
    old.init_transactions()
    zombie = producer_id_and_epoch(old)
    live = KafkaProducer(bootstrap_servers=bootstrap, transactional_id=tid)
    live.init_transactions()
    fresh = producer_id_and_epoch(live)
    if (fresh.producer_id, fresh.epoch) != (zombie.producer_id, zombie.epoch + 1):
        sys.exit(f"zombie_offsets: the second producer of {tid} got {fresh}, not the first's id "
                 f"({zombie}) with the next epoch: the replay assumes it")
    live.begin_transaction()
    sent = live.send(topic, key=run_id.encode(), value=b"live", partition=0).get(timeout=30)
    live.send_offsets_to_transaction({tp: OffsetAndMetadata(10, "live", -1)}, group)
    refused = None
    if late_commit:
        client = KafkaClient(bootstrap_servers=bootstrap)
        answer = request(client, group_coordinator(client, group), TxnOffsetCommitRequest_v0(
            transactional_id=tid, group_id=group, producer_id=zombie.producer_id,
            producer_epoch=zombie.epoch, topics=[(topic, [(0, 5, "zombie")])]))
        refused = answer.topics[0][1][0][1]
        client.close()
    live.commit_transaction()
    # The commit's markers are written after commit_transaction() returns;
    # the group holds the offset once its marker is. A next transaction's
    # offsets are accepted only when every marker of the one before is
    # written (the coordinator answers CONCURRENT_TRANSACTIONS until then,
    # and the client retries): a barrier, aborted.
    live.begin_transaction()
    live.send_offsets_to_transaction({TopicPartition(topic, 1): OffsetAndMetadata(1, "", -1)}, group)
    live.abort_transaction()
    live.close()
    old.close()
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    committed = admin.list_consumer_group_offsets(group).get(tp)
    admin.close()
    if not visible(bootstrap, tp, sent.offset, run_id.encode()):
        sys.exit(f"zombie_offsets: FAILED: the live transaction's record ({tp}, offset "
                 f"{sent.offset}) is not visible to a read_committed consumer")
    return committed, refused


def visible(bootstrap, tp, offset, key):
    """Whether a read_committed consumer reads the record with `key` at
    `offset` of `tp`."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, isolation_level="read_committed",
                             enable_auto_commit=False, consumer_timeout_ms=TIMEOUT_MS)
    consumer.assign([tp])
    consumer.seek(tp, offset)
    try:
        for record in consumer:
            return record.offset == offset and record.key == key
        return False
    finally:
        consumer.close()


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.rsplit("\n\n", 1)[-1])
    bootstrap, topic = sys.argv[1:]
    faulthandler.dump_traceback_later(RUN_LIMIT_S, exit=True)
    committed, _ = run(bootstrap, topic, late_commit=False)
    if committed is None or (committed.offset, committed.metadata) != (10, "live"):
        sys.exit(f"zombie_offsets: FAILED: without a late commit the live transaction committed "
                 f"{committed}, not offset 10 \"live\"")
    print("without a late commit: the live transaction's record and offset (10 \"live\") are "
          "committed")
    committed, refused = run(bootstrap, topic, late_commit=True)
    if refused != INVALID_PRODUCER_EPOCH:
        sys.exit(f"zombie_offsets: FAILED: the late commit in the old epoch got error {refused}, "
                 f"not INVALID_PRODUCER_EPOCH ({INVALID_PRODUCER_EPOCH})")
    if committed is not None and committed.offset == 10:
        sys.exit("zombie_offsets: FAILED: the broker kept the live transaction's offset despite a "
                 "refused late commit in the old epoch: it no longer loses it, and "
                 "libs/kafka/src/transactional.cpp's SocketFence and docs/nemesis.md explain a "
                 "hazard this broker does not have")
    print("with a late commit in the old epoch, refused (INVALID_PRODUCER_EPOCH): the live "
          f"transaction's record is committed, its offset is not (the group holds {committed})")


if __name__ == "__main__":
    main()
