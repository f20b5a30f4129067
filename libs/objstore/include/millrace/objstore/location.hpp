#pragma once

// Where an archive lives, from its URL:
//   file:///var/lib/millrace/archive, or a plain absolute path
//   s3://bucket/prefix                              AWS S3 or any S3-compatible store
//   azblob://account/container/prefix               Azure Blob Storage
//   https://account.blob.core.windows.net/container/prefix
//   http://127.0.0.1:10000/devstoreaccount1/container/prefix   (Azurite: the
//        account is the path's first segment when the host is not
//        <account>.blob.<suffix>)

#include <cstdint>
#include <string>

namespace millrace::objstore {

struct Location {
  enum class Kind : std::uint8_t { kDirectory, kS3, kAzureBlob };
  Kind kind = Kind::kDirectory;
  std::string path;       // kDirectory: the directory
  std::string container;  // the S3 bucket or the Azure container
  // Keys' common start: empty, or ending with '/'.
  std::string prefix;
  std::string account;   // kAzureBlob
  std::string endpoint;  // kAzureBlob: "https://account.blob.core.windows.net" or
                         // "http://127.0.0.1:10000/devstoreaccount1" (no '/' at the end)

  bool is_directory() const { return kind == Kind::kDirectory; }
  // The URL again, normalised ("s3://bucket/prefix/"), for messages.
  std::string url() const;
};

// Throws std::invalid_argument saying what is wrong: an unknown scheme, no
// bucket or container, a bucket name S3 refuses, a relative path, "..".
Location parse_location(const std::string& url);

// "a/b" -> "a/b/"; "" and "/" -> ""; leading slashes dropped.
std::string normalise_prefix(std::string prefix);

}  // namespace millrace::objstore
