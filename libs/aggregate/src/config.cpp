#include "millrace/aggregate/config.hpp"

namespace millrace::aggregate {

void register_options(core::OptionSet& o, AggregatorConfig& c) {
  stream::register_options(o, c.stream);
  o.add_int("max-lateness-s", "MILLRACE_MAX_LATENESS_S", &c.max_lateness_s,
            "Events older than the newest event time of their partition by more than this many "
            "seconds go to late_events instead of the aggregates; also the dedup horizon",
            0, 10LL * 365 * 86400);
  o.add_int("max-future-s", "MILLRACE_MAX_FUTURE_S", &c.max_future_s,
            "Events ahead of their Kafka record's timestamp by more than this many seconds go to "
            "late_events",
            0, 10LL * 365 * 86400);
}

void validate(AggregatorConfig& c) {
  stream::validate(c.stream);
}

}  // namespace millrace::aggregate
