#include "kind_rows.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <map>
#include <utility>

#include "millrace/core/timestamp.hpp"
#include "millrace/pg/kind_tables.hpp"
#include "millrace/pg/store_events.hpp"
#include "store_rows.hpp"

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

KindRows::KindRows(const kinds::Declaration& declaration, kinds::PiiMode pii, std::string pii_key,
                   std::string topic, metrics::Registry& metrics, cache::CatalogLookup* lookup)
    : d_(declaration),
      pii_(pii),
      pii_key_(std::move(pii_key)),
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

void KindRows::prepare(pqxx::connection& connection) const {
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

void KindRows::append(pg::CopyText& out, const kinds::FieldDecl& field,
                      const kinds::Value& value) const {
  if (field.pii && pii_ != kinds::PiiMode::kKeep &&
      !std::holds_alternative<std::monostate>(value)) {
    // The declaration allows personal data in text fields only.
    const auto& text = std::get<std::string>(value);
    if (pii_ == kinds::PiiMode::kDrop) {
      out.null();
    } else if (text.empty()) {
      // No bytes hold nothing personal: '' stays '', so a query for empty
      // values reads the same in hash mode as in keep mode.
      out.text(text);
    } else {
      out.text(pii_hash(pii_key_, text));
    }
    return;
  }
  struct Append {
    pg::CopyText& out;
    void operator()(std::monostate) const { out.null(); }
    void operator()(const std::string& s) const { out.text(s); }
    void operator()(std::int64_t v) const { out.integer(v); }
    void operator()(core::Decimal v) const { out.text(v.to_string()); }
    void operator()(bool v) const { out.boolean(v); }
    void operator()(kinds::Timestamp t) const { out.text(core::format_timestamp(t.us)); }
  };
  std::visit(Append{out}, value);
}

bool KindRows::enrich(pg::CopyText& out, const kinds::Value& sku) const {
  if (const auto* n = std::get_if<std::int64_t>(&sku)) return enrichment_.append(out, *n);
  pg::append_enrichment(out, std::nullopt, std::nullopt, std::nullopt);
  return false;
}

void KindRows::enrich_row(pg::CopyText& out, const std::vector<kinds::Value>& values, bool lines) {
  if (lines ? enrich_lines_ : enrich_records_) {
    enriched_ += enrich(out, values[d_.enrich->sku]) ? 1 : 0;
    ++looked_up_;
  }
  if (lines ? asset_lines_ : asset_records_) {
    const auto* symbol = std::get_if<std::string>(&values[d_.enrich_asset->symbol]);
    assets_found_ +=
        assets_->append(out, symbol ? std::optional<std::string_view>(*symbol) : std::nullopt) ? 1
                                                                                               : 0;
    ++assets_looked_up_;
  }
}

void KindRows::append_record(pg::CopyText& out, const KindRow& row) {
  for (std::size_t i = 0; i < d_.fields.size(); ++i) {
    append(out, d_.fields[i], row.record.values[i]);
  }
  out.text(topic_).integer(row.partition).integer(row.offset);
  enrich_row(out, row.record.values, false);
}

std::uint64_t KindRows::write(pqxx::work& tx, stream::Batch& batch,
                              const std::vector<const KindRow*>& rows) {
  // Staging may hold rows of an earlier write in this transaction (the
  // consumer writes slices when it isolates refused records).
  tx.exec("DELETE FROM " + std::string(kRecordStaging));
  looked_up_ = enriched_ = assets_looked_up_ = assets_found_ = 0;
  {
    pg::CopyWriter copy(tx, std::string(kRecordStaging), record_columns_);
    for (const auto* row : rows) {
      append_record(copy.row(), *row);
      copy.end_row();
    }
    copy.complete();
  }
  if (d_.lines) {
    tx.exec("DELETE FROM " + std::string(kLineStaging));
    auto columns = line_columns_;
    columns.emplace_back("kafka_partition");
    columns.emplace_back("kafka_offset");
    pg::CopyWriter copy(tx, std::string(kLineStaging), columns);
    const auto& id = d_.identity_field();
    for (const auto* row : rows) {
      for (std::size_t n = 0; n < row->record.lines.size(); ++n) {
        auto& line = copy.row();
        append(line, id, row->record.values[d_.identity]);
        append(line, d_.time_field(), row->record.values[d_.time]);
        line.integer(static_cast<std::int64_t>(n + 1));
        for (std::size_t i = 0; i < d_.lines->fields.size(); ++i) {
          append(line, d_.lines->fields[i], row->record.lines[n][i]);
        }
        enrich_row(line, row->record.lines[n], true);
        line.integer(row->partition).integer(row->offset);
        copy.end_row();
      }
    }
    copy.complete();
  }
  if (looked_up_ != 0) enrichment_.count(looked_up_, enriched_);
  if (assets_looked_up_ != 0) assets_->count(assets_looked_up_, assets_found_);
  std::map<std::int32_t, std::uint64_t> stored, kept;
  for (const auto& r : tx.exec(insert_sql_))
    stored[r[0].as<std::int32_t>()] = r[1].as<std::uint64_t>();
  for (const auto* row : rows) ++kept[row->partition];
  return count_duplicates(batch, kept, stored, "duplicate_id");
}

}  // namespace millrace::sink::detail
