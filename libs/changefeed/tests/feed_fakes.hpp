#pragma once

// What the feed's tests share: a replication stream without PostgreSQL, its
// messages scripted and the status updates it is sent kept, and a key
// function that finds no key.

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bytes.hpp"
#include "millrace/changefeed/backfill.hpp"
#include "millrace/changefeed/feed.hpp"

namespace millrace::changefeed::testing {

// The server side: messages to hand out, and the flush positions received.
class FakeStream final : public ReplicationPort {
 public:
  std::deque<std::string> incoming;
  std::vector<Lsn> flushed;
  std::vector<bool> asked;                       // the reply-requested flag of each update
  std::vector<std::chrono::milliseconds> waits;  // the timeout of each read

  std::optional<std::string_view> read(std::chrono::milliseconds timeout) override {
    waits.push_back(timeout);
    if (incoming.empty()) return std::nullopt;
    current = std::move(incoming.front());
    incoming.pop_front();
    return current;
  }
  std::string current;  // the message read last, which its view shows
  void write(std::string_view copy_data) override {
    REQUIRE(copy_data.size() == 34);
    REQUIRE(copy_data[0] == 'r');
    Lsn flush = 0;
    for (int i = 9; i < 17; ++i) flush = (flush << 8) | static_cast<unsigned char>(copy_data[i]);
    flushed.push_back(flush);
    asked.push_back(copy_data[33] != 0);
  }

  void xlog(const Bytes& pgoutput, Lsn at = 0) {
    Bytes b;
    b.ch('w').i64(at).i64(at).i64(0).raw(pgoutput);
    incoming.push_back(b.str());
  }
  void keepalive(Lsn wal_end, bool reply) {
    Bytes b;
    b.ch('k').i64(wal_end).i64(0).i8(reply ? 1 : 0);
    incoming.push_back(b.str());
  }
  // One transaction inserting `rows` rows into relation 7, committed at `lsn`.
  void transaction(Lsn lsn, int rows, bool with_relation = false) {
    xlog(Bytes().ch('B').i64(lsn).i64(0).i32(static_cast<std::uint32_t>(lsn)));
    if (with_relation) {
      xlog(Bytes().ch('R').i32(7).str("public").str("t").ch('d').i16(1).i8(1).str("id").i32(23).i32(
          0xFFFFFFFF));
    }
    for (int i = 0; i < rows; ++i) {
      xlog(Bytes().ch('I').i32(7).ch('N').i16(1).text(std::to_string(i)), lsn - 0x10);
    }
    xlog(Bytes().ch('C').i8(0).i64(lsn).i64(lsn + 8).i64(0));
  }
  // A transaction holding only a backfill's watermark `content`, at `lsn`.
  void watermark(Lsn lsn, const std::string& content) {
    xlog(Bytes().ch('B').i64(lsn).i64(0).i32(static_cast<std::uint32_t>(lsn)));
    xlog(Bytes()
             .ch('M')
             .i8(1)
             .i64(lsn)
             .str(kBackfillMessagePrefix)
             .i32(static_cast<std::uint32_t>(content.size()))
             .raw(content));
    xlog(Bytes().ch('C').i8(0).i64(lsn).i64(lsn + 8).i64(0));
  }
};

inline std::vector<std::string> no_key(const Relation&) {
  return {};
}

}  // namespace millrace::changefeed::testing
