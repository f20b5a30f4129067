#include "seen_ids.hpp"

#include <openssl/evp.h>

#include <array>
#include <stdexcept>

#include "millrace/pg/array.hpp"
#include "millrace/pg/copy_binary.hpp"

namespace millrace::aggregate::tables {

namespace {

const std::vector<std::string> kSeenIdColumns = {"topic_id", "id", "hour", "event_us"};

constexpr core::TimestampUs kUsPerHour = 3'600'000'000;

// The uuid's text of a key's 16 bytes.
std::string uuid_text(const unsigned char* bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 0xf];
  }
  return out;
}

// In the binary format: every key is a uuid's text (SeenKeys), sent as its
// 16 bytes, which PostgreSQL takes as they are rather than parsing them.
void copy_rows(pqxx::transaction_base& tx, std::int32_t number, const std::vector<SeenId>& ids) {
  pg::BinaryCopyWriter copy(tx, "aggregator_seen_ids", kSeenIdColumns);
  for (const auto& s : ids) {
    copy.row()
        .begin_row()
        .int4(number)
        .uuid(*s.id)
        .int4(static_cast<std::int32_t>(s.hour / kUsPerHour))
        .int8(s.event_ts);
    copy.end_row();
  }
  copy.complete();
}

// PostgreSQL answers with the keys it held already, usually a few, instead
// of echoing every new one; the join reads the rows as they were before
// this statement, so the ones it inserts are not among them.
HeldIds insert_rows(pqxx::work& tx, std::int32_t number, const std::vector<SeenId>& ids) {
  pg::ArrayLiteral id_array;
  pg::ArrayLiteral hours;
  pg::ArrayLiteral event_times;
  for (const auto& s : ids) {
    id_array.add(*s.id);
    hours.add(s.hour / kUsPerHour);
    event_times.add(s.event_ts);
  }
  HeldIds held;
  for (const auto& row : tx.exec_params(
           "WITH batch AS (SELECT * FROM unnest($1::uuid[], $2::integer[], $4::bigint[]) "
           "AS b(id, hour, event_us)), "
           "ins AS (INSERT INTO aggregator_seen_ids (topic_id, id, hour, event_us) "
           "SELECT $3, id, hour, event_us FROM batch "
           "ORDER BY id ON CONFLICT (topic_id, id) DO NOTHING RETURNING id) "
           "SELECT b.id::text, s.event_us FROM batch b "
           "JOIN aggregator_seen_ids s ON s.topic_id = $3 AND s.id = b.id "
           "WHERE b.id NOT IN (SELECT id FROM ins)",
           id_array.take(), hours.take(), number, event_times.take())) {
    held.emplace(row[0].as<std::string>(),
                 row[1].is_null() ? std::nullopt : std::optional(row[1].as<core::TimestampUs>()));
  }
  return held;
}

// A batch's identities under their keys: the identities themselves when
// each is its own key (uuids by their codec's contract: nothing is copied), else the
// keys made, and the way back from a key to its identity.
class SeenKeys {
 public:
  SeenKeys(const std::vector<SeenId>& ids, bool uuids) : ids_(&ids) {
    if (uuids) return;
    made_.reserve(ids.size());  // no reallocation: rekeyed_ points into it
    rekeyed_.reserve(ids.size());
    for (const auto& s : ids) {
      if (is_lower_uuid(*s.id)) {
        rekeyed_.push_back(s);
        continue;
      }
      made_.push_back(seen_key(*s.id));
      identity_of_.emplace(made_.back(), s.id);
      rekeyed_.push_back({&made_.back(), s.hour, s.event_ts});
    }
    ids_ = &rekeyed_;
  }
  const std::vector<SeenId>& ids() const { return *ids_; }
  const std::string& identity(const std::string& key) const {
    const auto it = identity_of_.find(key);
    return it == identity_of_.end() ? key : *it->second;
  }

 private:
  const std::vector<SeenId>* ids_;
  std::vector<std::string> made_;
  std::vector<SeenId> rekeyed_;
  std::unordered_map<std::string, const std::string*> identity_of_;
};

}  // namespace

bool is_lower_uuid(std::string_view identity) {
  if (identity.size() != 36) return false;
  for (std::size_t i = 0; i < identity.size(); ++i) {
    const char c = identity[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

// Migration 0022 computes the same in SQL for the identities it moves:
// encode(substr(sha256(convert_to(identity, 'UTF8')), 1, 16), 'hex')::uuid.
std::string seen_key(std::string_view identity) {
  if (is_lower_uuid(identity)) return std::string(identity);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  if (EVP_Digest(identity.data(), identity.size(), digest.data(), &size, EVP_sha256(), nullptr) !=
          1 ||
      size < 16) {
    throw std::runtime_error("aggregator_seen_ids: OpenSSL could not hash an identity (SHA-256)");
  }
  return uuid_text(digest.data());
}

std::int32_t topic_number(pqxx::connection& connection, const std::string& scope) {
  const auto find = [&] {
    pqxx::read_transaction tx(connection);
    const auto r = tx.exec_params("SELECT topic_id FROM aggregator_topics WHERE topic = $1", scope);
    return r.empty() ? std::nullopt : std::optional(r[0][0].as<std::int32_t>());
  };
  if (const auto found = find()) return *found;
  {
    // Two members connecting at once may both add it: one does.
    pqxx::work tx(connection);
    tx.exec_params(
        "INSERT INTO aggregator_topics (topic) VALUES ($1) ON CONFLICT (topic) DO NOTHING", scope);
    tx.commit();
  }
  if (const auto found = find()) return *found;
  throw std::runtime_error("aggregator_topics has no number for " + scope);
}

void SeenIds::connect(pqxx::connection& connection) {
  number_ = topic_number(connection, scope_);
}

HeldIds SeenIds::record(pqxx::work& tx, const std::vector<SeenId>& ids) {
  const SeenKeys keyed(ids, uuids_);
  HeldIds held;
  copy_.write(
      tx, "direct_seen_ids", [&](pqxx::transaction_base& t) { copy_rows(t, number_, keyed.ids()); },
      [&] {
        held = insert_rows(tx, number_, keyed.ids());
        return held.size();
      });
  if (&keyed.ids() == &ids) return held;
  HeldIds out;
  for (auto& [key, time] : held) out.emplace(keyed.identity(key), time);
  return out;
}

std::unordered_set<std::string> SeenIds::held(pqxx::work& tx,
                                              const std::vector<std::string>& identities) {
  std::unordered_map<std::string, const std::string*> identity_of;
  pg::ArrayLiteral keys;
  for (const auto& identity : identities) {
    auto key = uuids_ ? identity : seen_key(identity);
    keys.add(key);
    identity_of.emplace(std::move(key), &identity);
  }
  std::unordered_set<std::string> out;
  for (const auto& r : tx.exec_params(
           "SELECT id::text FROM aggregator_seen_ids WHERE topic_id = $1 AND id = ANY($2::uuid[])",
           number_, keys.take())) {
    if (const auto it = identity_of.find(r[0].as<std::string>()); it != identity_of.end()) {
      out.insert(*it->second);
    }
  }
  return out;
}

void SeenIds::prune(pqxx::work& tx, const std::string& topic, std::int64_t max_lateness_s) {
  // hour * 3600 < the horizon's epoch, as integers the index compares.
  tx.exec_params(
      "DELETE FROM aggregator_seen_ids WHERE topic_id = $3 AND hour < ceil(extract(epoch FROM "
      "(SELECT min(max_event_ts) FROM aggregator_partitions WHERE topic = $1) - "
      "make_interval(secs => $2) - interval '1 hour') / 3600)::integer",
      topic, static_cast<double>(max_lateness_s), number_);
}

}  // namespace millrace::aggregate::tables
