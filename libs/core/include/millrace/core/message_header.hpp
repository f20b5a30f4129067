#pragma once

#include <string_view>

namespace millrace::core {

// One header of a message as a producer sends it, by view: the transport's
// own header (kafka::OutHeader) is this type, so a kind's headers go to
// Kafka without a copy and the transport needs to know no kind.
struct MessageHeader {
  std::string_view key;
  std::string_view value;
};

}  // namespace millrace::core
