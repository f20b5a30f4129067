#include "millrace/objstore/options.hpp"

#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include "credentials.hpp"

namespace millrace::objstore {

void register_options(core::OptionSet& o, StoreOptions& s) {
  using Shown = core::OptionSet::Shown;
  o.add_string("s3-endpoint", "MILLRACE_S3_ENDPOINT", &s.s3_endpoint,
               "S3: the store's endpoint, http(s)://host[:port], for an S3-compatible store "
               "(MinIO, Ceph, SeaweedFS, R2, ...); empty: AWS's endpoint for the region");
  o.add_string("s3-region", "MILLRACE_S3_REGION", &s.s3_region,
               "S3: the region requests are signed for (else AWS_REGION, AWS_DEFAULT_REGION, "
               "us-east-1)");
  o.add_env_fallback("s3-region", "AWS_REGION");
  o.add_env_fallback("s3-region", "AWS_DEFAULT_REGION");
  o.add_enum("s3-addressing", "MILLRACE_S3_ADDRESSING", &s.s3_addressing, kS3AddressingNames,
             "S3: path (endpoint/bucket/key), virtual (bucket.endpoint/key) or auto (virtual "
             "on AWS, path with --s3-endpoint)");
  o.add_string("aws-access-key-id", "AWS_ACCESS_KEY_ID", &s.aws_access_key_id,
               "S3: the access key id (else from the shared credentials file)", Shown::kSecret);
  o.add_string("aws-secret-access-key", "AWS_SECRET_ACCESS_KEY", &s.aws_secret_access_key,
               "S3: the secret access key", Shown::kSecret);
  o.add_string("aws-session-token", "AWS_SESSION_TOKEN", &s.aws_session_token,
               "S3: a session token, with temporary credentials", Shown::kSecret);
  o.add_string("aws-credentials-file", "AWS_SHARED_CREDENTIALS_FILE", &s.aws_credentials_file,
               "S3: AWS's shared credentials file, read when AWS_ACCESS_KEY_ID is not set "
               "(default: ~/.aws/credentials)");
  o.add_string("aws-profile", "AWS_PROFILE", &s.aws_profile,
               "S3: the profile of the shared credentials file");
  o.add_string("azure-sas-file", "MILLRACE_AZURE_SAS_FILE", &s.azure_sas_file,
               "Azure Blob: a file holding a SAS token for the container (read, add, create, "
               "write, delete and list)");
  o.add_string("azure-key-file", "MILLRACE_AZURE_KEY_FILE", &s.azure_key_file,
               "Azure Blob: a file holding the storage account's shared key (base64), used when "
               "no SAS token file is set");
  o.add_string("archive-ca-file", "MILLRACE_ARCHIVE_CA_FILE", &s.ca_file,
               "CA certificates (PEM) an https store endpoint is verified with; empty: the "
               "system's");
  o.add_int("archive-part-mb", "MILLRACE_ARCHIVE_PART_MB", &s.part_mb,
            "Files larger than this many MiB go up in parts of this size (S3 multipart "
            "upload, Azure blocks); smaller ones in one request",
            5, 5000);
  o.add_duration("archive-stall-s", "MILLRACE_ARCHIVE_STALL_S", &s.stall_s,
                 core::OptionSet::DurationUnit::kSeconds,
                 "A request to the store that moves no byte for this long is abandoned "
                 "(and the batch retried)",
                 5, 3600);
}

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
