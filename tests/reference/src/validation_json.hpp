#pragma once

// RapidJSON as the reference validator's reader (validation_reader.cpp)
// includes it, with SSE2 as core's reader of routing hints
// (libs/core/src/routing_hint.cpp) and the kinds' `sax` codec have it.

// RapidJSON scans strings and whitespace 16 bytes at a time with SSE2, which
// every x86-64 CPU has; without the macro it goes byte by byte.
#if defined(__SSE2__) && !defined(RAPIDJSON_SSE2)
#define RAPIDJSON_SSE2
#endif
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

namespace millrace::core::detail {

// Store events are flat; nesting only occurs inside unknown fields. The
// bound keeps the recursive parser's stack use small whatever a sender does.
constexpr int kMaxDepth = 64;

// No kParseValidateEncodingFlag: RapidJSON validates byte by byte, which is
// slow; first_invalid_utf8 checks the payload up front, eight bytes at a time.
constexpr unsigned kParseFlags =
    rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseStopWhenDoneFlag;

}  // namespace millrace::core::detail
