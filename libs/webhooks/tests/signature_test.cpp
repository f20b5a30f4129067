#include "millrace/webhooks/signature.hpp"

#include <catch2/catch.hpp>

using namespace millrace::webhooks;

namespace {
// The Standard Webhooks specification's published test vector.
constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char* kId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr std::int64_t kTimestamp = 1614265330;
constexpr const char* kBody = R"({"test": 2432232314})";
constexpr const char* kSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
}  // namespace

TEST_CASE("the signature of the specification's test vector") {
  CHECK(sign(kSecret, kId, kTimestamp, kBody) == kSignature);
  CHECK(verify(kSignature, kSecret, kId, kTimestamp, kBody));
}

TEST_CASE("anything changed in id, timestamp or body breaks the signature") {
  CHECK_FALSE(verify(kSignature, kSecret, "msg_other", kTimestamp, kBody));
  CHECK_FALSE(verify(kSignature, kSecret, kId, kTimestamp + 1, kBody));
  CHECK_FALSE(verify(kSignature, kSecret, kId, kTimestamp, R"({"test": 2432232315})"));
  CHECK_FALSE(verify("v1,AAAA", kSecret, kId, kTimestamp, kBody));
  CHECK_FALSE(
      verify("v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", kSecret, kId, kTimestamp, kBody));
}

TEST_CASE("one signature per secret, each verifiable on its own") {
  const std::string other = new_secret();
  const auto header = signature_header({other, kSecret}, kId, kTimestamp, kBody);
  CHECK(header == sign(other, kId, kTimestamp, kBody) + " " + kSignature);
  CHECK(verify(header, kSecret, kId, kTimestamp, kBody));
  CHECK(verify(header, other, kId, kTimestamp, kBody));
  CHECK_FALSE(verify(header, new_secret(), kId, kTimestamp, kBody));
}

TEST_CASE("secrets are whsec_ and the base64 of 16 to 64 bytes") {
  CHECK(is_secret(kSecret));
  const auto a = new_secret();
  const auto b = new_secret();
  CHECK(is_secret(a));
  CHECK(a != b);
  CHECK(a.size() == 6 + 44);                                         // 32 bytes
  CHECK_FALSE(is_secret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));        // no prefix
  CHECK_FALSE(is_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS"));   // not base64 length
  CHECK_FALSE(is_secret("whsec_MfKQ9r8GKYqrTwjU*D8ILPZIo2LaLaSw"));  // not the alphabet
  CHECK_FALSE(is_secret("whsec_c2hvcnQ="));                          // 5 bytes
  CHECK_FALSE(is_secret("whsec_"));
  CHECK_THROWS_AS(sign("secret", kId, kTimestamp, kBody), std::invalid_argument);
}
