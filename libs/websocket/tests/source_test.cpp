#include "millrace/websocket/source.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <deque>
#include <future>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "millrace/core/failure.hpp"
#include "millrace/kinds/registry.hpp"
#include "millrace/metrics/metrics.hpp"
#include "millrace/runtime/worker.hpp"
#include "source_metrics.hpp"

using namespace millrace;
using namespace millrace::websocket;
using namespace std::chrono_literals;
using Frame = httpd::WebSocketFrame;

namespace {

// A connection that plays a script: each connect takes the next session;
// a session is frames then a loss (or, when it is the last, the run ends
// by time while it waits). A session may refuse to connect.
struct Session {
  bool refuse = false;
  std::vector<Frame> frames;
  std::string loss = "the connection was reset";
  bool quiet = false;  // after its frames, silence rather than a loss
};

class ScriptedConnection final : public Connection {
 public:
  explicit ScriptedConnection(std::deque<Session> sessions) : sessions_(std::move(sessions)) {}

  void connect() override {
    if (sessions_.empty()) {
      // Nothing more to say: the run ends by its time.
      std::this_thread::sleep_for(50ms);
      throw core::InfraError(core::FailureClass::kRetryable, "no server");
    }
    current_ = std::move(sessions_.front());
    sessions_.pop_front();
    ++connects;
    if (current_.refuse) throw core::InfraError(core::FailureClass::kRetryable, "refused");
    ended_.clear();
  }
  void send_text(std::string_view message) override { sent.emplace_back(message); }
  httpd::WebSocketClient::Read read(Frame& frame,
                                    std::chrono::steady_clock::time_point deadline) override {
    if (current_.frames.empty()) {
      if (current_.quiet) {
        // A feed with nothing to say: the read waits until its deadline.
        std::this_thread::sleep_until(deadline);
        return httpd::WebSocketClient::Read::kTimeout;
      }
      ended_ = current_.loss;
      return httpd::WebSocketClient::Read::kEnded;
    }
    frame = std::move(current_.frames.front());
    current_.frames.erase(current_.frames.begin());
    return httpd::WebSocketClient::Read::kFrame;
  }
  const std::string& ended() const override { return ended_; }
  void close() override { ++closes; }

  std::vector<std::string> sent;
  int connects = 0;
  int closes = 0;

 private:
  std::deque<Session> sessions_;
  Session current_;
  std::string ended_;
};

// Kafka as a list: acknowledges everything at flush, but records whose key
// is "FAIL", which it gives up on.
class MemoryOutput final : public Output {
 public:
  void record(const std::string& key, const std::string& payload, Ticket* ticket) override {
    records.push_back({key, payload});
    pending_.push_back({ticket, key != "FAIL"});
  }
  void letter(std::string_view frame,
              const std::vector<std::pair<std::string, std::string>>& headers,
              Ticket* ticket) override {
    std::map<std::string, std::string> h(headers.begin(), headers.end());
    letters.push_back({std::string(frame), h});
    pending_.push_back({ticket, true});
  }
  void flush() override {
    for (auto& [t, ok] : pending_) t->answer(ok);
    pending_.clear();
  }

  std::vector<std::pair<std::string, std::string>> records;
  std::vector<std::pair<std::string, std::map<std::string, std::string>>> letters;

 private:
  std::vector<std::pair<Ticket*, bool>> pending_;
};

class MemoryStore final : public RunStore {
 public:
  void end_open_runs(const std::string& source) override { ended_for.push_back(source); }
  void write(const RunState& run) override {
    if (fail_next > 0) {
      --fail_next;
      throw core::InfraError(core::FailureClass::kRetryable, "postgresql away");
    }
    rows[run.run_id] = run;
    ++writes;
  }
  std::map<std::string, RunState> rows;
  std::vector<std::string> ended_for;
  int writes = 0;
  int fail_next = 0;
};

Frame text(std::string s) {
  Frame f;
  f.type = Frame::Type::kText;
  f.size = s.size();
  f.data = std::move(s);
  return f;
}

const kinds::LoadedFeed& finnhub() {
  static const auto f = kinds::load_feed("finnhub", "");
  return f;
}

struct Fixture {
  ScriptedConnection connection;
  MemoryOutput output;
  MemoryStore store;
  runtime::Worker worker{{.component = "test", .retry = {.first_ms = 1, .max_ms = 5}}};
  Source source;

  Fixture(std::deque<Session> sessions, std::chrono::seconds run_for = 1s)
      : connection(std::move(sessions)),
        source(SourceOptions{.source = "test",
                             .url = "ws://feed:80/",
                             .topic = "market-trades",
                             .run_for = run_for,
                             .every = 0s,
                             .status_interval = 0ms,
                             .max_frame_bytes = 100,
                             .symbols = {"AAPL", "MSFT"}},
               finnhub().feed, finnhub().kind, connection, output, store, worker) {}
};

const std::string kTrade =
    R"({"type":"trade","data":[{"s":"AAPL","p":190.5,"t":1575526691134,"v":3},)"
    R"({"s":"MSFT","p":"410.25","t":1575526691135,"v":1}]})";

}  // namespace

TEST_CASE("a run accounts for every frame: produced, refused, control", "[source]") {
  Frame binary = text("\x01\x02");
  binary.type = Frame::Type::kBinary;
  Frame large = text(std::string(100, 'x'));
  large.type = Frame::Type::kTooLarge;
  large.size = 5000;
  Fixture f({Session{.refuse = false,
                     .frames = {text(kTrade), text(R"({"type":"ping"})"), text("not json"), binary,
                                large, text(kTrade)},
                     .loss = "reset"}});
  f.source.run();
  const auto& run = f.source.last_run();
  CHECK(run.received == 6);
  CHECK(run.produced == 2);
  CHECK(run.records == 4);
  CHECK(run.control == 1);
  CHECK(run.refused == 3);
  CHECK(run.lost == 0);
  CHECK(run.received == run.produced + run.refused + run.control + run.lost);
  CHECK(run.end_reason == "finished");
  REQUIRE(f.output.records.size() == 4);
  CHECK(f.output.records[0].first == "AAPL");
  // Subscribed to each symbol, with the feed file's message.
  REQUIRE(f.connection.sent.size() >= 2);
  CHECK(f.connection.sent[0] == R"({"type":"subscribe","symbol":"AAPL"})");
  CHECK(f.connection.sent[1] == R"({"type":"subscribe","symbol":"MSFT"})");
  // The letters say why and where each frame came from.
  REQUIRE(f.output.letters.size() == 3);
  CHECK(f.output.letters[0].second.at("millrace.reason") == "invalid_json");
  CHECK(f.output.letters[1].second.at("millrace.reason") == "binary_frame");
  CHECK(f.output.letters[2].second.at("millrace.reason") == "frame_too_large");
  CHECK(f.output.letters[2].second.at("millrace.original_size") == "5000");
  CHECK(f.output.letters[0].second.at("millrace.source.run") == run.run_id);
  CHECK(f.output.letters[0].second.at("millrace.source.frame") == "3");
  // The row as written last is the run's end.
  REQUIRE(f.store.rows.count(run.run_id) == 1);
  CHECK(f.store.rows[run.run_id].received == 6);
  CHECK(f.store.rows[run.run_id].ended_us.has_value());
}

TEST_CASE("the frame-to-acknowledgement histogram observes each frame produced once", "[source]") {
  const std::string failing =
      R"({"type":"trade","data":[{"s":"AAPL","p":1,"t":1,"v":1},{"s":"FAIL","p":1,"t":1,"v":1}]})";
  metrics::Registry registry("millrace-websocket");
  SourceMetrics m(registry);
  ScriptedConnection connection({Session{.refuse = false,
                                         .frames = {text(kTrade), text(failing), text("not json"),
                                                    text(R"({"type":"ping"})"), text(kTrade)},
                                         .loss = "reset"}});
  MemoryOutput output;
  MemoryStore store;
  runtime::Worker worker{{.component = "test", .retry = {.first_ms = 1, .max_ms = 5}}};
  Source source(SourceOptions{.source = "test",
                              .url = "ws://feed:80/",
                              .topic = "market-trades",
                              .run_for = 1s,
                              .symbols = {"AAPL"}},
                finnhub().feed, finnhub().kind, connection, output, store, worker, &m);
  source.run();
  CHECK(source.last_run().produced == 2);
  // Two records each, one observation each: not the lost frame, the letter
  // or the control frame.
  const std::string text = registry.scrape();
  CHECK(text.find("millrace_websocket_frame_ack_seconds_count 2\n") != std::string::npos);
}

TEST_CASE("records Kafka gives up on count their frame lost, never produced", "[source]") {
  const std::string failing =
      R"({"type":"trade","data":[{"s":"AAPL","p":1,"t":1,"v":1},{"s":"FAIL","p":1,"t":1,"v":1}]})";
  Fixture f({Session{.refuse = false, .frames = {text(failing), text(kTrade)}, .loss = "reset"}});
  f.source.run();
  const auto& run = f.source.last_run();
  CHECK(run.lost == 1);
  CHECK(run.produced == 1);
  CHECK(run.records == 2);
  CHECK(run.received == run.produced + run.refused + run.control + run.lost);
}

TEST_CASE("each disconnection is a gap with its reason, and the source reconnects", "[source]") {
  Fixture f(
      {Session{
           .refuse = false, .frames = {text(kTrade)}, .loss = "closed by the server (code 1001)"},
       Session{.refuse = true, .frames = {}, .loss = ""},
       Session{.refuse = true, .frames = {}, .loss = ""},
       Session{.refuse = false, .frames = {text(kTrade)}, .loss = "the connection was reset"},
       Session{.refuse = false, .frames = {text(kTrade)}, .loss = "reset"}});
  f.source.run();
  const auto& run = f.source.last_run();
  CHECK(run.received == 3);
  CHECK(run.produced == 3);
  CHECK(run.reconnections == 2);
  REQUIRE(run.gaps.size() >= 2);
  CHECK(run.gaps[0].reason == "closed by the server (code 1001)");
  CHECK(run.gaps[0].ended_us.has_value());
  CHECK(run.gaps[1].reason == "the connection was reset");
  // Every connect subscribes again.
  CHECK(std::count(f.connection.sent.begin(), f.connection.sent.end(),
                   R"({"type":"subscribe","symbol":"AAPL"})") == 3);
}

TEST_CASE("a first connect that fails opens a gap from the run's start", "[source]") {
  Fixture f({Session{.refuse = true, .frames = {}, .loss = ""},
             Session{.refuse = false, .frames = {text(kTrade)}, .loss = "reset"}});
  f.source.run();
  const auto& run = f.source.last_run();
  REQUIRE(!run.gaps.empty());
  CHECK_THAT(run.gaps[0].reason, Catch::Matchers::Contains("could not connect: refused"));
  CHECK(run.gaps[0].ended_us.has_value());
  CHECK(run.reconnections == 0);
}

TEST_CASE("PostgreSQL away does not stop the reading, and the row catches up", "[source]") {
  Fixture f({Session{.refuse = false, .frames = {text(kTrade), text(kTrade)}, .loss = "reset"}});
  f.store.fail_next = 2;
  f.source.run();
  const auto& run = f.source.last_run();
  CHECK(run.produced == 2);
  CHECK(f.store.rows.at(run.run_id).produced == 2);
}

TEST_CASE("new symbols take effect at a frame boundary", "[source]") {
  Fixture f({Session{.refuse = false, .frames = {text(kTrade), text(kTrade)}, .loss = "reset"}});
  f.source.set_symbols({"MSFT", "TSLA"});
  f.source.run();
  // Taken at the run's start: subscribed to the new list only.
  CHECK(f.connection.sent.front() == R"({"type":"subscribe","symbol":"MSFT"})");
  CHECK(std::count(f.connection.sent.begin(), f.connection.sent.end(),
                   R"({"type":"subscribe","symbol":"AAPL"})") == 0);
}

TEST_CASE("recover ends the runs a crash left open", "[source]") {
  Fixture f({});
  f.source.recover();
  CHECK(f.store.ended_for == std::vector<std::string>{"test"});
}

TEST_CASE("a run with fewer records than the ratio of the previous run's is short", "[source]") {
  // Two runs: six trades' frames, then one.
  Fixture f({Session{
      .refuse = false, .frames = {text(kTrade), text(kTrade), text(kTrade)}, .loss = "reset"}});
  CHECK_FALSE(f.source.last_ended().has_value());
  f.source.run();
  auto e = f.source.last_ended();
  REQUIRE(e.has_value());
  CHECK(e->records == 6);
  CHECK_FALSE(e->previous_records.has_value());
  CHECK_FALSE(e->short_run);
  // The next run hears nothing: 0 < 0.5 x 6.
  f.source.run();
  e = f.source.last_ended();
  REQUIRE(e.has_value());
  CHECK(e->records == 0);
  CHECK(e->previous_records == std::optional<std::uint64_t>(6));
  CHECK(e->short_run);
  CHECK(e->run_id == f.source.last_run().run_id);
}

TEST_CASE("a quiet feed does not hold a run past its end", "[source]") {
  Fixture f({Session{.refuse = false, .frames = {text(kTrade)}, .loss = "", .quiet = true}});
  // The run ends after its second, not when the feed speaks again (never,
  // here): a run that hangs fails this, bounded, rather than the binary's
  // timeout.
  auto run = std::async(std::launch::async, [&] { f.source.run(); });
  REQUIRE(run.wait_for(60s) == std::future_status::ready);
  CHECK(f.source.last_run().end_reason == "finished");
  CHECK(f.source.last_run().received == 1);
  CHECK(f.source.last_run().gaps.empty());
}
