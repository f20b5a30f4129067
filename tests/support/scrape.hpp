#pragma once

// Reading Prometheus text exposition in tests.

#include <map>
#include <string>
#include <vector>

namespace millrace::testing {

struct Series {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// Parses the text format (comments skipped; label values unescaped).
std::vector<Series> parse_exposition(const std::string& text);

// Sum of a metric's samples whose labels include all of `match`.
double sum_of(const std::vector<Series>& series, const std::string& name,
              const std::map<std::string, std::string>& match = {});

// sum_of() a service's /metrics on 127.0.0.1:`port`; 0 while it does not
// answer yet (a service still starting, or killed).
double scrape_metric(int port, const std::string& name,
                     const std::map<std::string, std::string>& match = {});

// What `promtool check metrics` says about an exposition (empty: clean).
std::string promtool_check(const std::string& text);

}  // namespace millrace::testing
