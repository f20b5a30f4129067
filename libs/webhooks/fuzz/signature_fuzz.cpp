// libFuzzer target: webhook signature verification as a receiver runs it,
// on a header it does not control. The input is split at its first 0 byte
// into the header and the body. Beyond not crashing: a header that carries
// the true signature verifies, alone or among others.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "millrace/webhooks/signature.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

constexpr std::string_view kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr std::string_view kId = "0000000016B374D8-00000001";
constexpr std::int64_t kTimestamp = 1795500000;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto split = input.find('\0');
  const std::string_view header = input.substr(0, split);
  const std::string_view body =
      split == std::string_view::npos ? std::string_view() : input.substr(split + 1);
  using millrace::webhooks::sign;
  using millrace::webhooks::verify;
  const std::string truth = sign(kSecret, kId, kTimestamp, body);
  const bool verified = verify(header, kSecret, kId, kTimestamp, body);
  // A header that carries the true signature as one of its entries verifies.
  // (The converse is not checked: another base64 spelling of the same MAC
  // would verify too, and would still need the MAC.)
  if ((" " + std::string(header) + " ").find(" " + truth + " ") != std::string::npos) {
    check(verified);
  }
  check(verify(truth, kSecret, kId, kTimestamp, body));
  check(verify(std::string(header) + " " + truth, kSecret, kId, kTimestamp, body));
  // Whatever the header holds, it is no secret: is_secret judges it alone.
  (void)millrace::webhooks::is_secret(header);
  return 0;
}
