#pragma once

#include <cstdint>

#include "millrace/core/enum_names.hpp"

namespace millrace::changefeed {

// The settings' choices (ChangefeedConfig says what each means).
enum class Snapshot : std::uint8_t { kInitial, kNever };
inline constexpr core::EnumNames<Snapshot, 2> kSnapshotNames({{Snapshot::kInitial, "initial"},
                                                              {Snapshot::kNever, "never"}});
enum class SlotLost : std::uint8_t { kStop, kBackfill };
inline constexpr core::EnumNames<SlotLost, 2> kSlotLostNames({{SlotLost::kStop, "stop"},
                                                              {SlotLost::kBackfill, "backfill"}});
enum class Format : std::uint8_t { kMillrace, kDebezium, kOutbox };
inline constexpr core::EnumNames<Format, 3> kFormatNames({{Format::kMillrace, "millrace"},
                                                          {Format::kDebezium, "debezium"},
                                                          {Format::kOutbox, "outbox"}});

}  // namespace millrace::changefeed
