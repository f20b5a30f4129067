#include "millrace/archive/config.hpp"

#include <filesystem>
#include <stdexcept>

#include "millrace/core/setting.hpp"

namespace millrace::archive {

void register_namespace(core::OptionSet& o, std::string& ns) {
  core::declare(
      o, &ns,
      {.flag = "namespace",
       .env = "MILLRACE_ARCHIVE_NAMESPACE",
       .help = "The archive's namespace: the first directory of every file's path "
               "({namespace}/{topic}/{partition}/...), as Event Hubs Capture's namespace"});
}

void register_location(core::OptionSet& o, objstore::StoreOptions& store, std::string& root) {
  core::declare(
      o, &store.url,
      {.flag = "archive-url",
       .env = "MILLRACE_ARCHIVE_URL",
       .help = "Where the archive is written: file:///path (a directory: local, NFS, or a "
               "bucket mounted with a FUSE driver), s3://bucket/prefix (AWS S3 or an "
               "S3-compatible store) or azblob://account/container/prefix (or an https:// Blob "
               "URL). Files are staged under .staging/ there first, which every member of the "
               "group must reach too"});
  core::declare(o, &root,
                {.flag = "root",
                 .env = "MILLRACE_ARCHIVE_ROOT",
                 .help = "The older name of --archive-url for a directory (a path)"});
  objstore::register_options(o, store);
}

void validate_location(objstore::StoreOptions& store, const std::string& root) {
  if (!root.empty() && !store.url.empty() && root != store.url) {
    throw core::UsageError(
        "--archive-url / MILLRACE_ARCHIVE_URL and its older name --root / "
        "MILLRACE_ARCHIVE_ROOT are both set, differently: set one");
  }
  if (store.url.empty()) store.url = root;
  if (store.url.empty()) {
    throw core::UsageError(
        "--archive-url / MILLRACE_ARCHIVE_URL (or MILLRACE_ARCHIVE_ROOT) is "
        "required");
  }
  objstore::validate(store);
}

void validate(ArchiverConfig& c) {
  stream::validate(c.stream);
  validate_location(c.store, c.root);
  if (c.store.location.is_directory()) c.root = c.store.location.path;
  if (c.spool.empty()) {
    c.spool = (std::filesystem::temp_directory_path() / "millrace-archive-spool").string();
  }
  // A staged object is copied into place in one request, which S3 allows up
  // to 5 GB.
  if (!c.store.location.is_directory() && c.max_mb > 5000) {
    throw core::UsageError(
        "--max-mb / MILLRACE_ARCHIVE_MAX_MB is at most 5000 with an object "
        "store (a file is copied into place in one request)");
  }
  try {
    (void)capture_path(c.ns, c.stream.kafka.topic, 0, 0);
  } catch (const std::invalid_argument& e) {
    throw core::UsageError(std::string("--namespace / MILLRACE_ARCHIVE_NAMESPACE, or the topic: ") +
                           e.what());
  }
  c.policy.window_ms = c.window_s * 1000;
  c.policy.max_bytes = c.max_mb * 1'000'000;
  c.policy.block_bytes = c.max_record_kb * 1024;
}

}  // namespace millrace::archive
