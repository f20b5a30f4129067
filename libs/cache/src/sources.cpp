#include "sources.hpp"

#include "millrace/catalog/json.hpp"
#include "millrace/core/failure.hpp"
#include "millrace/pg/database.hpp"

namespace millrace::cache::detail {

namespace {

constexpr std::chrono::milliseconds kKafkaTimeout{5000};

}  // namespace

KafkaFeed::KafkaFeed(const kafka::KafkaClientOptions& kafka)
    : topic_(kafka.topic),
      // Each change's trip to the cache must not wait out a fetch.
      consumer_(std::make_unique<kafka::Consumer>(kafka::follower_config(kafka, "millrace-cache"),
                                                  nullptr)) {}

std::vector<kafka::TopicPartition> KafkaFeed::ends() {
  if (partitions_ == 0) partitions_ = consumer_->partition_count(topic_, kKafkaTimeout);
  // read_committed (librdkafka's default): the last stable offsets.
  return consumer_->end_offsets(topic_, partitions_, kKafkaTimeout);
}

void KafkaFeed::start_at(const std::vector<kafka::TopicPartition>& positions) {
  consumer_->assign(positions);
  started_ = positions;
}

std::optional<FeedRecord> KafkaFeed::poll(std::chrono::milliseconds timeout) {
  auto message = consumer_->poll(timeout);
  if (!message) return std::nullopt;
  FeedRecord r;
  r.partition = message->partition();
  r.offset = message->offset();
  if (const auto key = message->key()) r.key = std::string(*key);
  r.value = std::string(message->payload());
  return r;
}

std::vector<kafka::TopicPartition> KafkaFeed::positions() {
  if (started_.empty()) return {};
  return consumer_->positions(started_);
}

void KafkaFeed::close() {
  consumer_->close();
}

PgTruth::PgTruth(const pg::PgOptions& pg, bool assets) : pg_(pg), assets_(assets) {}

XidSnapshot PgTruth::load(const RowSink& row) {
  try {
    if (!conn_ || !conn_->is_open()) {
      // Reading only: a role that may only SELECT the catalog will do.
      conn_ = pg::connect(pg_.url, pg_.schema, "millrace-cache", pg_.limits,
                          pg::SchemaSetup::kUseExisting);
    }
    pqxx::work tx(*conn_);
    // One snapshot for the rows and for the list of transactions it saw.
    tx.exec0("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    const auto snapshot_text = tx.exec1("SELECT pg_current_snapshot()::text")[0].as<std::string>();
    XidSnapshot snapshot;
    try {
      snapshot = XidSnapshot::parse(snapshot_text);
    } catch (const std::invalid_argument& e) {
      throw core::InfraError(core::FailureClass::kFatal,
                             std::string("pg_current_snapshot(): ") + e.what());
    }
    const auto as_text = [](const pqxx::row& r) {
      catalog::RowText text;
      for (const auto& field : r) {
        text.emplace(field.name(),
                     field.is_null() ? std::nullopt : std::optional<std::string>(field.c_str()));
      }
      return text;
    };
    for (const auto& r : tx.exec("SELECT * FROM categories ORDER BY name")) {
      row(catalog::Table::kCategories, r["name"].c_str(), catalog::category_json(as_text(r)));
    }
    for (const auto& r : tx.exec("SELECT * FROM products ORDER BY sku")) {
      row(catalog::Table::kProducts, r["sku"].c_str(), catalog::product_json(as_text(r)));
    }
    if (assets_) {
      for (const auto& r : tx.exec("SELECT * FROM assets ORDER BY symbol")) {
        row(catalog::Table::kAssets, r["symbol"].c_str(), catalog::asset_json(as_text(r)));
      }
    }
    tx.commit();
    return snapshot;
  } catch (const core::InfraError&) {
    throw;
  } catch (const std::invalid_argument& e) {
    throw core::InfraError(
        core::FailureClass::kFatal,
        std::string("the catalog tables are not as this build knows them: ") + e.what());
  } catch (const std::exception&) {
    conn_.reset();
    pg::rethrow_classified("loading the catalog");
  }
}

}  // namespace millrace::cache::detail
