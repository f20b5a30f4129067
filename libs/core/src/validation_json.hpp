#pragma once

// RapidJSON as the validator's two readers (validation_reader.cpp, the event;
// routing_hint.cpp, a line's routing fields) include it. Both go through this
// header so they see RapidJSON built the same way.

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
