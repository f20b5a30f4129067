#include "millrace/kinds/options.hpp"

#include <algorithm>
#include <stdexcept>

#include "millrace/core/setting.hpp"
#include "millrace/core/values.hpp"
#include "millrace/kinds/registry.hpp"

namespace millrace::kinds {

namespace {

// MILLRACE_ORDERS_TOPIC -> MILLRACE_ORDERS + suffix.
std::string topic_env_with(const Declaration& d, std::string_view suffix) {
  constexpr std::string_view kTopic = "_TOPIC";
  const std::string_view env = d.topic_env;
  const auto stem = env.ends_with(kTopic) ? env.substr(0, env.size() - kTopic.size()) : env;
  return std::string(stem) + std::string(suffix);
}

std::string pii_env(const Declaration& d) {
  return topic_env_with(d, "_PII");
}

std::string retention_env(const Declaration& d) {
  return topic_env_with(d, "_RETENTION");
}

}  // namespace

void register_options(core::OptionSet& o, KindOptions& k,
                      const std::map<std::string, std::string>& env, bool with_pii) {
  core::declare(o, &k.kind,
                {.flag = "kind",
                 .env = "MILLRACE_KIND",
                 .help = "The kind of event handled: store_event, order, or one declared in "
                         "MILLRACE_KINDS_DIR (docs/kinds.md)"});
  register_topic_options(o, k, env);
  if (!with_pii) return;
  const auto dir = env.find("MILLRACE_KINDS_DIR");
  for (auto& d : all_kinds(dir == env.end() ? "" : dir->second)) {
    if (d.kind == kStoreEvent) continue;
    k.pii[d.kind] = "hash";
    core::declare(o, &k.pii[d.kind],
                  {.flag = d.kind + "-pii",
                   .env = pii_env(d),
                   .help = "What is stored of the " + d.kind +
                           " kind's personal data: keep, hash (HMAC-SHA256 with MILLRACE_PII_KEY, "
                           "so equal values still join) or drop (NULL)"});
    k.retention[d.kind] = "";
    core::declare(
        o, &k.retention[d.kind],
        {.flag = d.kind + "-retention",
         .env = retention_env(d),
         .help = "How long the " + d.kind +
                 " kind's records are kept, by their time field: a duration (90d, 12h, "
                 "30m), 0 to keep every one; older partitions are dropped and older records "
                 "counted `expired`. Empty: its declaration's storage.retention (" +
                 (d.storage.retention ? core::format_duration(*d.storage.retention)
                                      : std::string("none, so kept")) +
                 ")"});
  }
  core::declare(
      o, &k.pii_key,
      {.flag = "pii-key",
       .env = "MILLRACE_PII_KEY",
       .help = "The key personal data is hashed with (at least 16 bytes; keep it secret and "
               "unchanged, or hashes of one value will differ)",
       .shown = core::Shown::kSecret});
}

void register_kinds_dir(core::OptionSet& o, std::string* dir) {
  core::declare(
      o, dir,
      {.flag = "kinds-dir",
       .env = "MILLRACE_KINDS_DIR",
       .help = "A directory of kind declarations of your own, <kind>.json each (docs/kinds.md)"});
}

void register_topic_options(core::OptionSet& o, KindOptions& k,
                            const std::map<std::string, std::string>& env) {
  // The options of each kind's topic are known only once the declarations
  // are read: those built in, and those in the directory the environment
  // names (a --kinds-dir flag adds kinds whose topic is their default).
  register_kinds_dir(o, &k.kinds_dir);
  const auto dir = env.find("MILLRACE_KINDS_DIR");
  for (auto& d : all_kinds(dir == env.end() ? "" : dir->second)) {
    // The store event's are the program's --topic (kafka::register_options,
    // with topic_setting's) and --dlq-topic, where the program has them.
    if (d.kind == kStoreEvent) continue;
    k.topics[d.kind] = d.topic;
    core::declare(o, &k.topics[d.kind], topic_setting(d));
    k.dlq_topics[d.kind] = "";
    core::declare(o, &k.dlq_topics[d.kind], dlq_topic_setting(d));
  }
}

core::Setting topic_setting(const Declaration& d) {
  // The store event's topic keeps the flag it had before there were other
  // kinds, --topic rather than --store_event-topic: it is the default
  // kind's, and scripts, env files and deployments name it. Its variable,
  // default and help are its declaration's, as every kind's.
  return {.flag = d.kind == kStoreEvent ? std::string("topic") : d.kind + "-topic",
          .env = d.topic_env,
          .help = "Kafka topic of the " + d.kind + " kind (" + d.description + ")"};
}

core::Setting dlq_topic_setting(const Declaration& d) {
  return {.flag = d.kind == kStoreEvent ? std::string("dlq-topic") : d.kind + "-dlq-topic",
          .env = topic_env_with(d, "_DLQ_TOPIC"),
          .help = "Dead-letter topic of the " + d.kind + " kind (default: <its topic>.dlq)"};
}

const Declaration& store_event() {
  static const Declaration d = find_kind(kStoreEvent, "");
  return d;
}

std::string dlq_topic(const KindOptions& k, const std::string& kind, const std::string& topic) {
  const auto it = k.dlq_topics.find(kind);
  return it == k.dlq_topics.end() || it->second.empty() ? topic + ".dlq" : it->second;
}

PiiMode pii_mode(const KindOptions& k) {
  if (!k.declaration) return PiiMode::kKeep;
  const auto personal = [](const std::vector<FieldDecl>& fields) {
    return std::any_of(fields.begin(), fields.end(), [](const FieldDecl& f) { return f.pii; });
  };
  const auto& d = *k.declaration;
  // A kind without personal data needs no key.
  if (!personal(d.fields) && !(d.lines && personal(d.lines->fields))) return PiiMode::kKeep;
  const auto it = k.pii.find(k.kind);
  const std::string mode = it == k.pii.end() ? "hash" : it->second;
  const std::string setting = "--" + k.kind + "-pii / " + pii_env(*k.declaration);
  if (mode == "keep") return PiiMode::kKeep;
  if (mode == "drop") return PiiMode::kDrop;
  if (mode != "hash") {
    throw core::UsageError(setting + ": expected keep, hash or drop, got \"" + mode + "\"");
  }
  if (k.pii_key.size() < 16) {
    throw core::UsageError(setting +
                           " is hash (the default): set MILLRACE_PII_KEY to a secret "
                           "of at least 16 bytes, or choose keep or drop");
  }
  return PiiMode::kHash;
}

std::optional<std::chrono::milliseconds> retention(const KindOptions& k) {
  if (!k.declaration) return std::nullopt;
  const auto it = k.retention.find(k.kind);
  if (it == k.retention.end() || it->second.empty()) return k.declaration->storage.retention;
  if (it->second == "0") return std::nullopt;
  const std::string setting = "--" + k.kind + "-retention / " + retention_env(*k.declaration);
  std::chrono::milliseconds d{0};
  try {
    d = core::parse_duration(it->second);
  } catch (const std::invalid_argument& e) {
    throw core::UsageError(setting + ": " + e.what() + "; or 0 to keep every record");
  }
  if (d < std::chrono::minutes(1)) {
    throw core::UsageError(setting + ": keep at least a minute (1m), or 0 to keep every record, " +
                           "got \"" + it->second + "\"");
  }
  return d;
}

std::string resolve(KindOptions& k, const std::string& store_event_topic) {
  if (k.kind == kStoreEvent) {
    // Its declaration is built in, but a views file beside the
    // declarations is read all the same: refused (add_views()), as its
    // views would otherwise be silently left empty.
    if (!k.kinds_dir.empty()) (void)find_kind(kStoreEvent, k.kinds_dir);
    return store_event_topic;
  }
  k.declaration = find_kind(k.kind, k.kinds_dir);
  const auto it = k.topics.find(k.kind);
  const std::string topic = it == k.topics.end() ? k.declaration->topic : it->second;
  if (topic.empty()) {
    throw core::UsageError("--" + k.kind + "-topic / " + k.declaration->topic_env +
                           " must not be empty");
  }
  return topic;
}

}  // namespace millrace::kinds
