// Bytes PostgreSQL's text cannot hold, from both sides of millrace-webhooks:
// records on the change topic that are not UTF-8 text, and a receiver
// answering failures with a body in another encoding. Each is a clear error,
// kept, and the service goes on.

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include "changes.hpp"
#include "harness.hpp"
#include "millrace/kafka/producer.hpp"
#include "millrace/webhooks/signature.hpp"
#include "pipeline.hpp"
#include "receiver.hpp"
#include "webhooks.hpp"

using namespace millrace;
using namespace millrace::testing;
using std::chrono::seconds;

namespace {

// What a bytea's text is: \x and the bytes in hex.
std::string hex_of(const std::string& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out = "\\x";
  for (const unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

}  // namespace

TEST_CASE(
    "records that are not UTF-8 text are set aside whole; an answer in another encoding "
    "is recorded",
    "[webhooks-encoding]") {
  Pipeline p("it_whe");
  migrate_with_table(p, "items (id int PRIMARY KEY, name text)");
  ChangeFeedRig rig(p, {"items"});
  auto feed = rig.start("changefeed");
  rig.wait_streaming();

  // Two records the feed never writes, before its changes: a change in all
  // but its encoding (Latin-1), and bytes that are no text at all.
  const std::string latin1 =
      R"({"id":"0000000000000001-00000000","op":"c","table":"public.items","key":{"id":0},)"
      "\"before\":null,\"after\":{\"id\":0,\"name\":\"caf\xe9\"},"
      R"("source":{"lsn":"0/1","xid":1,"commit_time":"2026-12-02T00:00:00Z","seq":0}})";
  const std::string binary("\xff\xfe\x00\x01garbage", 11);
  {
    kafka::ProducerConfig pc;
    pc.brokers = p.env.brokers;
    kafka::Producer producer(pc);
    producer.produce(rig.topic, 0, "k1", latin1, {});
    producer.produce(rig.topic, 0, "k2", binary, {});
    REQUIRE(producer.flush(seconds(30)) == 0);
  }

  // Its failures' answers: 251 bytes of ASCII, then two characters of three
  // bytes each, so the 256 bytes kept end inside the second; and Latin-1.
  Receiver rx;
  const auto secret = webhooks::new_secret();
  rx.set_secrets("/refusing", {secret});
  rx.set_secrets("/ok", {secret});
  const auto refusing = add_endpoint(p, rx.url("/refusing"), secret);
  add_endpoint(p, rx.url("/ok"), secret);
  rx.script("/refusing", [](const Received&, int repeats) {
    return Answer{500, std::nullopt,
                  repeats == 0 ? std::string(251, 'x') + "\xe6\x97\xa5\xe6\x9c\xac"
                               : std::string("erreur: caf\xe9 froid")};
  });
  // Two attempts, then the delivery has failed and keeps its last error.
  auto hooks = start_webhooks(p, rig, "webhooks", "200ms");

  insert_items(p, 1, 4, "'n'");
  REQUIRE(eventually([&] { return rx.accepted_ids("/ok").size() == 3; }, seconds(120)));
  const auto id = std::to_string(refusing);
  REQUIRE(eventually(
      [&] {
        return sql_count(p, "SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = " + id +
                                " AND status = 'failed'") == 3;
      },
      seconds(120)));
  CHECK(hooks.running());

  {  // each failure was recorded once, its answer's text made storable
    CHECK(rx.requests("/refusing").size() == 6);
    CHECK(sql_count(p, "SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = " + id +
                           " AND attempts = 2 AND last_status = 500 AND last_error LIKE "
                           "'HTTP 500: erreur: caf' || U&'\\FFFD' || ' froid (attempt 2,%'") == 3);
  }
  {  // both records set aside as not changes, whole: their bytes in hex
    const std::string topic = pqxx::connection(p.env.pg).quote(rig.topic);
    CHECK(sql_count(p, "SELECT count(*) FROM refused_records WHERE topic = " + topic) == 2);
    CHECK(sql_count(p, "SELECT count(*) FROM refused_records WHERE topic = " + topic +
                           " AND db_message LIKE 'not a change: not UTF-8 text%kept as its bytes "
                           "in hex)'") == 2);
    for (const auto& payload : {latin1, binary}) {
      CHECK(sql_count(p, "SELECT count(*) FROM refused_records WHERE topic = " + topic +
                             " AND payload = '" + hex_of(payload) + "'") == 1);
    }
    CHECK(sql_text(p,
                   "SELECT convert_from(decode(substr(payload, 3), 'hex'), 'LATIN1') FROM "
                   "refused_records WHERE topic = " +
                       topic + " AND payload LIKE '%22636166e9%'")
              .find("\"name\":\"caf\xc3\xa9\"") != std::string::npos);
  }
  CHECK(stop_cleanly({&hooks, &feed}));
}
