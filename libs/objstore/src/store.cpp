#include "millrace/objstore/store.hpp"

#include "azure.hpp"
#include "credentials.hpp"
#include "directory.hpp"
#include "http.hpp"
#include "millrace/core/base64.hpp"
#include "millrace/core/options.hpp"
#include "millrace/http/client.hpp"
#include "millrace/objstore/options.hpp"
#include "s3.hpp"

namespace millrace::objstore {

std::unique_ptr<ObjectStore> open_store(const StoreOptions& o) {
  const auto part_bytes = o.part_mb << 20;
  detail::TransportOptions transport;
  transport.ca_file = o.ca_file;
  transport.stall = std::chrono::seconds(o.stall_s);
  switch (o.location.kind) {
    case Location::Kind::kDirectory:
      return detail::directory_store(o.location.path);
    case Location::Kind::kS3: {
      detail::S3Settings s;
      s.endpoint = o.s3_endpoint;
      s.region = o.s3_region.empty() ? "us-east-1" : o.s3_region;
      s.path_style = o.s3_addressing == S3Addressing::kPath ||
                     (o.s3_addressing == S3Addressing::kAuto && !o.s3_endpoint.empty());
      s.access_key_id = o.aws_access_key_id;
      s.secret_access_key = o.aws_secret_access_key;
      s.session_token = o.aws_session_token;
      s.part_bytes = part_bytes;
      return detail::s3_store(o.location, s, detail::Transport(http::make_client(), transport));
    }
    case Location::Kind::kAzureBlob: {
      detail::AzureSettings s;
      if (!o.azure_sas_file.empty()) {
        s.sas = detail::read_secret_file(o.azure_sas_file, "the Azure SAS token");
      } else {
        const auto key = detail::read_secret_file(o.azure_key_file, "the Azure shared key");
        if (!core::unbase64(key, s.shared_key)) {
          throw core::UsageError("the Azure shared key in " + o.azure_key_file +
                                 " is not base64 (copy the account's key1 or key2 as shown)");
        }
      }
      s.part_bytes = part_bytes;
      return detail::azure_store(o.location, s, detail::Transport(http::make_client(), transport));
    }
  }
  throw core::UsageError("unknown archive location");
}

std::string explain(const StoreError& e, const ObjectStore& store) {
  std::string out = e.what();
  // The hint follows as a sentence of its own.
  if (!out.empty() && out.back() == '.') out.pop_back();
  switch (e.kind()) {
    case ErrorKind::kCredentials:
      out += ". The store refused the credentials or their permissions for " + store.describe() +
             ": check them (and this host's clock, which signatures depend on); the archiver "
             "needs to list, read, write and delete objects under the prefix "
             "(docs/archive.md, \"Object storage\")";
      break;
    case ErrorKind::kNotFound:
      out += ". Does the bucket or container exist? The archiver does not create it";
      break;
    case ErrorKind::kNetwork:
      out += ". The store did not answer; is " + store.describe() + " reachable?";
      break;
    case ErrorKind::kChecksum:
      out += ". What the store received is not what was sent; the upload is retried";
      break;
    case ErrorKind::kServer:
    case ErrorKind::kRefused:
      break;
  }
  return out;
}

}  // namespace millrace::objstore
