#include "credentials.hpp"

#include <cctype>
#include <fstream>
#include <sstream>

#include "common.hpp"
#include "millrace/core/options.hpp"

namespace millrace::objstore::detail {

AwsCredentials read_aws_profile(const std::string& path, const std::string& profile) {
  std::ifstream in(path);
  if (!in) throw core::UsageError("cannot read the AWS credentials file " + path);
  AwsCredentials out;
  bool inside = false, found = false;
  std::string line;
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      inside = trim(line.substr(1, line.size() - 2)) == profile;
      found = found || inside;
      continue;
    }
    if (!inside) continue;
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string name = trim(line.substr(0, eq));
    const std::string value = trim(line.substr(eq + 1));
    if (name == "aws_access_key_id") out.access_key_id = value;
    if (name == "aws_secret_access_key") out.secret_access_key = value;
    if (name == "aws_session_token") out.session_token = value;
  }
  if (!found) {
    throw core::UsageError("the AWS credentials file " + path + " has no [" + profile +
                           "] profile (AWS_PROFILE)");
  }
  return out;
}

std::string read_secret_file(const std::string& path, const std::string& what) {
  std::ifstream in(path);
  if (!in) throw core::UsageError("cannot read " + what + " from " + path);
  std::stringstream text;
  text << in.rdbuf();
  std::string value = trim(text.str());
  if (!value.empty() && value.front() == '?') value.erase(0, 1);
  if (value.empty()) throw core::UsageError(what + " file " + path + " is empty");
  return value;
}

}  // namespace millrace::objstore::detail
