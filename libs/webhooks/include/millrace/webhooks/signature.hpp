#pragma once

// Standard Webhooks signatures (https://www.standardwebhooks.com): each
// request carries webhook-id, webhook-timestamp and webhook-signature, the
// last being "v1,<base64 HMAC-SHA256 over `id.timestamp.body`>" for each
// secret the endpoint accepts, separated by spaces. Secrets are "whsec_"
// followed by the base64 of the key.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace millrace::webhooks {

// True for "whsec_" + standard base64 of 16 to 64 bytes.
bool is_secret(std::string_view secret);
// A new secret: 32 random bytes from OpenSSL's generator.
std::string new_secret();

// "v1,<signature>" of one message with one secret. Throws
// std::invalid_argument when `secret` is not a secret.
std::string sign(std::string_view secret, std::string_view id, std::int64_t timestamp,
                 std::string_view body);
// The webhook-signature header: one "v1,..." per secret, space-separated.
std::string signature_header(const std::vector<std::string>& secrets, std::string_view id,
                             std::int64_t timestamp, std::string_view body);
// What a receiver checks: some "v1,..." of `header` is the signature with
// `secret` (compared in constant time).
bool verify(std::string_view header, std::string_view secret, std::string_view id,
            std::int64_t timestamp, std::string_view body);

}  // namespace millrace::webhooks
