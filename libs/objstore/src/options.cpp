#include "millrace/objstore/options.hpp"

#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include "credentials.hpp"

namespace millrace::objstore {

void validate(StoreOptions& s) {
  try {
    s.location = parse_location(s.url);
  } catch (const std::invalid_argument& e) {
    throw core::UsageError(std::string("--archive-url / MILLRACE_ARCHIVE_URL: ") + e.what());
  }
  if (!s.s3_endpoint.empty() && s.s3_endpoint.rfind("http://", 0) != 0 &&
      s.s3_endpoint.rfind("https://", 0) != 0) {
    throw core::UsageError(
        "--s3-endpoint / MILLRACE_S3_ENDPOINT must start with http:// or "
        "https://: '" +
        s.s3_endpoint + "'");
  }
  if (s.s3_region.empty()) s.s3_region = "us-east-1";
  switch (s.location.kind) {
    case Location::Kind::kDirectory:
      break;
    case Location::Kind::kS3:
      if (s.aws_access_key_id.empty()) {
        std::string file = s.aws_credentials_file;
        if (file.empty()) {
          if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
            file = std::string(home) + "/.aws/credentials";
          }
        }
        if (!file.empty() && (!s.aws_credentials_file.empty() || std::ifstream(file).good())) {
          const auto c = detail::read_aws_profile(file, s.aws_profile);
          s.aws_access_key_id = c.access_key_id;
          s.aws_secret_access_key = c.secret_access_key;
          if (s.aws_session_token.empty()) s.aws_session_token = c.session_token;
        }
      }
      if (s.aws_access_key_id.empty() || s.aws_secret_access_key.empty()) {
        throw core::UsageError(
            "an s3:// archive needs credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
            "or a profile in AWS_SHARED_CREDENTIALS_FILE (AWS_PROFILE)");
      }
      break;
    case Location::Kind::kAzureBlob:
      // With both, the SAS token is used: it can be limited to the container.
      if (s.azure_sas_file.empty() && s.azure_key_file.empty()) {
        throw core::UsageError(
            "an Azure Blob archive needs MILLRACE_AZURE_SAS_FILE (a SAS token) or "
            "MILLRACE_AZURE_KEY_FILE (the account's shared key)");
      }
      break;
  }
}

}  // namespace millrace::objstore
