#pragma once

// Credentials read from files: AWS's shared credentials file (INI), and the
// Azure SAS token or shared key. Throw core::UsageError naming the file
// (never its contents).

#include <string>

namespace millrace::objstore::detail {

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
};

// The [profile] section of an AWS credentials file.
AwsCredentials read_aws_profile(const std::string& path, const std::string& profile);

// The file's one value: blanks and line ends around it removed (and a SAS
// token's leading '?').
std::string read_secret_file(const std::string& path, const std::string& what);

}  // namespace millrace::objstore::detail
