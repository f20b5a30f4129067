#pragma once

// The settings every program that handles a declared kind shares: which
// kind (--kind, MILLRACE_KIND), where operators' own declarations live
// (--kinds-dir, MILLRACE_KINDS_DIR), and each kind's topic under the
// variable its declaration names (MILLRACE_ORDERS_TOPIC for orders). The
// store event's topic is a program's --topic (topic_setting).

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "millrace/core/options.hpp"
#include "millrace/core/setting.hpp"
#include "millrace/kinds/declaration.hpp"

namespace millrace::kinds {

struct KindOptions {
  std::string kind = "store_event";
  std::string kinds_dir;
  // Per declared kind other than the store event: its topic, and what is
  // stored of its personal data (keep, hash or drop; the variable is the
  // topic's with _PII for _TOPIC: MILLRACE_ORDERS_PII).
  std::map<std::string, std::string> topics;
  // Its dead-letter topic (empty: <topic>.dlq), under the topic's variable
  // with _DLQ_TOPIC for _TOPIC (MILLRACE_ORDERS_DLQ_TOPIC): the store
  // events' MILLRACE_DLQ_TOPIC, which an env file sets for every program,
  // must not send orders' letters among store events'.
  std::map<std::string, std::string> dlq_topics;
  std::map<std::string, std::string> pii;
  // How long its records are kept (--<kind>-retention, the topic's variable
  // with _RETENTION for _TOPIC: MILLRACE_ORDERS_RETENTION): a duration, 0
  // to keep every record, or empty for the declaration's storage.retention.
  std::map<std::string, std::string> retention;
  // The HMAC key personal data is hashed with (MILLRACE_PII_KEY).
  std::string pii_key;
  // Set by resolve(): the declaration of `kind` (nullopt for the store
  // event, whose path is compiled in).
  std::optional<Declaration> declaration;
};

// Registers --kind, --kinds-dir, --pii-key, and --<kind>-topic,
// --<kind>-pii and --<kind>-retention per declared kind (built in, and in the MILLRACE_KINDS_DIR
// of `env`). `with_pii`: the programs that store records.
void register_options(core::OptionSet& options, KindOptions& k,
                      const std::map<std::string, std::string>& env, bool with_pii);
// Only --kinds-dir (MILLRACE_KINDS_DIR), into `dir`: for a program that
// reads the declarations but handles no kind's topic.
void register_kinds_dir(core::OptionSet& options, std::string* dir);
// Only --kinds-dir and the --<kind>-topic and --<kind>-dlq-topic options,
// for a program that serves kinds by route rather than by --kind
// (millrace-producer), or makes their topics.
void register_topic_options(core::OptionSet& options, KindOptions& k,
                            const std::map<std::string, std::string>& env);

// A kind's topic as a setting, from its declaration: its flag
// (--<kind>-topic; the store event's --topic), its variable (topic.env)
// and its help; its default is the declaration's topic.name.
core::Setting topic_setting(const Declaration& d);
// Its dead-letter topic's: --<kind>-dlq-topic (the store event's
// --dlq-topic), under the topic's variable with _DLQ_TOPIC for _TOPIC
// (MILLRACE_ORDERS_DLQ_TOPIC; the store event's MILLRACE_DLQ_TOPIC); its
// default is empty, for <its topic>.dlq.
core::Setting dlq_topic_setting(const Declaration& d);
// The store event's built-in declaration, read once: the programs whose
// --topic is the store event's take its topic as their default.
const Declaration& store_event();

// The dead-letter topic of `kind` (declared, not the store event), whose
// topic is `topic`.
std::string dlq_topic(const KindOptions& k, const std::string& kind, const std::string& topic);

enum class PiiMode : std::uint8_t { kKeep, kHash, kDrop };
// The mode set for k.kind, after resolve(). Throws core::UsageError for an
// unknown mode, or hash without a key.
PiiMode pii_mode(const KindOptions& k);

// The retention in force for k.kind, after resolve(): its
// --<kind>-retention when set, else its declaration's. nullopt: keep every
// record. Throws core::UsageError for a value that is not a duration of at
// least a minute, or 0.
std::optional<std::chrono::milliseconds> retention(const KindOptions& k);

// Loads the declaration of k.kind (throws core::UsageError naming the
// setting) and returns the topic it is read from or written to:
// `store_event_topic` for the store event (whose views file, if k.kinds_dir
// has one, is refused: its aggregator keeps no declared views).
std::string resolve(KindOptions& k, const std::string& store_event_topic);

}  // namespace millrace::kinds
