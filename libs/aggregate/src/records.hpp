#pragma once

// How the aggregator reads a record of each kind: its parse (a rejection is
// only counted), its event time and its identity. The one aggregator
// handler (handler.hpp) is a template over these, so the store event's
// stay inline: no virtual call per record or per field, no copy.
//
// Kept in this one file on purpose: the record codec that libs/kinds is to
// share between the sink and the aggregator (parse, time and identity of a
// store event or of a declared kind) replaces it.

#include <string>
#include <variant>

#include "millrace/core/event.hpp"
#include "millrace/core/timestamp.hpp"
#include "millrace/core/validation.hpp"
#include "millrace/kafka/consumer.hpp"
#include "millrace/kinds/declaration.hpp"
#include "millrace/kinds/record.hpp"

namespace millrace::aggregate::records {

// The store event: its contract compiled into libs/core, its type in the
// `event_type` header, its identity the event id.
struct StoreEvents {
  using Record = core::StoreEvent;

  static std::variant<Record, core::Rejection> parse(const kafka::Message& msg) {
    return core::parse_event(msg.payload(), msg.header(core::kHeaderEventType));
  }
  static core::TimestampUs time(const Record& r) { return r.ts; }
  static const std::string& identity(const Record& r) { return r.id; }
};

// A declared kind (proto/kinds/, MILLRACE_KINDS_DIR): its declaration says
// which fields are its identity and its time.
class DeclaredRecords {
 public:
  using Record = kinds::Record;

  // `declaration` must outlive this.
  explicit DeclaredRecords(const kinds::Declaration& declaration) : d_(declaration) {}

  std::variant<Record, core::Rejection> parse(const kafka::Message& msg) const {
    return kinds::parse_record(d_, msg.payload());
  }
  core::TimestampUs time(const Record& r) const { return r.time(d_); }
  const std::string& identity(const Record& r) const { return r.identity(d_); }
  const kinds::Declaration& declaration() const { return d_; }

 private:
  const kinds::Declaration& d_;
};

}  // namespace millrace::aggregate::records
