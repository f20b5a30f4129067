// libFuzzer target: the pgoutput decoder and the transaction assembler, on
// a replication stream PostgreSQL did not write. The input is a sequence of
// messages, each a 2-byte big-endian length and that many bytes (the
// payloads of XLogData). Each is decoded and fed to the assembler; every
// committed transaction's changes are encoded as the feed publishes them
// (JSON value, Kafka key, id). A broken stream must end in DecodeError,
// never in a crash or another exception.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "millrace/changefeed/assembler.hpp"
#include "millrace/changefeed/change.hpp"
#include "millrace/changefeed/pgoutput.hpp"

using namespace millrace::changefeed;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // A table's primary key when pgoutput does not flag it: its first column.
  Assembler assembler([](const Relation& relation) {
    return relation.columns.empty() ? std::vector<std::string>{}
                                    : std::vector<std::string>{relation.columns.front().name};
  });
  Lsn position = 0x16B374D848;
  while (input.size() >= 2) {
    const std::size_t length =
        (static_cast<std::uint8_t>(input[0]) << 8) | static_cast<std::uint8_t>(input[1]);
    input.remove_prefix(2);
    const std::string_view bytes = input.substr(0, length);
    input.remove_prefix(bytes.size());
    try {
      const auto transaction = assembler.feed(decode(bytes), position);
      position += bytes.size();
      if (!transaction) continue;
      for (const Change& change : transaction->changes) {
        const std::string id = change_id(change.source);
        (void)to_json(change, id);
        (void)kafka_key(change);
      }
    } catch (const DecodeError&) {
      return 0;  // the stream is broken: the feed stops here too
    }
  }
  return 0;
}
