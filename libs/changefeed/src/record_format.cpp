#include "millrace/changefeed/record_format.hpp"

namespace millrace::changefeed {

namespace {

class MillraceFormat final : public RecordFormat {
 public:
  explicit MillraceFormat(std::string topic) : topic_(std::move(topic)) {}

  void encode(const Change& change, std::vector<OutRecord>& out) override {
    OutRecord r;
    r.topic = topic_;
    std::string id;
    encode_change(change, id, r.key.emplace(), r.value.emplace());
    r.headers.emplace_back(kChangeIdHeader, std::move(id));
    out.push_back(std::move(r));
  }

 private:
  std::string topic_;
};

}  // namespace

std::unique_ptr<RecordFormat> millrace_format(std::string topic) {
  return std::make_unique<MillraceFormat>(std::move(topic));
}

}  // namespace millrace::changefeed
