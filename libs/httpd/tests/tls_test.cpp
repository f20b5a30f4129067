// The server over TLS (ServerOptions::tls_cert_file): a verified handshake,
// keep-alive, close_notify at the end, refusals read whole, and what it does
// with clients that do not speak TLS or never finish the handshake. The
// certificates are made here, with OpenSSL, for 127.0.0.1.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "millrace/httpd/server.hpp"
#include "raw_client.hpp"
#include "rig.hpp"

using namespace millrace::httpd;
using millrace::httpd::testing::Client;
using millrace::httpd::testing::post;
using millrace::httpd::testing::Rig;
using millrace::httpd::testing::starts_with;
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertFree {
  void operator()(X509* c) const { X509_free(c); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;

Key make_key() {
  Key key(EVP_EC_gen("P-256"));
  if (!key) throw std::runtime_error("EVP_EC_gen failed");
  return key;
}

// A self-signed certificate for 127.0.0.1 (its subjectAltName), valid for a day.
Cert make_cert(EVP_PKEY* key) {
  Cert cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("millrace test"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  for (const auto& [nid, value] : {std::pair{NID_subject_alt_name, "IP:127.0.0.1"},
                                   std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (ext == nullptr) throw std::runtime_error("X509V3_EXT_conf_nid failed");
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(cert.get(), key, EVP_sha256()) == 0) throw std::runtime_error("X509_sign failed");
  return cert;
}

// The files a server is given, in a directory removed at the end.
struct Files {
  Files() : dir(fs::temp_directory_path() / ("millrace-tls-" + std::to_string(::getpid()))) {
    fs::create_directories(dir);
    renew();
    const Key other = make_key();
    write(other_key_file(), [&](FILE* f) {
      return PEM_write_PrivateKey(f, other.get(), nullptr, nullptr, 0, nullptr, nullptr);
    });
  }
  ~Files() {
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }
  Files(const Files&) = delete;
  Files& operator=(const Files&) = delete;

  // A new key and certificate in cert_file() and key_file().
  void renew() const {
    const Key key = make_key();
    const Cert cert = make_cert(key.get());
    write(cert_file(), [&](FILE* f) { return PEM_write_X509(f, cert.get()); });
    write(key_file(), [&](FILE* f) {
      return PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    });
  }

  std::string cert_file() const { return (dir / "cert.pem").string(); }
  std::string key_file() const { return (dir / "key.pem").string(); }
  std::string other_key_file() const { return (dir / "other-key.pem").string(); }

  ServerOptions options() const {
    ServerOptions o;
    o.tls_cert_file = cert_file();
    o.tls_key_file = key_file();
    return o;
  }

  template <class Write>
  static void write(const std::string& path, Write w) {
    FILE* f = std::fopen(path.c_str(), "w");
    if (f == nullptr) throw std::runtime_error("cannot write " + path);
    const int ok = w(f);
    std::fclose(f);
    if (ok == 0) throw std::runtime_error("PEM_write failed for " + path);
  }

  fs::path dir;
};

// A blocking TLS client that verifies the server against `ca_file` and the
// name 127.0.0.1.
class TlsClient {
 public:
  TlsClient(int port, const std::string& ca_file)
      : context_(asio::ssl::context::tls_client), stream_(io_, context_) {
    context_.load_verify_file(ca_file);
    stream_.set_verify_mode(asio::ssl::verify_peer);
    stream_.set_verify_callback(asio::ssl::host_name_verification("127.0.0.1"));
    stream_.next_layer().connect(
        {asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
    stream_.handshake(asio::ssl::stream_base::client);
  }

  void send(const std::string& bytes) { asio::write(stream_, asio::buffer(bytes)); }

  // One response with a Content-Length body.
  std::string receive() {
    for (;;) {
      const auto head_end = buffer_.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        const auto at = buffer_.find("Content-Length: ");
        const std::size_t length = std::stoul(buffer_.substr(at + 16));
        const std::size_t end = head_end + 4 + length;
        if (buffer_.size() >= end) {
          std::string response = buffer_.substr(0, end);
          buffer_.erase(0, end);
          return response;
        }
      }
      if (read_some() != boost::system::error_code()) return "";
    }
  }

  // What ends the connection after its last response: eof after the
  // server's close_notify, stream_truncated without it.
  boost::system::error_code read_some() {
    char chunk[4096];
    boost::system::error_code ec;
    const std::size_t n = stream_.read_some(asio::buffer(chunk), ec);
    buffer_.append(chunk, n);
    return ec;
  }

 private:
  asio::io_context io_;
  asio::ssl::context context_;
  asio::ssl::stream<asio::ip::tcp::socket> stream_;
  std::string buffer_;
};

// Polls `done` for up to 5 s.
template <class Done>
bool eventually(Done done) {
  for (int i = 0; i < 250 && !done(); ++i) std::this_thread::sleep_for(20ms);
  return done();
}

}  // namespace

TEST_CASE("over TLS, a verified client is served, kept alive, and closed with close_notify",
          "[server][tls]") {
  const Files files;
  Rig rig(files.options());
  CHECK(rig.server.secure());
  TlsClient client(rig.server.port(), files.cert_file());
  client.send(post("{\"a\":1}"));
  const std::string first = client.receive();
  CHECK(starts_with(first, "HTTP/1.1 200 "));
  CHECK(first.find(R"({"body_bytes":7})") != std::string::npos);
  // The same connection again, now asking to close.
  client.send(post("{}", "Authorization: Bearer t\r\nConnection: close\r\n"));
  const std::string second = client.receive();
  CHECK(starts_with(second, "HTTP/1.1 200 "));
  CHECK(second.find("Connection: close") != std::string::npos);
  CHECK(client.read_some() == asio::error::eof);  // not a truncation
  CHECK(rig.handler.handled() == std::vector<std::string>{"POST /events 7", "POST /events 2"});
  CHECK(rig.handler.tls_failures == 0);
}

TEST_CASE("over TLS, a body over the limit still gets its 413 whole", "[server][tls]") {
  const Files files;
  ServerOptions options = files.options();
  options.max_body_bytes = 1000;
  Rig rig(options);
  TlsClient client(rig.server.port(), files.cert_file());
  client.send(post(std::string(5000, 'x')));
  const std::string refused = client.receive();
  CHECK(starts_with(refused, "HTTP/1.1 413 "));
  CHECK(refused.find(R"({"refused":"body_too_large"})") != std::string::npos);
  CHECK(rig.handler.handled().empty());
}

TEST_CASE("a plain-HTTP client on the TLS port gets no answer and is counted", "[server][tls]") {
  const Files files;
  Rig rig(files.options());
  Client client(rig.server.port());
  REQUIRE(client.send_raw("GET /events HTTP/1.1\r\nHost: t\r\n\r\n").empty());
  // No HTTP comes back: the server answers the "handshake" with an alert,
  // or nothing, and closes.
  CHECK(client.receive().find("HTTP/1.1") == std::string::npos);
  CHECK(eventually([&] { return rig.handler.tls_failures == 1; }));
  CHECK(rig.handler.handled().empty());
}

TEST_CASE("a client that connects and never finishes the handshake is closed at the idle timeout",
          "[server][tls]") {
  const Files files;
  ServerOptions options = files.options();
  options.idle_timeout = 300ms;
  Rig rig(options);
  Client client(rig.server.port());
  CHECK(client.at_eof());  // within the client's 5 s receive timeout
  CHECK(eventually([&] { return rig.server.connections() == 0; }));
}

TEST_CASE("TLS settings that cannot work stop the server before it listens", "[server][tls]") {
  const Files files;
  millrace::httpd::testing::GuardedHandler handler;
  ServerOptions only_cert;
  only_cert.tls_cert_file = files.cert_file();
  CHECK_THROWS_WITH(Server(only_cert, handler),
                    Catch::Contains("both a certificate and its private key"));
  ServerOptions wrong_key = files.options();
  wrong_key.tls_key_file = files.other_key_file();
  CHECK_THROWS_WITH(Server(wrong_key, handler),
                    Catch::Contains("is not the key of the certificate"));
  ServerOptions missing = files.options();
  missing.tls_cert_file = (files.dir / "absent.pem").string();
  CHECK_THROWS_WITH(Server(missing, handler), Catch::Contains("cannot use the TLS certificate") &&
                                                  Catch::Contains("absent.pem"));
  // A key file that is a certificate: named, its content never shown.
  ServerOptions swapped = files.options();
  swapped.tls_key_file = files.cert_file();
  CHECK_THROWS_WITH(Server(swapped, handler), Catch::Contains("cannot use the TLS private key") &&
                                                  !Catch::Contains("BEGIN CERTIFICATE"));
}

TEST_CASE("reload_tls: new connections get the renewed certificate, open ones keep theirs",
          "[server][tls]") {
  const Files files;
  Rig rig(files.options());
  const std::string first = (files.dir / "first.pem").string();
  fs::copy_file(files.cert_file(), first);
  TlsClient open_before(rig.server.port(), first);
  files.renew();
  // Until the reload the first certificate is served.
  TlsClient still_first(rig.server.port(), first);
  rig.server.reload_tls();
  // A client that trusts only the first certificate now refuses the server.
  CHECK_THROWS(TlsClient(rig.server.port(), first));
  TlsClient renewed(rig.server.port(), files.cert_file());
  renewed.send(post("{}"));
  CHECK(starts_with(renewed.receive(), "HTTP/1.1 200 "));
  // The connection opened before the reload goes on.
  open_before.send(post("{}"));
  CHECK(starts_with(open_before.receive(), "HTTP/1.1 200 "));

  // A broken key: the reload throws, and the renewed certificate stays.
  Files::write(files.key_file(), [](FILE* f) { return std::fputs("not a key\n", f) >= 0 ? 1 : 0; });
  CHECK_THROWS_WITH(rig.server.reload_tls(), Catch::Contains("cannot use the TLS private key"));
  TlsClient after_failure(rig.server.port(), files.cert_file());
  after_failure.send(post("{}"));
  CHECK(starts_with(after_failure.receive(), "HTTP/1.1 200 "));
}
