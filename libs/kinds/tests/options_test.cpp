#include "millrace/kinds/options.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <string>

#include "millrace/core/options.hpp"
#include "millrace/kinds/registry.hpp"

using namespace millrace;

TEST_CASE(
    "every kind's topic setting comes from its declaration, the store event's under --topic") {
  const auto& store = kinds::store_event();
  CHECK(store.kind == kinds::kStoreEvent);
  CHECK(store.topic == "store-events");
  const auto topic = kinds::topic_setting(store);
  CHECK(topic.flag == "topic");
  CHECK(topic.env == "MILLRACE_TOPIC");
  CHECK(topic.help == "Kafka topic of the store_event kind (" + store.description + ")");
  const auto dlq = kinds::dlq_topic_setting(store);
  CHECK(dlq.flag == "dlq-topic");
  CHECK(dlq.env == "MILLRACE_DLQ_TOPIC");

  const auto order = kinds::find_kind("order", "");
  CHECK(kinds::topic_setting(order).flag == "order-topic");
  CHECK(kinds::topic_setting(order).env == order.topic_env);
  CHECK(kinds::dlq_topic_setting(order).flag == "order-dlq-topic");
  CHECK(kinds::dlq_topic_setting(order).env == "MILLRACE_ORDERS_DLQ_TOPIC");
}

TEST_CASE("the store event's topic is no --<kind>-topic: a program's --topic is it") {
  core::OptionSet o("test", "test");
  kinds::KindOptions k;
  kinds::register_topic_options(o, k, {});
  o.parse({{"MILLRACE_ORDERS_TOPIC", "o1"}}, {});
  CHECK(k.topics.at("order") == "o1");
  CHECK(k.topics.count("store_event") == 0);
  core::OptionSet again("test", "test");
  kinds::KindOptions k2;
  kinds::register_topic_options(again, k2, {});
  CHECK_THROWS_AS(again.parse({}, {"--store_event-topic", "x"}), core::UsageError);
}
