#include "millrace/changefeed/snapshot.hpp"

#include <catch2/catch.hpp>
#include <map>

#include "millrace/core/failure.hpp"

using namespace millrace::changefeed;

namespace {

Value text(std::string s) {
  return Value{Value::Kind::kText, std::move(s)};
}

std::shared_ptr<const Relation> table(Oid oid, std::string name, char identity,
                                      std::vector<Column> columns) {
  auto r = std::make_shared<Relation>();
  r->oid = oid;
  r->schema = "shop";
  r->name = std::move(name);
  r->replica_identity = identity;
  r->columns = std::move(columns);
  return r;
}

// items(id int primary key, name text): pgoutput flags id.
// notes(id int primary key, body text) with REPLICA IDENTITY FULL: every
// column flagged, so the key comes from the primary key lookup.
class FakeSource final : public SnapshotSource {
 public:
  std::map<Oid, std::vector<Tuple>> data;
  std::vector<std::shared_ptr<const Relation>> relations = {
      table(11, "items", 'd', {{"id", 23, -1, true}, {"name", 25, -1, false}}),
      table(12, "notes", 'f', {{"id", 23, -1, true}, {"body", 25, -1, true}})};
  Oid fail_at = 0;  // throw when reading this table

  FakeSource() {
    data[11] = {{text("1"), text("rake")}, {text("2"), Value{}}};
    data[12] = {{text("9"), text("hello")}};
  }
  Lsn consistent_point() const override { return 0x16B374D848; }
  std::int64_t taken_at_pg_us() const override { return 1'000'000; }
  std::vector<std::shared_ptr<const Relation>> tables() override { return relations; }
  void rows(const Relation& t, const std::function<void(Tuple&&)>& on_row) override {
    if (t.oid == fail_at) {
      throw millrace::core::InfraError(millrace::core::FailureClass::kRetryable, "server gone");
    }
    for (auto row : data[t.oid]) on_row(std::move(row));
  }
};

class FakeSink final : public SnapshotSink {
 public:
  std::vector<std::string> ids, keys, values;
  std::vector<Checkpoint> committed;
  int begun = 0, aborted = 0;

  void begin() override { ++begun; }
  void add(const Change& c) override {
    const auto id = change_id(c.source);
    ids.push_back(id);
    keys.push_back(kafka_key(c));
    values.push_back(to_json(c, id));
  }
  void commit(const Checkpoint& through) override { committed.push_back(through); }
  void abort() noexcept override { ++aborted; }
};

std::vector<std::string> primary_key_id(const Relation&) {
  return {"id"};
}

}  // namespace

TEST_CASE("snapshot rows are published as r changes, then committed with the stream's start") {
  FakeSource source;
  FakeSink sink;
  std::vector<std::string> progress;
  const auto result = publish_snapshot(
      source, sink, primary_key_id, [&](const Relation& t, std::uint64_t rows, bool done) {
        progress.push_back(t.name + ":" + std::to_string(rows) + (done ? " done" : ""));
      });
  CHECK(sink.begun == 1);
  CHECK(sink.aborted == 0);
  REQUIRE(sink.committed.size() == 1);
  // As if one transaction committed just before the consistent point: the
  // stream starts at the consistent point itself.
  CHECK(sink.committed[0].commit_lsn == 0x16B374D847);
  CHECK(sink.committed[0].end_lsn == 0x16B374D848);
  CHECK(result.checkpoint.commit_lsn == sink.committed[0].commit_lsn);
  CHECK(result.rows == 3);
  CHECK(result.tables == 2);
  CHECK(progress == std::vector<std::string>{"items:2 done", "notes:1 done"});

  // seq counts rows across the whole snapshot, so every id is distinct.
  CHECK(sink.ids == std::vector<std::string>{"00000016B374D847-00000000",
                                             "00000016B374D847-00000001",
                                             "00000016B374D847-00000002"});
  CHECK(sink.values[0] ==
        "{\"id\":\"00000016B374D847-00000000\",\"op\":\"r\",\"table\":\"shop.items\","
        "\"key\":{\"id\":1},\"before\":null,\"after\":{\"id\":1,\"name\":\"rake\"},"
        "\"source\":{\"lsn\":\"16/B374D847\",\"xid\":0,\"commit_time\":\"2000-01-01T00:00:01."
        "000000Z\",\"seq\":0}}");
  CHECK(sink.values[1].find("\"after\":{\"id\":2,\"name\":null}") != std::string::npos);
  // Keys as the stream gives them: pgoutput's flags, or under identity FULL
  // the primary key, so a row's snapshot record and its later changes share
  // a key and a partition.
  CHECK(sink.keys[0] == "{\"table\":\"shop.items\",\"key\":{\"id\":1}}");
  CHECK(sink.keys[2] == "{\"table\":\"shop.notes\",\"key\":{\"id\":9}}");
}

TEST_CASE("a snapshot that fails part way is aborted and never committed") {
  FakeSource source;
  source.fail_at = 12;
  FakeSink sink;
  CHECK_THROWS_WITH(publish_snapshot(source, sink, primary_key_id), "server gone");
  CHECK(sink.aborted == 1);
  CHECK(sink.committed.empty());
  CHECK(sink.ids.size() == 2);  // written into the transaction the abort drops
}

TEST_CASE("a snapshot row whose width is not its table's is refused, and nothing committed") {
  FakeSource source;
  source.data[11].push_back({text("3")});
  FakeSink sink;
  CHECK_THROWS_AS(publish_snapshot(source, sink, primary_key_id), DecodeError);
  CHECK(sink.aborted == 1);
  CHECK(sink.committed.empty());
}

TEST_CASE("snapshot ids sort before, and never collide with, the ids of what the slot streams") {
  const Lsn consistent = 0x16B374D848;
  const Checkpoint c = snapshot_checkpoint(consistent);
  // A transaction the slot streams may commit exactly at the consistent
  // point (feed_test checks the feed does not skip it): its ids must not be
  // the snapshot's.
  CHECK(c.commit_lsn < consistent);
  CHECK(c.end_lsn == consistent);
  Source snapshot_row{c.commit_lsn, 0, 0, 0, 0};
  Source first_streamed{consistent, 700, 0, 0, 0};
  CHECK(change_id(snapshot_row) != change_id(first_streamed));
  CHECK(change_id(snapshot_row) < change_id(first_streamed));
}

TEST_CASE("a snapshot with no consistent point is refused before anything is written") {
  class NoPoint final : public SnapshotSource {
   public:
    Lsn consistent_point() const override { return 0; }
    std::int64_t taken_at_pg_us() const override { return 0; }
    std::vector<std::shared_ptr<const Relation>> tables() override { return {}; }
    void rows(const Relation&, const std::function<void(Tuple&&)>&) override {}
  } source;
  FakeSink sink;
  CHECK_THROWS_AS(publish_snapshot(source, sink, primary_key_id), DecodeError);
  CHECK(sink.begun == 0);
}
