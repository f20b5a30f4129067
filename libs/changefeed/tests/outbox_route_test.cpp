#include <catch2/catch.hpp>
#include <string>

#include "millrace/changefeed/outbox.hpp"
#include "millrace/core/options.hpp"

using millrace::changefeed::outbox::kDefaultTopicRegex;
using millrace::changefeed::outbox::TopicRoute;
using millrace::core::UsageError;

TEST_CASE("outbox route: the default regex puts the whole value into the template", "[outbox]") {
  const TopicRoute route(std::string(kDefaultTopicRegex), "outbox.event.${routedByValue}");
  CHECK(route.topic("order") == "outbox.event.order");
  CHECK(route.topic("") == "outbox.event.");
  // Java's . takes no line break: the value is not matched, so it is the topic.
  CHECK(route.topic("a\nb") == "a\nb");
  // $1 and $0 are the same group under the default regex.
  CHECK(TopicRoute(std::string(kDefaultTopicRegex), "t.$1.$0").topic("x") == "t.x.x");
  // A $ and a \ escaped are themselves.
  CHECK(TopicRoute(std::string(kDefaultTopicRegex), "a\\$b\\\\.$1").topic("x") == "a$b\\.x");
}

TEST_CASE("outbox route: a regex of its own, its named and numbered groups", "[outbox]") {
  const TopicRoute route("(?<domain>[a-z]+)_(?<kind>[A-Za-z]+)(-v([0-9]+))?",
                         "${domain}.events.${kind}.v$4");
  CHECK(route.topic("shop_Order-v2") == "shop.events.Order.v2");
  // A group that took no part is empty, as Java appends nothing for it.
  CHECK(route.topic("shop_Order") == "shop.events.Order.v");
  // Matched whole or not at all: the value itself is the topic.
  CHECK(route.topic("shop_Order!") == "shop_Order!");
  CHECK(route.topic("Shop_Order") == "Shop_Order");
  // Java reads $12 as group 12 only when there is one: here group 1, then "2".
  CHECK(TopicRoute("(a)(b)", "$12").topic("ab") == "a2");
  // Brackets and escaped parentheses are no groups.
  CHECK(TopicRoute("[(]\\((x)", "$1").topic("((x") == "x");
  CHECK(TopicRoute("(?:p)(q)", "$1").topic("pq") == "q");
}

TEST_CASE("outbox route: a bad regex or replacement stops the feed at start", "[outbox]") {
  const auto refused = [](const std::string& regex, const std::string& replacement,
                          const std::string& flag) {
    try {
      TopicRoute(regex, replacement);
      FAIL("accepted " << regex << " with " << replacement);
    } catch (const UsageError& e) {
      CHECK(std::string(e.what()).find(flag) != std::string::npos);
    }
  };
  refused("(unclosed", "x", "--outbox-topic-regex");
  refused("(?<=a)b", "x", "--outbox-topic-regex");  // lookbehind: not ECMAScript's
  refused("(?<a>x)(?<a>y)", "x", "--outbox-topic-regex");
  refused("a\\", "x", "--outbox-topic-regex");
  refused("(a)", "$2", "--outbox-topic");
  refused("(a)", "${b}", "--outbox-topic");
  refused("(a)", "x$", "--outbox-topic");
  refused("(a)", "x$y", "--outbox-topic");
  refused("(a)", "x\\", "--outbox-topic");
  refused("(a)", "${a", "--outbox-topic");
}
