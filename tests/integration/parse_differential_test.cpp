// Differential check of Millrace's decimal and timestamp parsers against
// PostgreSQL's ::numeric and ::timestamptz (TimeZone UTC, as Millrace reads
// a time without an offset). The inputs: the fuzz seed corpus of both
// parsers and some 30,000 strings from a generator that mixes valid forms
// with every perturbation we could think of. For an input both accept, the
// values must be equal. Where only one accepts, the input must fall in one
// of the documented differences (docs/fuzzing.md, "Differences from
// PostgreSQL"); anything else fails the test, with examples.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "harness.hpp"
#include "millrace/core/decimal.hpp"
#include "millrace/core/timestamp.hpp"
#include "millrace/test_paths.hpp"

using namespace millrace;
using namespace millrace::testing;

namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// PostgreSQL takes only valid UTF-8 without NUL; such inputs cannot be
// compared (and both parsers refuse them: Millrace's grammars are ASCII).
bool comparable(const std::string& s) {
  for (unsigned char c : s) {
    if (c == 0 || c >= 0x80) return false;
  }
  return true;
}

std::string digits(std::mt19937_64& rng, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += static_cast<char>('0' + rng() % 10);
  return out;
}

std::vector<std::string> decimal_inputs(std::mt19937_64& rng, int count) {
  std::vector<std::string> out;
  const std::vector<std::string> odd = {
      "NaN", "nan",  "Infinity", "-Infinity", "+inf", " 1",  "1 ",    "+1",   ".5", "5.", "-.5",
      "00",  "01.5", "1.e5",     "1e",        "1e+",  "--1", "1_000", "0x1F", "",   "-",  "."};
  for (int i = 0; i < count; ++i) {
    if (rng() % 20 == 0) {
      out.push_back(odd[rng() % odd.size()]);
      continue;
    }
    std::string s;
    if (rng() % 3 == 0) s += '-';
    if (rng() % 40 == 0) s += '+';
    const int whole = static_cast<int>(rng() % 16);
    s += whole == 0 ? "0" : digits(rng, whole);
    if (rng() % 2 == 0) s += "." + digits(rng, static_cast<int>(rng() % 10));
    if (rng() % 4 == 0) {
      s += rng() % 2 ? 'e' : 'E';
      if (rng() % 2) s += rng() % 2 ? '-' : '+';
      s += digits(rng, 1 + static_cast<int>(rng() % 2));
    }
    if (rng() % 50 == 0) s = " " + s;
    out.push_back(s);
  }
  return out;
}

std::string two(std::mt19937_64& rng, int max) {
  const int v = static_cast<int>(rng() % (max + 1));
  return (v < 10 ? "0" : "") + std::to_string(v);
}

std::vector<std::string> timestamp_inputs(std::mt19937_64& rng, int count) {
  std::vector<std::string> out;
  const std::vector<std::string> odd = {"epoch",
                                        "infinity",
                                        "-infinity",
                                        "2023-05-19",
                                        "May 19 2023 14:36:09",
                                        "2023-05-19T14:36:09 UTC",
                                        "2023-05-19T14:36:09+05",
                                        "2023-05-19T14:36:09+0530",
                                        "20230519T143609",
                                        "2023-05-19T14:36",
                                        "1969-12-31 23:59:59",
                                        "0001-01-01 00:00:00",
                                        "2023-05-19T14:36:09.Z"};
  for (int i = 0; i < count; ++i) {
    if (rng() % 25 == 0) {
      out.push_back(odd[rng() % odd.size()]);
      continue;
    }
    const int year = rng() % 10 == 0   ? static_cast<int>(1960 + rng() % 20)
                     : rng() % 10 == 0 ? static_cast<int>(9990 + rng() % 10)
                                       : static_cast<int>(1970 + rng() % 100);
    std::string s = std::to_string(year) + "-" + two(rng, 12) + "-" + two(rng, 31);
    const char seps[] = {'T', 'T', ' ', 't'};
    s += seps[rng() % 4];
    s += two(rng, 24) + ":" + two(rng, 59) + ":" + two(rng, rng() % 30 == 0 ? 60 : 59);
    if (rng() % 2) s += "." + digits(rng, 1 + static_cast<int>(rng() % 12));
    switch (rng() % 6) {
      case 0:
        break;
      case 1:
        s += "Z";
        break;
      case 2:
        s += "z";
        break;
      default:
        s += (rng() % 2 ? "+" : "-") + two(rng, 14) + ":" + (rng() % 2 ? "00" : two(rng, 59));
    }
    out.push_back(s);
  }
  return out;
}

std::vector<std::string> corpus(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    out.push_back(text.str());
  }
  return out;
}

// What PostgreSQL made of one input: nullopt when it refused it.
struct PgRead {
  std::optional<std::string> value;  // numeric as text, or timestamptz as µs since the epoch
  bool equal = false;                // equal to Millrace's reading, when both read it
};

// Asks PostgreSQL for every input at once. `ours` is Millrace's reading as
// SQL text ("NULL" when refused); `read` is the SQL of PostgreSQL's reading
// of $x, `same` compares it with $ours.
std::vector<PgRead> ask(pqxx::connection& c, const std::vector<std::string>& inputs,
                        const std::vector<std::string>& ours, const std::string& read,
                        const std::string& same) {
  std::vector<PgRead> out(inputs.size());
  pqxx::work tx(c);
  std::string values;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (i > 0) values += ",";
    values += "(" + std::to_string(i) + "," + tx.quote(inputs[i]) + "," + ours[i] + ")";
  }
  const auto rows = tx.exec("SELECT i, pg, " + same + " FROM (SELECT i, ours, " + read +
                            " AS pg FROM (VALUES " + values + ") AS v(i, x, ours)) AS r");
  for (const auto& row : rows) {
    auto& r = out[row[0].as<std::size_t>()];
    if (!row[1].is_null()) r.value = row[1].as<std::string>();
    r.equal = !row[2].is_null() && row[2].as<bool>();
  }
  return out;
}

// A JSON number literal: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool json_number(const std::string& s) {
  std::size_t i = 0;
  const auto run = [&] {
    const std::size_t from = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i - from;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (i < s.size() && s[i] == '0') {
    ++i;
  } else if (run() == 0) {
    return false;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (run() == 0) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (run() == 0) return false;
  }
  return i == s.size();
}

// Why Millrace refuses a number PostgreSQL reads as `pg` (its plain text),
// or "" when no documented difference explains it.
std::string decimal_difference(const std::string& in, const std::string& pg) {
  if (!in.empty() && (is_blank(in.front()) || is_blank(in.back()))) return "blanks around";
  if (pg == "NaN" || pg == "Infinity" || pg == "-Infinity") return "NaN or infinity";
  if (!json_number(in)) return "not a JSON number literal";
  const auto dot = pg.find('.');
  std::string fraction = dot == std::string::npos ? "" : pg.substr(dot + 1);
  while (!fraction.empty() && fraction.back() == '0') fraction.pop_back();
  if (fraction.size() > 6) return "more than 6 fractional digits";
  const std::string whole = pg.substr(
      pg[0] == '-' ? 1 : 0, dot == std::string::npos ? pg.npos : dot - (pg[0] == '-' ? 1 : 0));
  if (whole.size() > 13 || (whole.size() == 13 && whole > "9223372036854")) {
    return "beyond +-9223372036854.775807";
  }
  return "";
}

// Millrace's timestamp grammar, values aside:
// YYYY-MM-DD[Tt ]hh:mm:ss[.f{1,9}][Z|z|+hh:mm|-hh:mm]
bool iso_form(const std::string& s) {
  const auto d = [&](std::size_t i) { return i < s.size() && s[i] >= '0' && s[i] <= '9'; };
  const auto at = [&](std::size_t i, char c) { return i < s.size() && s[i] == c; };
  if (s.size() < 19) return false;
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18}) {
    if (!d(i)) return false;
  }
  if (!at(4, '-') || !at(7, '-') || !(at(10, 'T') || at(10, 't') || at(10, ' ')) || !at(13, ':') ||
      !at(16, ':')) {
    return false;
  }
  std::size_t i = 19;
  if (at(i, '.')) {
    std::size_t n = 0;
    for (++i; d(i); ++i) ++n;
    if (n < 1 || n > 9) return false;
  }
  if (at(i, 'Z') || at(i, 'z')) return i + 1 == s.size();
  if (at(i, '+') || at(i, '-')) {
    return i + 6 == s.size() && d(i + 1) && d(i + 2) && at(i + 3, ':') && d(i + 4) && d(i + 5);
  }
  return i == s.size();
}

constexpr long long kEndUs = 253402300800LL * 1000000;  // 10000-01-01T00:00:00Z

std::string timestamp_difference(const std::string& in, const std::string& pg_us) {
  if (!in.empty() && (is_blank(in.front()) || is_blank(in.back()))) return "blanks around";
  if (pg_us == "infinite") return "special values";
  if (!iso_form(in)) return "not the ISO 8601 form";
  const long long us = std::stoll(pg_us);
  if (us < 0 || us >= kEndUs) return "outside 1970..9999 after the offset";
  const int hour = std::stoi(in.substr(11, 2));
  const int second = std::stoi(in.substr(17, 2));
  if (hour == 24 || second == 60) return "hour 24 or second 60";
  const int oh = in.size() >= 25 && (in[in.size() - 6] == '+' || in[in.size() - 6] == '-')
                     ? std::stoi(in.substr(in.size() - 5, 2))
                     : 0;
  if (oh > 23) return "offset of 24 hours or more";
  return "";
}

// Runs one kind: returns the undocumented disagreements (with examples) and
// counts each documented one under `counts`.
template <typename Classify>
std::vector<std::string> judge(const std::vector<std::string>& inputs,
                               const std::vector<std::optional<std::string>>& ours,
                               const std::vector<PgRead>& pg, Classify classify,
                               std::map<std::string, int>& counts) {
  std::vector<std::string> wrong;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const std::string& in = inputs[i];
    if (ours[i] && pg[i].value) {
      ++counts["both read, equal"];
      if (!pg[i].equal) {
        wrong.push_back("\"" + in + "\": Millrace " + *ours[i] + ", PostgreSQL " + *pg[i].value);
      }
    } else if (ours[i]) {
      wrong.push_back("\"" + in + "\": Millrace reads " + *ours[i] + ", PostgreSQL refuses it");
    } else if (pg[i].value) {
      const std::string why = classify(in, *pg[i].value);
      if (why.empty()) {
        wrong.push_back("\"" + in + "\": PostgreSQL reads " + *pg[i].value +
                        ", Millrace refuses it, for no documented reason");
      } else {
        ++counts["PostgreSQL only: " + why];
      }
    } else {
      ++counts["both refuse"];
    }
  }
  return wrong;
}

}  // namespace

TEST_CASE("decimals and timestamps read as PostgreSQL reads them, or differ as documented",
          "[parse-differential]") {
  const auto env = stack_env();
  pqxx::connection c(env.pg);
  const std::string schema = unique_name("it_parse");
  {
    pqxx::work tx(c);
    tx.exec("CREATE SCHEMA " + schema);
    tx.exec("CREATE FUNCTION " + schema +
            ".try_numeric(t text) RETURNS numeric LANGUAGE plpgsql AS $$ BEGIN RETURN t::numeric; "
            "EXCEPTION WHEN others THEN RETURN NULL; END $$");
    tx.exec("CREATE FUNCTION " + schema +
            ".try_ts(t text) RETURNS timestamptz LANGUAGE plpgsql AS $$ BEGIN RETURN "
            "t::timestamptz; EXCEPTION WHEN others THEN RETURN NULL; END $$");
    tx.commit();
  }
  c.prepare("utc", "SET TimeZone = 'UTC'");
  {
    pqxx::nontransaction tx(c);
    tx.exec_prepared("utc");
  }
  std::mt19937_64 rng(20261124);
  const std::string corpus_dir = millrace::test_paths::source("libs/core/fuzz/corpus/number");

  std::vector<std::string> decimals = decimal_inputs(rng, 15'000);
  std::vector<std::string> timestamps = timestamp_inputs(rng, 15'000);
  for (const auto& seed : corpus(corpus_dir)) {
    decimals.push_back(seed);
    timestamps.push_back(seed);
  }
  std::erase_if(decimals, [](const std::string& s) { return !comparable(s); });
  std::erase_if(timestamps, [](const std::string& s) { return !comparable(s); });

  std::vector<std::optional<std::string>> ours_d;
  std::vector<std::string> ours_d_sql;
  for (const auto& in : decimals) {
    const auto d = core::Decimal::parse(in);
    ours_d.push_back(d ? std::optional(d->to_string()) : std::nullopt);
    ours_d_sql.push_back(d ? "'" + d->to_string() + "'::numeric" : "NULL::numeric");
  }
  const auto pg_d = ask(c, decimals, ours_d_sql, schema + ".try_numeric(x)", "pg = ours");

  std::vector<std::optional<std::string>> ours_t;
  std::vector<std::string> ours_t_sql;
  for (const auto& in : timestamps) {
    const auto t = core::parse_timestamp(in);
    ours_t.push_back(t ? std::optional(std::to_string(*t)) : std::nullopt);
    ours_t_sql.push_back(t ? std::to_string(*t) + "::bigint" : "NULL::bigint");
  }
  const std::string pg_us = "CASE WHEN " + schema + ".try_ts(x) IS NULL THEN NULL WHEN isfinite(" +
                            schema + ".try_ts(x)) THEN (extract(epoch FROM " + schema +
                            ".try_ts(x)) * 1000000)::bigint::text ELSE 'infinite' END";
  const auto pg_t = ask(c, timestamps, ours_t_sql, pg_us, "pg = ours::text");

  std::map<std::string, int> decimal_counts, timestamp_counts;
  const auto wrong_d = judge(decimals, ours_d, pg_d, decimal_difference, decimal_counts);
  const auto wrong_t = judge(timestamps, ours_t, pg_t, timestamp_difference, timestamp_counts);
  for (const auto& [what, n] : decimal_counts) WARN("decimals, " << what << ": " << n);
  for (const auto& [what, n] : timestamp_counts) WARN("timestamps, " << what << ": " << n);
  for (std::size_t i = 0; i < std::min<std::size_t>(wrong_d.size(), 20); ++i)
    UNSCOPED_INFO(wrong_d[i]);
  CHECK(wrong_d.empty());
  for (std::size_t i = 0; i < std::min<std::size_t>(wrong_t.size(), 20); ++i)
    UNSCOPED_INFO(wrong_t[i]);
  CHECK(wrong_t.empty());
  // The generator reaches every documented difference and plenty of
  // agreement; else it has lost its teeth.
  CHECK(decimal_counts["both read, equal"] > 5'000);
  CHECK(timestamp_counts["both read, equal"] > 3'000);
  for (const char* why : {"blanks around", "NaN or infinity", "not a JSON number literal",
                          "more than 6 fractional digits", "beyond +-9223372036854.775807"}) {
    CHECK(decimal_counts[std::string("PostgreSQL only: ") + why] > 0);
  }
  for (const char* why : {"special values", "not the ISO 8601 form",
                          "outside 1970..9999 after the offset", "hour 24 or second 60"}) {
    CHECK(timestamp_counts[std::string("PostgreSQL only: ") + why] > 0);
  }
  pqxx::work tx(c);
  tx.exec("DROP SCHEMA " + schema + " CASCADE");
  tx.commit();
}
