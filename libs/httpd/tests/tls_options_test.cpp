#include "millrace/httpd/tls_options.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

using millrace::core::OptionSet;
using millrace::core::UsageError;
using millrace::httpd::TlsFiles;

namespace {

TlsFiles parse(const std::map<std::string, std::string>& env) {
  TlsFiles tls;
  OptionSet options("test", "test");
  millrace::httpd::register_tls_options(options, tls, "MILLRACE_X");
  options.parse(env, {});
  millrace::httpd::validate_tls(tls, "MILLRACE_X");
  return tls;
}

}  // namespace

TEST_CASE("TLS files: both or neither, each readable, named by the variable", "[tls_options]") {
  const auto dir = std::filesystem::temp_directory_path();
  const std::string file = (dir / "millrace-tls-options-test.pem").string();
  std::ofstream(file) << "x";
  CHECK_FALSE(parse({}).enabled());
  const TlsFiles both = parse({{"MILLRACE_X_TLS_CERT", file}, {"MILLRACE_X_TLS_KEY", file}});
  CHECK(both.enabled());
  CHECK(both.cert_file == file);
  CHECK_THROWS_MATCHES(
      parse({{"MILLRACE_X_TLS_CERT", file}}), UsageError,
      Catch::Matchers::Message("--tls-cert / MILLRACE_X_TLS_CERT is set without --tls-key / "
                               "MILLRACE_X_TLS_KEY"));
  CHECK_THROWS_WITH(
      parse({{"MILLRACE_X_TLS_CERT", file}, {"MILLRACE_X_TLS_KEY", "/nonexistent/key.pem"}}),
      Catch::Contains("MILLRACE_X_TLS_KEY: cannot read /nonexistent/key.pem") &&
          Catch::Contains("No such file"));
  std::filesystem::remove(file);
}
