#include "millrace/webhooks/signature.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

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

// Each thread keeps the keyed contexts of the secrets it signed with last:
// a secret signed with again after more others than are kept, or on another
// thread, signs the same.
TEST_CASE("a secret signs the same after many others and on another thread") {
  std::vector<std::string> others;
  for (int i = 0; i < 20; ++i) others.push_back(new_secret());
  const auto of_each = [&] {
    std::vector<std::string> out;
    for (const auto& s : others) out.push_back(sign(s, kId, kTimestamp, kBody));
    return out;
  };
  CHECK(sign(kSecret, kId, kTimestamp, kBody) == kSignature);
  const auto first = of_each();
  CHECK(sign(kSecret, kId, kTimestamp, kBody) == kSignature);
  CHECK(of_each() == first);
  CHECK(sign(kSecret, kId, kTimestamp, "{}") != kSignature);  // the body, not the last one signed
  CHECK(sign(kSecret, kId, kTimestamp, kBody) == kSignature);
  std::vector<std::string> elsewhere;
  std::string vector_elsewhere;
  std::thread([&] {
    elsewhere = of_each();
    vector_elsewhere = sign(kSecret, kId, kTimestamp, kBody);
  }).join();
  CHECK(elsewhere == first);
  CHECK(vector_elsewhere == kSignature);
  for (std::size_t i = 0; i < others.size(); ++i) {
    CHECK(verify(first[i], others[i], kId, kTimestamp, kBody));
  }
}
