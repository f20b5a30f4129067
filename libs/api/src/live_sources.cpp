#include "live_sources.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>

#include "millrace/core/failure.hpp"
#include "millrace/pg/xid_snapshot.hpp"
#include "render.hpp"
#include "views.hpp"

namespace millrace::api {

namespace {

using std::chrono::milliseconds;
constexpr milliseconds kKafkaTimeout{5000};
// Required by librdkafka; nothing is joined or committed under it.
constexpr const char* kGroup = "millrace-api";

// "schema.name" of a change's key ({"table":"schema.name","key":{...}}).
std::optional<std::string> table_of(std::string_view key) {
  rapidjson::Document d;
  d.Parse(key.data(), key.size());
  if (d.HasParseError() || !d.IsObject()) return std::nullopt;
  const rapidjson::Value& root = d;  // const: clang 14 finds == ambiguous otherwise
  const auto it = root.FindMember("table");
  if (it == root.MemberEnd() || !it->value.IsString()) return std::nullopt;
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

// The transaction id of a change's value (its "source": {"xid": ...}); 0
// when it has none.
std::uint32_t xid_of(std::string_view value) {
  rapidjson::Document d;
  d.Parse(value.data(), value.size());
  if (d.HasParseError() || !d.IsObject()) return 0;
  const rapidjson::Value& root = d;  // const: clang 14 finds == ambiguous otherwise
  const auto source = root.FindMember("source");
  if (source == root.MemberEnd() || !source->value.IsObject()) return 0;
  const auto xid = source->value.FindMember("xid");
  if (xid == source->value.MemberEnd() || !xid->value.IsUint()) return 0;
  return xid->value.GetUint();
}

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void key(Writer& w, std::string_view k) {
  w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
}
void text(Writer& w, std::string_view v) {
  w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
}
// A number as PostgreSQL printed it, or null.
void number(Writer& w, const pqxx::field& f) {
  if (f.is_null()) {
    w.Null();
    return;
  }
  const std::string_view v = f.c_str();
  w.RawValue(v.data(), v.size(), rapidjson::kNumberType);
}
void optional_int(Writer& w, std::optional<std::int64_t> v) {
  if (v) {
    w.Int64(*v);
  } else {
    w.Null();
  }
}

}  // namespace

KafkaChanges::KafkaChanges(const kafka::KafkaClientOptions& kafka)
    : options_(kafka),
      consumer_(
          std::make_unique<kafka::Consumer>(kafka::follower_config(options_, kGroup), nullptr)) {}

std::vector<FeedChange> KafkaChanges::poll(milliseconds timeout) {
  if (!assigned_) {
    const auto n = consumer_->partition_count(options_.topic, kKafkaTimeout);
    consumer_->assign(consumer_->end_offsets(options_.topic, n, kKafkaTimeout));
    assigned_ = true;
  }
  std::vector<FeedChange> changes;
  // What is already fetched, without waiting; then wait for more once.
  auto message = consumer_->poll(timeout);
  while (message) {
    if (const auto k = message->key()) {
      if (auto t = table_of(*k)) {
        const auto v = message->value();
        changes.push_back({std::move(*t), v ? xid_of(*v) : 0});
      }
    }
    message = consumer_->poll(milliseconds(0));
    if (changes.size() >= 10'000) break;
  }
  return changes;
}

PgLiveSource::PgLiveSource(std::unique_ptr<Session> reader, const kafka::KafkaClientOptions& kafka,
                           std::vector<std::string> dead_letter_topics,
                           std::shared_ptr<const ServedViews> views)
    : backend_(std::move(reader), nullptr),
      kafka_options_(kafka),
      dead_letter_topics_(std::move(dead_letter_topics)),
      views_(std::move(views)) {}

kafka::Consumer& PgLiveSource::kafka() {
  if (!kafka_) {
    kafka_ =
        std::make_unique<kafka::Consumer>(kafka::follower_config(kafka_options_, kGroup), nullptr);
  }
  return *kafka_;
}

bool PgLiveSource::visible(const std::vector<std::uint32_t>& xids) {
  const auto text =
      backend_.reader().with("checking the changes' transactions show", [&](pqxx::connection& c) {
        pqxx::nontransaction tx(c);
        return tx.exec1("SELECT pg_current_snapshot()::text")[0].as<std::string>();
      });
  // The feed publishes committed transactions only: one the snapshot saw is
  // in what a read begun after it returns.
  const auto snapshot = pg::XidSnapshot::parse(text);
  return std::all_of(xids.begin(), xids.end(),
                     [&](std::uint32_t xid) { return snapshot.saw(xid); });
}

LiveViews PgLiveSource::views(const std::vector<std::uint32_t>& xids) {
  // Asked before the reads: a transaction visible then is visible to them.
  const bool behind = !xids.empty() && !visible(xids);
  const std::int64_t now = now_us();
  const std::int64_t hour = now - now % kHourUs;
  const std::int64_t day = now - now % kDayUs;
  LiveViews out;
  out.behind = behind;
  for (const auto& w : views_->dashboard) {
    const View* view = views_->find(w.name);
    if (view == nullptr) throw std::logic_error("no view " + w.name);
    std::optional<std::int64_t> from;
    if (w.back_us) from = (w.by_day ? day : hour) - *w.back_us;
    ViewQuery q{view, w.limit, from, std::nullopt, std::nullopt, {}};
    const Rows rows = backend_.read(q);
    if (rows.fill) out.filling = true;
    out.bodies.emplace(w.name, rows_json(*view, rows, w.limit));
  }
  return out;
}

std::string PgLiveSource::health(const std::string& feed_error) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  key(w, "at");
  text(w, utc_now());

  // Every partition of every group, with its last commit; the topics' ends
  // come from Kafka below.
  struct Partition {
    std::string group, topic;
    std::int32_t partition = 0;
    std::optional<std::int64_t> next;
    std::optional<std::string> last_commit_at;
    std::optional<std::string> idle_s;  // as PostgreSQL printed it
  };
  std::vector<Partition> partitions;
  std::string groups_json;
  std::string webhooks_json;
  const auto optional_text = [](const pqxx::field& f) {
    return f.is_null() ? std::nullopt : std::optional<std::string>(f.c_str());
  };
  backend_.reader().with("reading the pipeline's health", [&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    for (const auto& r :
         tx.exec("SELECT a.group_id, a.topic, a.partition, a.next_offset, "
                 "to_char(o.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
                 "extract(epoch FROM clock_timestamp() - o.updated_at)::numeric(20,3) "
                 "FROM partition_accounting a LEFT JOIN consumer_offsets o "
                 "USING (group_id, topic, partition) ORDER BY 1, 2, 3")) {
      partitions.push_back(
          {r[0].c_str(), r[1].c_str(), r[2].as<std::int32_t>(),
           r[3].is_null() ? std::nullopt : std::optional<std::int64_t>(r[3].as<std::int64_t>()),
           optional_text(r[4]), optional_text(r[5])});
    }

    const auto groups = tx.exec(
        "SELECT group_id, topic, sum(consumed), sum(persisted), sum(filtered), sum(rejected), "
        "sum(duplicate), sum(late), sum(lost), sum(unaccounted), sum(expired) FROM "
        "partition_accounting "
        "GROUP BY 1, 2 ORDER BY 1, 2");
    rapidjson::StringBuffer gb;
    Writer g(gb);
    g.StartArray();
    for (const auto& r : groups) {
      g.StartObject();
      key(g, "group");
      text(g, r[0].c_str());
      key(g, "topic");
      text(g, r[1].c_str());
      static constexpr std::string_view kCounts[] = {"consumed", "persisted",   "filtered",
                                                     "rejected", "duplicate",   "late",
                                                     "lost",     "unaccounted", "expired"};
      for (std::size_t i = 0; i < std::size(kCounts); ++i) {
        key(g, kCounts[i]);
        number(g, r[static_cast<pqxx::row::size_type>(i + 2)]);
      }
      g.EndObject();
    }
    g.EndArray();
    groups_json = gb.GetString();

    const auto hooks = tx.exec1("SELECT pending, failed, oldest_pending_s FROM webhook_backlog");
    rapidjson::StringBuffer hb;
    Writer h(hb);
    h.StartObject();
    key(h, "pending");
    number(h, hooks[0]);
    key(h, "failed");
    number(h, hooks[1]);
    key(h, "oldest_pending_s");
    number(h, hooks[2]);
    h.EndObject();
    webhooks_json = hb.GetString();
  });

  // The ends of the partitions the groups read, and the dead letters; Kafka
  // not answering leaves them null rather than hiding the rest.
  std::map<std::string, std::vector<kafka::TopicPartition>> ends;
  std::string kafka_error;
  for (const auto& p : partitions) {
    if (ends.count(p.topic) != 0) continue;
    try {
      const auto n = kafka().partition_count(p.topic, kKafkaTimeout);
      ends[p.topic] = kafka().end_offsets(p.topic, n, kKafkaTimeout);
    } catch (const core::InfraError& e) {
      ends[p.topic] = {};
      kafka_error = e.what();
    }
  }
  key(w, "partitions");
  w.StartArray();
  for (const auto& p : partitions) {
    std::optional<std::int64_t> end;
    for (const auto& tp : ends[p.topic]) {
      if (tp.partition == p.partition && tp.offset >= 0) end = tp.offset;
    }
    w.StartObject();
    key(w, "group");
    text(w, p.group);
    key(w, "topic");
    text(w, p.topic);
    key(w, "partition");
    w.Int(p.partition);
    key(w, "next_offset");
    optional_int(w, p.next);
    key(w, "end_offset");
    optional_int(w, end);
    key(w, "lag");
    optional_int(
        w, end ? std::optional<std::int64_t>(std::max<std::int64_t>(0, *end - p.next.value_or(0)))
               : std::nullopt);
    key(w, "last_commit_at");
    if (p.last_commit_at) {
      text(w, *p.last_commit_at);
    } else {
      w.Null();
    }
    key(w, "idle_s");
    if (p.idle_s) {
      w.RawValue(p.idle_s->data(), p.idle_s->size(), rapidjson::kNumberType);
    } else {
      w.Null();
    }
    w.EndObject();
  }
  w.EndArray();
  key(w, "groups");
  w.RawValue(groups_json.data(), groups_json.size(), rapidjson::kArrayType);

  key(w, "dead_letters");
  w.StartArray();
  for (const auto& topic : dead_letter_topics_) {
    std::optional<std::int64_t> records;
    try {
      const auto n = kafka().partition_count(topic, kKafkaTimeout);
      std::int64_t sum = 0;
      for (std::int32_t p = 0; p < n; ++p) {
        const auto [low, high] = kafka().watermarks(topic, p, kKafkaTimeout);
        sum += high - low;
      }
      records = sum;
    } catch (const core::InfraError& e) {
      if (e.failure_class() != core::FailureClass::kFatal) kafka_error = e.what();
      // fatal: no such topic (nothing was ever dead-lettered there): null
    }
    w.StartObject();
    key(w, "topic");
    text(w, topic);
    key(w, "records");
    optional_int(w, records);
    w.EndObject();
  }
  w.EndArray();
  key(w, "webhooks");
  w.RawValue(webhooks_json.data(), webhooks_json.size(), rapidjson::kObjectType);
  key(w, "feed");
  w.StartObject();
  key(w, "connected");
  w.Bool(feed_error.empty());
  key(w, "error");
  if (feed_error.empty()) {
    w.Null();
  } else {
    text(w, feed_error);
  }
  w.EndObject();
  key(w, "kafka_error");
  if (kafka_error.empty()) {
    w.Null();
  } else {
    text(w, kafka_error);
  }
  w.EndObject();
  return buffer.GetString();
}

}  // namespace millrace::api
