#include "millrace/httpd/tls_options.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "millrace/core/setting.hpp"
#include "millrace/httpd/server.hpp"
#include "millrace/runtime/log.hpp"

namespace millrace::httpd {

void register_tls_options(core::OptionSet& o, TlsFiles& tls, const std::string& env_prefix) {
  core::declare(
      o, &tls.cert_file,
      {.flag = "tls-cert",
       .env = env_prefix + "_TLS_CERT",
       .help = "PEM file of the certificate to serve HTTPS with (the server's first, then "
               "intermediates); with --tls-key. Empty: plain HTTP"});
  core::declare(
      o, &tls.key_file,
      {.flag = "tls-key",
       .env = env_prefix + "_TLS_KEY",
       .help = "PEM file of the certificate's private key (unencrypted; keep it readable by "
               "this service only)"});
}

void validate_tls(const TlsFiles& tls, const std::string& env_prefix) {
  const std::string cert = "--tls-cert / " + env_prefix + "_TLS_CERT";
  const std::string key = "--tls-key / " + env_prefix + "_TLS_KEY";
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    throw core::UsageError(tls.cert_file.empty() ? key + " is set without " + cert
                                                 : cert + " is set without " + key);
  }
  for (const auto& [file, setting] : {std::pair{&tls.cert_file, &cert}, {&tls.key_file, &key}}) {
    if (file->empty()) continue;
    std::ifstream in(*file);
    if (!in) {
      throw core::UsageError(*setting + ": cannot read " + *file + " (" + std::strerror(errno) +
                             ")");
    }
  }
}

void reload_certificate(Server& server, const TlsFiles& tls, const std::string& component) {
  if (!server.secure()) {
    runtime::log_info(component, "SIGHUP: no TLS certificate to reload (plain HTTP)");
    return;
  }
  try {
    server.reload_tls();
    runtime::log_info(component, "SIGHUP: reloaded the TLS certificate " + tls.cert_file +
                                     " and its key; new connections use them");
  } catch (const std::runtime_error& e) {
    runtime::log_error(component,
                       std::string("SIGHUP: kept the TLS certificate in use: ") + e.what());
  }
}

}  // namespace millrace::httpd
