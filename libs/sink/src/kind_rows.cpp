#include "kind_rows.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <type_traits>
#include <utility>

#include "millrace/pg/kind_tables.hpp"

namespace millrace::sink::detail {

namespace {

constexpr std::string_view kRecordStaging = "millrace_kind_staging";
constexpr std::string_view kLineStaging = "millrace_kind_line_staging";

std::string joined(const std::vector<std::string>& columns, std::string_view prefix = "") {
  std::string out;
  for (const auto& c : columns) {
    if (!out.empty()) out += ", ";
    out += std::string(prefix) + c;
  }
  return out;
}

// A record's values, or a line's: what each_value and the enrichment read.
const std::vector<kinds::Value>& values_of(const kinds::Record& record) {
  return record.values;
}

// Field `i` as an integer (a sku), or nullopt.
std::optional<std::int64_t> integer_at(const std::vector<kinds::Value>& values, std::size_t i) {
  if (const auto* n = std::get_if<std::int64_t>(&values[i])) return *n;
  return std::nullopt;
}
// Field `i` as a text (a symbol), or nullopt.
std::optional<std::string_view> text_at(const std::vector<kinds::Value>& values, std::size_t i) {
  if (const auto* s = std::get_if<std::string>(&values[i])) return *s;
  return std::nullopt;
}

}  // namespace

std::string pii_hash(std::string_view key, std::string_view value) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(value.data()), value.size(), digest, &length);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(2 * length, '0');
  for (unsigned int i = 0; i < length; ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 0xf];
  }
  return out;
}

std::uint64_t count_duplicates(stream::Batch& batch,
                               const std::map<std::int32_t, std::uint64_t>& kept,
                               const std::map<std::int32_t, std::uint64_t>& stored,
                               std::string_view reason) {
  std::uint64_t duplicates = 0;
  for (const auto& [partition, n] : kept) {
    const auto it = stored.find(partition);
    const std::uint64_t new_rows = it == stored.end() ? 0 : it->second;
    batch.at(partition).tally.move({core::Outcome::kPersisted, ""},
                                   {core::Outcome::kDuplicate, reason}, n - new_rows);
    duplicates += n - new_rows;
  }
  return duplicates;
}

template <typename Record>
KindRows<Record>::KindRows(const kinds::Declaration& declaration, Identities identities,
                           kinds::PiiMode pii, std::string pii_key, std::string topic,
                           metrics::Registry& metrics, cache::CatalogLookup* lookup)
    : d_(declaration),
      identities_(identities),
      text_(pii, std::move(pii_key), &pii_hash),
      topic_(std::move(topic)),
      enrichment_(metrics, lookup),
      enrich_records_(enrichment_.on() && d_.enrich && !d_.enrich->on_lines),
      enrich_lines_(enrichment_.on() && d_.enrich && d_.enrich->on_lines),
      record_columns_(pg::record_columns(declaration)) {
  if (enrichment_.on() && d_.enrich_asset) {
    assets_.emplace(metrics, lookup);
    asset_records_ = !d_.enrich_asset->on_lines;
    asset_lines_ = d_.enrich_asset->on_lines;
  }
  const auto add = [](std::vector<std::string>& to, bool product, bool asset) {
    if (product) to.insert(to.end(), pg::kEnrichmentColumns.begin(), pg::kEnrichmentColumns.end());
    if (asset) to.insert(to.end(), pg::kAssetColumns.begin(), pg::kAssetColumns.end());
  };
  add(record_columns_, enrich_records_, asset_records_);
  const std::string id = d_.identity_field().column;
  const std::string time = d_.time_field().column;
  if (identities_ == Identities::kTableKey) {
    insert_sql_ = "WITH ins AS (INSERT INTO " + d_.table + " (" + joined(record_columns_) +
                  ") SELECT " + joined(record_columns_) + " FROM " + std::string(kRecordStaging) +
                  " ON CONFLICT (" + time + ", " + id +
                  ") DO NOTHING RETURNING kafka_partition) SELECT kafka_partition, count(*) FROM "
                  "ins GROUP BY kafka_partition";
    return;
  }
  // The first of a batch's records with one identity wins, as the first
  // sent would have had they come in two batches; and one whose identity
  // kind_identities holds is a resend, whatever its time (the table's own
  // key holds the time, as its partitions need).
  insert_sql_ = "WITH first AS (SELECT DISTINCT ON (" + id + ") * FROM " +
                std::string(kRecordStaging) + " ORDER BY " + id +
                ", kafka_partition, kafka_offset), ids AS (INSERT INTO kind_identities (kind, "
                "identity, event_ts) SELECT '" +
                d_.kind + "', " + id + "::text, " + time + " FROM first ORDER BY " + id +
                " ON CONFLICT DO NOTHING RETURNING identity), ins AS (INSERT INTO " + d_.table +
                " (" + joined(record_columns_) + ") SELECT " + joined(record_columns_, "f.") +
                " FROM first f JOIN ids ON ids.identity = f." + id +
                "::text ON CONFLICT DO NOTHING RETURNING " + id +
                ", kafka_partition, kafka_offset)";
  if (d_.lines) {
    line_columns_ = pg::line_columns(d_);
    add(line_columns_, enrich_lines_, asset_lines_);
    insert_sql_ += ", lines AS (INSERT INTO " + d_.lines->table + " (" + joined(line_columns_) +
                   ") SELECT " + joined(line_columns_, "l.") + " FROM " +
                   std::string(kLineStaging) + " l JOIN ins ON ins." + id + " = l." + id +
                   " AND ins.kafka_partition = l.kafka_partition AND ins.kafka_offset = "
                   "l.kafka_offset RETURNING 1)";
  }
  insert_sql_ += " SELECT kafka_partition, count(*) FROM ins GROUP BY kafka_partition";
}

template <typename Record>
void KindRows<Record>::prepare(pqxx::connection& connection) const {
  pqxx::nontransaction tx(connection);
  tx.exec("CREATE TEMP TABLE IF NOT EXISTS " + std::string(kRecordStaging) + " (LIKE " + d_.table +
          " INCLUDING DEFAULTS) ON COMMIT DELETE ROWS");
  if (d_.lines) {
    // A line is staged with the Kafka record it came in, to tell apart two
    // records of one identity in a batch.
    tx.exec("CREATE TEMP TABLE IF NOT EXISTS " + std::string(kLineStaging) + " (LIKE " +
            d_.lines->table +
            " INCLUDING DEFAULTS, kafka_partition integer, kafka_offset bigint) ON COMMIT DELETE "
            "ROWS");
  }
}

template <typename Record>
template <typename Values>
void KindRows<Record>::enrich_row(pg::CopyText& out, const Values& values, bool lines) {
  if (lines ? enrich_lines_ : enrich_records_) {
    if (const auto sku = integer_at(values, d_.enrich->sku)) {
      enriched_ += enrichment_.append(out, *sku) ? 1 : 0;
    } else {
      pg::append_enrichment(out, std::nullopt, std::nullopt, std::nullopt);
    }
    ++looked_up_;
  }
  if (lines ? asset_lines_ : asset_records_) {
    assets_found_ += assets_->append(out, text_at(values, d_.enrich_asset->symbol)) ? 1 : 0;
    ++assets_looked_up_;
  }
}

template <typename Record>
void KindRows<Record>::append_record(pg::CopyText& out, const Row& row) {
  text_.record(out, d_, values_of(row.record), topic_, row.partition, row.offset);
  enrich_row(out, values_of(row.record), false);
}

template <typename Record>
void KindRows<Record>::copy_records(pqxx::transaction_base& tx, const std::string& table,
                                    const std::vector<const Row*>& rows) {
  looked_up_ = enriched_ = assets_looked_up_ = assets_found_ = 0;
  pg::CopyWriter copy(tx, table, record_columns_);
  for (const auto* row : rows) {
    append_record(copy.row(), *row);
    copy.end_row();
  }
  copy.complete();
}

template <typename Record>
void KindRows<Record>::copy_lines(pqxx::transaction_base& tx, const std::vector<const Row*>& rows) {
  if constexpr (std::is_same_v<Record, kinds::Record>) {
    tx.exec("DELETE FROM " + std::string(kLineStaging));
    auto columns = line_columns_;
    columns.emplace_back("kafka_partition");
    columns.emplace_back("kafka_offset");
    pg::CopyWriter copy(tx, std::string(kLineStaging), columns);
    const auto& id = d_.identity_field();
    for (const auto* row : rows) {
      for (std::size_t n = 0; n < row->record.lines.size(); ++n) {
        auto& line = copy.row();
        text_.value(line, id, row->record.values[d_.identity]);
        text_.value(line, d_.time_field(), row->record.values[d_.time]);
        line.integer(static_cast<std::int64_t>(n + 1));
        text_.fields(line, d_.lines->fields, row->record.lines[n]);
        enrich_row(line, row->record.lines[n], true);
        line.integer(row->partition).integer(row->offset);
        copy.end_row();
      }
    }
    copy.complete();
  }
}

template <typename Record>
void KindRows<Record>::count_enrichment() {
  if (looked_up_ != 0) enrichment_.count(looked_up_, enriched_);
  if (assets_looked_up_ != 0) assets_->count(assets_looked_up_, assets_found_);
}

template <typename Record>
std::map<std::int32_t, std::uint64_t> KindRows<Record>::insert_staged(pqxx::work& tx) {
  std::map<std::int32_t, std::uint64_t> stored;
  for (const auto& r : tx.exec(insert_sql_)) {
    stored[r[0].as<std::int32_t>()] = r[1].as<std::uint64_t>();
  }
  return stored;
}

template <typename Record>
std::uint64_t KindRows<Record>::write(pqxx::work& tx, stream::Batch& batch,
                                      const std::vector<const Row*>& rows) {
  // Staging may hold rows of an earlier write in this transaction (the
  // consumer writes slices when it isolates refused records).
  const auto via_staging = [&] {
    tx.exec("DELETE FROM " + std::string(kRecordStaging));
    copy_records(tx, std::string(kRecordStaging), rows);
    if (d_.lines) copy_lines(tx, rows);
    count_enrichment();
    return count_duplicates(batch, rows, insert_staged(tx));
  };
  if (identities_ == Identities::kRegistry) return via_staging();
  // Stored directly, every row is persisted: the tallies are right.
  std::uint64_t duplicates = 0;
  copy_.write(
      tx, "direct_copy",
      [&](pqxx::transaction_base& t) {
        copy_records(t, d_.table, rows);
        count_enrichment();
      },
      [&] { return duplicates = via_staging(); });
  return duplicates;
}

template class KindRows<kinds::Record>;

}  // namespace millrace::sink::detail
