#include "millrace/runtime/registry.hpp"

#include <rapidjson/document.h>

#include <set>
#include <stdexcept>

namespace millrace::runtime {

namespace {

// services/registry.json's text, as CMake found it at configure time.
constexpr const char* kRegistryJson =
#include "registry_json.inc"
    ;

const rapidjson::Value& member(const rapidjson::Value& object, const char* name,
                               const std::string& where) {
  if (!object.IsObject() || !object.HasMember(name)) {
    throw std::logic_error("services/registry.json: " + where + " has no \"" + name + "\"");
  }
  return object[name];
}

std::string string_of(const rapidjson::Value& object, const char* name, const std::string& where) {
  const auto& v = member(object, name, where);
  if (!v.IsString()) {
    throw std::logic_error("services/registry.json: " + where + "." + name + " is not a string");
  }
  return v.GetString();
}

std::vector<std::string> strings_of(const rapidjson::Value& array, const std::string& where) {
  if (!array.IsArray()) throw std::logic_error("services/registry.json: " + where + " is no list");
  std::vector<std::string> out;
  for (const auto& v : array.GetArray()) {
    if (!v.IsString())
      throw std::logic_error("services/registry.json: " + where + " holds a non-string");
    out.emplace_back(v.GetString());
  }
  return out;
}

ServiceEntry entry_of(const rapidjson::Value& v) {
  ServiceEntry e;
  e.name = string_of(v, "name", "a service");
  const std::string where = "service " + e.name;
  e.program = "millrace-" + e.name;
  e.summary = string_of(v, "summary", where);
  const auto& port = member(v, "metrics_port", where);
  if (!port.IsInt() || port.GetInt() <= 0 || port.GetInt() > 65535) {
    throw std::logic_error("services/registry.json: " + where + ".metrics_port is no port");
  }
  e.metrics_port = port.GetInt();
  const auto& group = member(v, "consumer_group", where);
  if (!group.IsBool()) {
    throw std::logic_error("services/registry.json: " + where + ".consumer_group is no boolean");
  }
  e.consumer_group = group.GetBool();
  e.database_role = string_of(v, "database_role", where);
  static const std::set<std::string> kRoles = {"own", "replication", "api", "none"};
  if (!kRoles.contains(e.database_role)) {
    throw std::logic_error("services/registry.json: " + where + ".database_role \"" +
                           e.database_role + "\" is not own, replication, api or none");
  }
  if (v.HasMember("grants")) {
    const auto& grants = v["grants"];
    if (!grants.IsArray())
      throw std::logic_error("services/registry.json: " + where + ".grants is no list");
    for (const auto& g : grants.GetArray()) {
      e.grants.push_back({string_of(g, "privileges", where + ".grants"),
                          strings_of(member(g, "tables", where + ".grants"), where + ".grants")});
    }
  }
  if (v.HasMember("functions")) e.functions = strings_of(v["functions"], where + ".functions");
  if (v.HasMember("sequences")) {
    if (!v["sequences"].IsBool()) {
      throw std::logic_error("services/registry.json: " + where + ".sequences is no boolean");
    }
    e.sequences = v["sequences"].GetBool();
  }
  if (e.database_role != "own" && !e.grants.empty()) {
    throw std::logic_error("services/registry.json: " + where +
                           " has grants but no role of its own to receive them");
  }
  return e;
}

std::vector<ServiceEntry> read_registry() {
  rapidjson::Document doc;
  doc.Parse(kRegistryJson);
  if (doc.HasParseError()) {
    throw std::logic_error("services/registry.json is not valid JSON (offset " +
                           std::to_string(doc.GetErrorOffset()) + ")");
  }
  const auto& list = member(doc, "services", "the registry");
  if (!list.IsArray()) throw std::logic_error("services/registry.json: services is no list");
  std::vector<ServiceEntry> out;
  std::set<std::string> names;
  std::set<int> ports;
  for (const auto& v : list.GetArray()) {
    auto e = entry_of(v);
    if (!names.insert(e.name).second) {
      throw std::logic_error("services/registry.json: " + e.name + " is listed twice");
    }
    if (!ports.insert(e.metrics_port).second) {
      throw std::logic_error("services/registry.json: " + e.name + "'s metrics_port " +
                             std::to_string(e.metrics_port) + " is another service's");
    }
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

const std::vector<ServiceEntry>& services() {
  static const std::vector<ServiceEntry> registry = read_registry();
  return registry;
}

const ServiceEntry& service(std::string_view name) {
  for (const auto& e : services()) {
    if (e.name == name) return e;
  }
  throw std::out_of_range("no service \"" + std::string(name) + "\" in services/registry.json");
}

std::string default_metrics_addr(std::string_view name) {
  return "127.0.0.1:" + std::to_string(service(name).metrics_port);
}

std::vector<TableGrant> consumer_grants() {
  // schema_migrations: a member that does not migrate waits until the
  // schema has every migration it needs (pg::require_migrated).
  return {{"SELECT, INSERT", {"consumer_groups", "offset_gaps"}},
          {"SELECT, INSERT, UPDATE", {"consumer_offsets", "record_outcomes"}},
          {"SELECT", {"schema_migrations"}}};
}

}  // namespace millrace::runtime
