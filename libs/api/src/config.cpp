#include "millrace/api/config.hpp"

#include <utility>

#include "millrace/httpd/listen_address.hpp"
#include "millrace/kafka/types.hpp"
#include "millrace/kinds/options.hpp"
#include "millrace/kinds/registry.hpp"
#include "millrace/pg/views.hpp"
#include "millrace/webhooks/config.hpp"

namespace millrace::api {

void validate(ApiConfig& c) {
  auto [host, port] = httpd::parse_guarded_listen_address(
      c.http_addr,
      {"--http-addr / MILLRACE_API_ADDR", 8090, "MILLRACE_API_READ_TOKEN",
       "; the dashboard asks for it", "MILLRACE_API_ALLOW_OPEN", "the data"},
      !c.read_token.empty(), c.allow_open);
  c.host = std::move(host);
  c.port = port;
  httpd::validate_tls(c.tls, "MILLRACE_API");
  pg::validate(c.pg);
  cache::validate(c.cache);
  kafka::validate(c.kafka);
  kafka::refuse_consumer_overrides(c.kafka.extra);
  c.kinds = kinds::all_kinds(c.kinds_dir);
  // Refuses a kind whose views would take another's names.
  (void)pg::public_views(c.kinds);
  c.dead_letters.clear();
  std::size_t start = 0;
  const std::string& list = c.dead_letter_topics;
  while (start <= list.size()) {
    auto end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    auto topic = list.substr(start, end - start);
    const auto first = topic.find_first_not_of(' ');
    const auto last = topic.find_last_not_of(' ');
    if (first != std::string::npos) c.dead_letters.push_back(topic.substr(first, last - first + 1));
    start = end + 1;
  }
}

}  // namespace millrace::api
