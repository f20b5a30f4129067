#pragma once

#include <string>
#include <string_view>

namespace millrace::core {

// Masking of secrets in what Millrace prints: logs, --check-config, --help
// and error messages. The rule is one and by name: a value is secret when its
// key names a password, secret, token, key or credential (see names_secret).
// Masked values are shown as "***".

// True when `key` (compared without case) contains "password", "passwd",
// "secret", "token", "key" or "credential": "sasl.password",
// "sasl.oauthbearer.client.secret", "ssl.key.pem", "sslkey",
// "MILLRACE_ADMIN_TOKEN", "aws_credentials". Deliberately broad: a path
// such as ssl.key.location is masked too, which costs nothing.
bool names_secret(std::string_view key);

// Masks, in free text such as a libpq conninfo or a URI:
//   - the value of every key=value whose key names a secret, up to the next
//     blank (libpq's '...' quoting understood; in a URI also up to & or #);
//   - the password of a URI's user:password@.
// "host=db password=x" -> "host=db password=***";
// "postgresql://u:x@db/m?sslpassword=y" -> "postgresql://u:***@db/m?sslpassword=***".
std::string mask_secrets(std::string_view text);

// Masks a key=value list as property_list.hpp reads it (librdkafka
// properties): the whole value of every key naming a secret, blanks and line
// breaks included (a PEM has both), with the items that continue it; an item
// without a key before any key is masked too.
std::string mask_property_list(std::string_view list);

// `text` with every occurrence of `secret` replaced by "***" (nothing when
// `secret` is empty): for messages of libraries that may echo a value.
std::string scrub(std::string text, std::string_view secret);

}  // namespace millrace::core
