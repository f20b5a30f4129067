#include "millrace/httpd/service.hpp"

#include <utility>

#include "millrace/runtime/log.hpp"

namespace millrace::httpd {

HttpService::HttpService(std::string component, metrics::Registry& metrics)
    : component_(std::move(component)), server_probe_(metrics) {}

HttpService::~HttpService() = default;

void HttpService::start() {
  std::lock_guard lock(mutex_);
  if (started_) return;
  started_ = true;
  open();
  const Listen l = listen();
  ServerOptions options;
  options.host = l.host;
  options.port = l.port;
  options.threads = static_cast<int>(l.threads);
  options.max_body_bytes = static_cast<std::uint64_t>(l.max_body_bytes);
  options.max_connections = static_cast<std::size_t>(l.max_connections);
  options.tls_cert_file = l.tls.cert_file;
  options.tls_key_file = l.tls.key_file;
  server_.emplace(options, *this);
  server_probe_.watch(*server_);
  server_->on_failure([this](std::string what) { fail(std::move(what)); });
  bound_port_ = server_->port();
  server_->start();
  runtime::log_info(component_, std::string("serving ") + (server_->secure() ? "https" : "http") +
                                    "://" + l.host + ":" + std::to_string(bound_port_.load()) +
                                    describe());
}

void HttpService::stop() {
  std::lock_guard lock(mutex_);
  if (stopped_ || !started_) return;
  stopped_ = true;
  stopping_ = true;
  if (server_) server_->stop(drain_grace());
  close();
}

void HttpService::reload() {
  std::lock_guard lock(mutex_);
  if (server_ && !stopped_) reload_certificate(*server_, listen().tls, component_);
}

void HttpService::fail(std::string what) {
  if (failure_.fail(what)) runtime::log_error(component_, what);
}

}  // namespace millrace::httpd
