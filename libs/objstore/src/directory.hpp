#pragma once

// A local directory as an ObjectStore: keys are paths under it. What the
// archive's readers (verify, replay) see of a file:// archive; the archiver
// itself writes directories through archive::DirectoryDestination, which
// also fsyncs.

#include <memory>
#include <string>

#include "millrace/objstore/store.hpp"

namespace millrace::objstore::detail {

std::unique_ptr<ObjectStore> directory_store(std::string root);

}  // namespace millrace::objstore::detail
