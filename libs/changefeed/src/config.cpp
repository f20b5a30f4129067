#include "millrace/changefeed/service.hpp"
#include "millrace/core/failure.hpp"
#include "millrace/core/setting.hpp"

namespace millrace::changefeed {

namespace {

// Slot and publication names go into replication commands; PostgreSQL's
// own rule for slots (lower-case letters, digits, underscore) keeps them
// safe to quote and the same everywhere.
void check_name(const std::string& flag, const std::string& value) {
  if (value.empty() || value.size() > 63) {
    throw core::UsageError(flag + " must be 1 to 63 characters, got \"" + value + "\"");
  }
  for (const char c : value) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
      throw core::UsageError(flag + " may hold only a-z, 0-9 and _, got \"" + value + "\"");
    }
  }
}

}  // namespace

void add_feed_names(core::OptionSet& o, std::string* slot, std::string* publication,
                    std::string* backfill_table) {
  if (slot != nullptr) {
    core::declare(
        o, slot,
        {.flag = "slot",
         .env = "MILLRACE_CHANGEFEED_SLOT",
         .help = "The change feed's logical replication slot (the feed creates it with pgoutput "
                 "if missing)"});
  }
  if (publication != nullptr) {
    core::declare(
        o, publication,
        {.flag = "publication",
         .env = "MILLRACE_CHANGEFEED_PUBLICATION",
         .help = "The change feed's publication: the tables it streams (millrace changefeed "
                 "publish creates it)"});
  }
  if (backfill_table != nullptr) {
    core::declare(
        o, backfill_table,
        {.flag = "backfill-table",
         .env = "MILLRACE_CHANGEFEED_BACKFILL_TABLE",
         .help = "The signal table of backfill requests, in --pg-schema (millrace changefeed "
                 "publish creates it)"});
  }
}

void validate(ChangefeedConfig& c) {
  kafka::validate(c.kafka);
  pg::validate(c.pg);
  check_name("--slot", c.slot);
  check_name("--publication", c.publication);
  check_name("--backfill-table", c.backfill_table);
  if (c.transactional_id.empty()) c.transactional_id = "millrace-changefeed." + c.slot;
  if (c.checkpoint_group.empty())
    c.checkpoint_group = "millrace-changefeed." + c.slot + ".checkpoint";
  core::validate(c.retry);
  if (c.format != Format::kDebezium && (c.schemas || c.topic_per_table || c.transaction_metadata)) {
    const char* flag = c.schemas           ? "--schemas"
                       : c.topic_per_table ? "--topic-per-table"
                                           : "--transaction-metadata";
    throw core::UsageError(std::string(flag) +
                           " is a setting of the Debezium format: add --format debezium");
  }
  if (c.format == Format::kOutbox) {
    outbox::parse_additional_fields(c.outbox_additional_fields);
    outbox::TopicRoute(c.outbox_topic_regex, c.outbox_topic);
  }
  if (c.kafka.extra.count("transactional.id") != 0) {
    throw core::UsageError(
        "transactional.id cannot be set in --kafka-properties: use --transactional-id");
  }
}

}  // namespace millrace::changefeed
