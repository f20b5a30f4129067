#pragma once

// A BackfillSource without PostgreSQL: requests and chunks are scripted,
// what the backfill asks and records is kept.

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "millrace/changefeed/backfill.hpp"

namespace millrace::changefeed::testing {

// Relation 7, public.t (id int4 key, v text), replica identity default.
inline std::shared_ptr<Relation> table_t(char identity = 'd', bool key_flag = true) {
  auto r = std::make_shared<Relation>();
  r->oid = 7;
  r->schema = "public";
  r->name = "t";
  r->replica_identity = identity;
  r->columns = {Column{"id", 23, -1, false}, Column{"v", 25, -1, false}};
  r->columns[0].key = key_flag;
  return r;
}

inline Tuple row(const std::string& id, const std::string& v) {
  Tuple t(2);
  t[0].kind = Value::Kind::kText;
  t[0].data = id;
  t[1].kind = Value::Kind::kText;
  t[1].data = v;
  return t;
}

class FakeBackfillSource final : public BackfillSource {
 public:
  struct Recorded {
    std::int64_t id;
    BackfillState state;
    std::optional<BackfillProgress> progress;
    std::string error;
  };
  struct Read {
    std::int64_t id;
    std::optional<std::vector<std::string>> after;
    std::string mark;
  };

  std::vector<BackfillRequest> requests;
  std::map<std::int64_t, std::string> states;  // "pending" unless set
  std::shared_ptr<Relation> table = table_t();
  std::deque<Chunk> chunks;
  std::vector<Read> reads;
  std::vector<Recorded> records;
  bool cancel = false;
  std::string refuse;  // read_chunk refuses with this when set

  std::optional<BackfillRequest> next() override {
    for (const auto& r : requests) {
      const auto it = states.find(r.id);
      if (it == states.end() || it->second == "pending" || it->second == "running") return r;
    }
    return std::nullopt;
  }
  bool cancel_requested(std::int64_t) override { return cancel; }
  std::shared_ptr<const Relation> describe(const BackfillRequest&) override { return table; }
  Chunk read_chunk(const BackfillRequest& request, const Relation&, const std::vector<std::size_t>&,
                   const std::optional<std::vector<std::string>>& after,
                   const std::string& mark) override {
    if (!refuse.empty()) throw BackfillRefused(refuse);
    reads.push_back({request.id, after, mark});
    if (chunks.empty()) throw std::logic_error("the test scripted no more chunks");
    Chunk c = chunks.front();
    chunks.pop_front();
    return c;
  }
  void record(std::int64_t id, BackfillState state, const BackfillProgress* progress,
              const std::string& error) override {
    records.push_back(
        {id, state, progress != nullptr ? std::optional<BackfillProgress>(*progress) : std::nullopt,
         error});
    states[id] = to_string(state);
  }
};

}  // namespace millrace::changefeed::testing
