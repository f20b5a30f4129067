#include "scrape.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "harness.hpp"
#include "millrace/test_paths.hpp"

namespace millrace::testing {

std::vector<Series> parse_exposition(const std::string& text) {
  std::vector<Series> out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    Series s;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = line.substr(0, i);
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        const auto eq = line.find('=', i);
        const std::string key = line.substr(i, eq - i);
        std::string value;
        std::size_t j = eq + 2;  // skip ="
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\' && j + 1 < line.size()) {
            ++j;
            value += line[j] == 'n' ? '\n' : line[j];
          } else {
            value += line[j];
          }
        }
        s.labels[key] = value;
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      ++i;  // '}'
    }
    s.value = std::strtod(line.c_str() + i, nullptr);
    out.push_back(std::move(s));
  }
  return out;
}

double sum_of(const std::vector<Series>& series, const std::string& name,
              const std::map<std::string, std::string>& match) {
  double total = 0;
  for (const auto& s : series) {
    if (s.name != name) continue;
    bool ok = true;
    for (const auto& [k, v] : match) {
      const auto it = s.labels.find(k);
      if (it == s.labels.end() || it->second != v) ok = false;
    }
    if (ok) total += s.value;
  }
  return total;
}

std::string promtool_check(const std::string& text) {
  const std::string path = millrace::test_paths::log_dir() + "/" + unique_name("scrape") + ".prom";
  {
    std::ofstream out(path);
    out << text;
  }
  const std::string cmd = "promtool check metrics < '" + path + "' 2>&1";
  std::string output;
  const int status = run_shell(cmd, &output);
  if (status != 0 && output.empty())
    output = "promtool failed with status " + std::to_string(status);
  return output;
}

double scrape_metric(int port, const std::string& name,
                     const std::map<std::string, std::string>& match) {
  try {
    return sum_of(parse_exposition(http_get(port, "/metrics")), name, match);
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace millrace::testing
