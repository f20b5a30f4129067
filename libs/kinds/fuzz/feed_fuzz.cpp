// libFuzzer target: a WebSocket text frame as millrace-websocket maps it
// (kinds::map_frame) with the built-in Finnhub and Binance feed files onto the
// built-in trade kind. Beyond not crashing: a frame is records, control or
// refused; a refusal says why; every record produced is one the kind takes,
// and taken again, gives the same payload.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "millrace/kinds/feed.hpp"
#include "millrace/kinds/record.hpp"
#include "millrace/kinds/registry.hpp"

namespace {

using millrace::kinds::Declaration;
using millrace::kinds::FeedDecl;
using millrace::kinds::MappedFrame;

void check(bool condition) {
  if (!condition) std::abort();
}

void one(const FeedDecl& feed, const Declaration& trade, std::string_view frame) {
  const auto m = millrace::kinds::map_frame(feed, trade, frame, {"run-1", 7});
  switch (m.outcome) {
    case MappedFrame::Outcome::kRefused:
      check(!m.rejection.detail.empty());
      check(m.records.empty());
      break;
    case MappedFrame::Outcome::kControl:
      check(m.records.empty());
      break;
    case MappedFrame::Outcome::kRecords:
      check(!m.records.empty());
      for (const auto& r : m.records) {
        const auto parsed = millrace::kinds::parse_record(trade, r.payload);
        check(std::holds_alternative<millrace::kinds::Record>(parsed));
      }
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Declaration trade = millrace::kinds::find_kind("trade", "");
  static const FeedDecl finnhub = millrace::kinds::load_feed("finnhub", "").feed;
  static const FeedDecl binance = millrace::kinds::load_feed("binance", "").feed;
  const std::string_view frame(reinterpret_cast<const char*>(data), size);
  one(finnhub, trade, frame);
  one(binance, trade, frame);
  return 0;
}
