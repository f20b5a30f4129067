#pragma once

#include <cstdint>
#include <string>

#include "millrace/archive/capture.hpp"
#include "millrace/archive/settings.hpp"
#include "millrace/core/options.hpp"
#include "millrace/kinds/options.hpp"
#include "millrace/objstore/options.hpp"
#include "millrace/stream/consumer.hpp"

namespace millrace::archive {

// Everything millrace-archiver can be told: its own settings, declared in
// libs/archive/src/settings.cpp (their values in ArchiverSettings), and the
// components' below.
struct ArchiverConfig : ArchiverSettings {
  // Reading the topic: the shared consumer settings. Its batches are the
  // archive's time windows, so --batch-size and --batch-ms do not apply.
  stream::StreamConfig stream = stream::service_defaults(
      "archiver", kinds::store_event().topic, kinds::topic_setting(kinds::store_event()));
  // Where the archive goes: store.url (--archive-url), required;
  // --root / MILLRACE_ARCHIVE_ROOT is its older name for a directory.
  objstore::StoreOptions store;
  std::string root;
  std::string ns = "millrace";  // the layout's {namespace}

  RollPolicy policy;  // derived by validate()
};

void register_options(core::OptionSet& options, ArchiverConfig& config);

// Where the archive is, as millrace-archiver and `millrace archive` both
// take it: --archive-url, its older name --root (a directory), and the
// store's own settings. validate_location() resolves the two names into
// store.url and validates the store's settings; throws core::UsageError.
void register_location(core::OptionSet& options, objstore::StoreOptions& store, std::string& root);
// --namespace (MILLRACE_ARCHIVE_NAMESPACE), for the archiver and the
// commands that read its files.
void register_namespace(core::OptionSet& options, std::string& ns);
void validate_location(objstore::StoreOptions& store, const std::string& root);
// Throws core::UsageError naming the setting.
void validate(ArchiverConfig& config);

}  // namespace millrace::archive
