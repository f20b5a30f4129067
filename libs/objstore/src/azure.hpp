#pragma once

// Azure Blob Storage's REST API (block blobs), authorised by a SAS token
// appended to each URL or by the account's shared key (HMAC-SHA256 of the
// request's canonical form, "Authorize with Shared Key").

#include <cstdint>
#include <memory>
#include <string>

#include "http.hpp"
#include "millrace/objstore/location.hpp"
#include "millrace/objstore/store.hpp"

namespace millrace::objstore::detail {

struct AzureSettings {
  std::string sas;         // the token without '?'; or
  std::string shared_key;  // the account key's bytes (base64-decoded)
  std::int64_t part_bytes = 16 << 20;
  // For tests: the x-ms-date value (empty: now).
  std::string fixed_date;
};

std::unique_ptr<ObjectStore> azure_store(Location location, AzureSettings settings,
                                         Transport transport);

// The string a Shared Key signature is computed over, for a request as
// azure_store() builds it (exposed for its unit test against Microsoft's
// documented form).
struct AzureSigned {
  std::string method;
  std::string account;
  std::string path;  // the URL's encoded path, "/container/blob" or "/account/container/blob"
  std::vector<std::pair<std::string, std::string>> query;  // decoded
  std::vector<std::pair<std::string, std::string>> headers;
  std::size_t content_length = 0;
};
std::string azure_string_to_sign(const AzureSigned& request);

}  // namespace millrace::objstore::detail
