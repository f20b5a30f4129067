#include "millrace/catalog/reader.hpp"

#include <csv.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <algorithm>

namespace millrace::catalog {

std::optional<Format> parse_format(std::string_view name) {
  if (name == "csv") return Format::kCsv;
  if (name == "ndjson" || name == "jsonl") return Format::kNdjson;
  return std::nullopt;
}

std::optional<Format> format_of_path(std::string_view path) {
  const auto dot = path.rfind('.');
  if (dot == std::string_view::npos) return std::nullopt;
  return parse_format(path.substr(dot + 1));
}

struct Reader::State {
  Format format;
  std::optional<Table> table;
  std::uint64_t line = 0;  // the line being fed

  // CSV: libcsv's parser, the header, and the record being assembled.
  csv_parser parser{};
  bool parser_ready = false;
  std::vector<std::string> header;
  std::vector<std::optional<std::string>> fields;
  std::uint64_t record_start = 0;
  std::vector<Line>* out = nullptr;

  // NDJSON: objects read so far, or the text of a top-level array (read
  // whole at the end).
  static constexpr unsigned kJsonFlags =
      rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseValidateEncodingFlag;
  std::uint64_t objects = 0;
  bool array = false;
  std::string document;

  State(Format f, std::optional<Table> t) : format(f), table(t) {
    if (format == Format::kCsv) init_parser();
  }
  ~State() {
    if (parser_ready) csv_free(&parser);
  }

  void init_parser() {
    if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL | CSV_EMPTY_IS_NULL) !=
        0) {
      throw std::bad_alloc();
    }
    parser_ready = true;
  }

  static void on_field(void* field, std::size_t size, void* self) {
    auto* s = static_cast<State*>(self);
    if (field == nullptr) {
      s->fields.emplace_back(std::nullopt);
    } else {
      s->fields.emplace_back(std::string(static_cast<const char*>(field), size));
    }
  }
  static void on_record(int, void* self) { static_cast<State*>(self)->record(); }

  void record() {
    const std::uint64_t number = record_start;
    record_start = 0;
    auto values = std::move(fields);
    fields.clear();
    if (header.empty()) {
      take_header(values);
      return;
    }
    if (values.size() != header.size()) {
      out->push_back({number, "a record of " + std::to_string(values.size()) +
                                  " field(s); the header names " + std::to_string(header.size())});
      return;
    }
    Fields named;
    for (std::size_t i = 0; i < values.size(); ++i) named.emplace_back(header[i], values[i]);
    out->push_back({number, make_record(*table, named)});
  }

  void take_header(const std::vector<std::optional<std::string>>& values) {
    for (const auto& v : values) {
      if (!v || v->empty()) throw InputError("line 1: the CSV header has an empty column name");
      if (std::find(header.begin(), header.end(), *v) != header.end()) {
        throw InputError("line 1: the CSV header names \"" + *v + "\" twice");
      }
      header.push_back(*v);
    }
    if (!table) table = infer_table(header);
    if (!table) {
      throw InputError(
          "line 1: the CSV header names none of sku (products), symbol (assets) or name "
          "(categories); give --table");
    }
    const auto& known = columns(*table);
    for (const auto& h : header) {
      if (ignores_unknown_fields(*table)) break;
      if (std::find(known.begin(), known.end(), h) == known.end()) {
        std::string list;
        for (const auto c : known) list += (list.empty() ? "" : ", ") + std::string(c);
        throw InputError("line 1: the CSV header names \"" + h + "\", which " +
                         std::string(table_name(*table)) + " does not have (" + list + ")");
      }
    }
  }

  void feed_csv(std::string_view text, std::vector<Line>& sink) {
    out = &sink;
    const bool blank = std::all_of(text.begin(), text.end(), [](char c) { return c == ' '; });
    if (record_start == 0 && blank) return;  // a blank line between records
    if (record_start == 0) record_start = line;
    std::string with_end(text);
    with_end += '\n';
    const auto used = csv_parse(&parser, with_end.data(), with_end.size(), &State::on_field,
                                &State::on_record, this);
    if (used != with_end.size()) malformed(sink);
  }

  // The parser refused the record (a stray quote): the record is an error,
  // and reading starts again on the next line.
  void malformed(std::vector<Line>& sink) {
    sink.push_back({record_start == 0 ? line : record_start,
                    std::string("malformed CSV: ") + csv_strerror(csv_error(&parser))});
    csv_free(&parser);
    parser_ready = false;
    fields.clear();
    record_start = 0;
    init_parser();
  }

  void feed_ndjson(std::string_view text, std::vector<Line>& sink) {
    const bool blank =
        std::all_of(text.begin(), text.end(), [](char c) { return c == ' ' || c == '\t'; });
    if (!array && objects == 0 && !blank && text[text.find_first_not_of(" \t")] == '[') {
      array = true;  // a REST API's answer: one array of objects, however laid out
    }
    if (array) {
      document.append(text);
      document.push_back('\n');
      return;
    }
    if (blank) return;
    ++objects;
    rapidjson::Document d;
    d.Parse<kJsonFlags>(text.data(), text.size());
    if (d.HasParseError()) {
      sink.push_back({line, std::string("not JSON: ") +
                                rapidjson::GetParseError_En(d.GetParseError()) + " at byte " +
                                std::to_string(d.GetErrorOffset() + 1)});
      return;
    }
    take_object(d, line, sink);
  }

  // The whole array, once it has all come: each element is one record, its
  // number its place in the array (1-based).
  void finish_array(std::vector<Line>& sink) {
    rapidjson::Document d;
    d.Parse<kJsonFlags>(document.data(), document.size());
    if (d.HasParseError()) {
      throw InputError(std::string("not a JSON array: ") +
                       rapidjson::GetParseError_En(d.GetParseError()) + " at byte " +
                       std::to_string(d.GetErrorOffset() + 1));
    }
    if (!d.IsArray()) throw InputError("not a JSON array");
    std::uint64_t n = 0;
    for (const auto& item : d.GetArray()) take_object(item, ++n, sink);
    document.clear();
  }

  void take_object(const rapidjson::Value& d, std::uint64_t number, std::vector<Line>& sink) {
    if (!d.IsObject()) {
      sink.push_back({number, "not a JSON object"});
      return;
    }
    Fields named;
    std::vector<std::string> nested;  // members holding an object or an array
    for (const auto& m : d.GetObject()) {
      std::string name(m.name.GetString(), m.name.GetStringLength());
      const auto& v = m.value;
      if (v.IsNull()) {
        named.emplace_back(std::move(name), std::nullopt);
      } else if (v.IsString()) {
        named.emplace_back(std::move(name), std::string(v.GetString(), v.GetStringLength()));
      } else if (v.IsBool()) {
        named.emplace_back(std::move(name), std::string(v.GetBool() ? "true" : "false"));
      } else {
        nested.push_back(std::move(name));
      }
    }
    if (!table) {
      std::vector<std::string> names;
      for (const auto& [n, v] : named) names.push_back(n);
      table = infer_table(names);
      if (!table) {
        throw InputError((array ? "element " : "line ") + std::to_string(number) +
                         ": the first object has none of sku (products), symbol (assets) or "
                         "name (categories); give --table");
      }
    }
    const auto& known = columns(*table);
    for (const auto& name : nested) {
      // A member no column takes is left alone where the table ignores
      // unknown ones, whatever it holds.
      if (ignores_unknown_fields(*table) &&
          std::find(known.begin(), known.end(), name) == known.end()) {
        continue;
      }
      sink.push_back({number, "\"" + name + "\" must be a string, a number or a boolean"});
      return;
    }
    sink.push_back({number, make_record(*table, named)});
  }
};

Reader::Reader(Format format, std::optional<Table> table)
    : state_(std::make_unique<State>(format, table)) {}

Reader::~Reader() = default;

void Reader::feed_line(std::string_view line, std::vector<Line>& out) {
  ++state_->line;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (state_->format == Format::kCsv) {
    state_->feed_csv(line, out);
  } else {
    state_->feed_ndjson(line, out);
  }
}

void Reader::finish(std::vector<Line>& out) {
  if (state_->array) state_->finish_array(out);
  if (state_->format != Format::kCsv) return;
  state_->out = &out;
  if (csv_fini(&state_->parser, &State::on_field, &State::on_record, state_.get()) != 0) {
    out.push_back({state_->record_start, "malformed CSV: a quoted field is never closed"});
  }
}

std::optional<Table> Reader::table() const {
  return state_->table;
}

}  // namespace millrace::catalog
