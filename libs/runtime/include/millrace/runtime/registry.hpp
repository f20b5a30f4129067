#pragma once
// The registry of services (services/registry.json, compiled in): each
// service's name, summary, metrics port, whether it is a consumer group,
// its database role and that role's grants. Everything else that must know
// every service reads it or is generated from it (docs/adding-a-service.md):
// what CMake builds, `millrace grant`, the consumer-group kinds `millrace
// migrate` records, the local stack's roles, and the deploy files and docs
// tables `scripts/services generate` writes.

#include <string>
#include <string_view>
#include <vector>

namespace millrace::runtime {

// One GRANT: `privileges` ("SELECT, INSERT") on `tables` of the schema.
struct TableGrant {
  std::string privileges;
  std::vector<std::string> tables;
};

struct ServiceEntry {
  std::string name;     // "archiver": services/<name>, the log component
  std::string program;  // "millrace-<name>", the executable and Prometheus job
  std::string summary;  // the first paragraph of --help
  int metrics_port = 0;
  // A member of a consumer group of kind `name` (consumer_groups.kind).
  bool consumer_group = false;
  // "own": a role of its own, granted by `millrace grant --<name>`;
  // "replication": a REPLICATION role (the change feed); "api": the API's
  // reader and admin roles (`millrace api grant`); "none".
  std::string database_role;
  // What `millrace grant` gives an "own" role, besides USAGE on the schema
  // (and, for a consumer group, the group tables every fenced commit
  // touches: consumer_grants()).
  std::vector<TableGrant> grants;
  std::vector<std::string> functions;  // EXECUTE, with their signatures
  bool sequences = true;               // USAGE on the schema's sequences
};

// Every service, in the registry's order. The registry is checked when it
// is first read (a missing field or a name used twice throws
// std::logic_error: a build with a broken registry fails its tests).
const std::vector<ServiceEntry>& services();
// The service named `name`; throws std::out_of_range naming it.
const ServiceEntry& service(std::string_view name);

// "127.0.0.1:<metrics_port>": where `name` serves its metrics (an HTTP
// service, its HTTP address) unless told otherwise.
std::string default_metrics_addr(std::string_view name);

// The tables every consumer group's fenced commit touches (libs/stream).
std::vector<TableGrant> consumer_grants();

}  // namespace millrace::runtime
