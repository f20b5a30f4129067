#include "millrace/produce/progress.hpp"

#include <catch2/catch.hpp>
#include <cstdio>
#include <string>

using millrace::produce::format_progress;
using millrace::produce::Progress;
using millrace::produce::ProgressLine;

TEST_CASE("progress of a produce run: sent, delivered, share, rate and time left") {
  Progress p;
  p.done = 30'000;
  p.acked = 25'000;
  p.fraction = 0.25;
  p.elapsed_s = 10;
  CHECK(format_progress(p, true) ==
        "30,000 sent, 25,000 delivered (25%) · 2,500/s · about 30 s left");
  p.failed = 3;
  p.fraction = 0.01;
  CHECK(format_progress(p, true) ==
        "30,000 sent, 25,000 delivered, 3 failed (1%) · 2,500/s · about 16 min 30 s left");
}

TEST_CASE("progress without a known whole or time shows only counts") {
  Progress p;
  p.done = 999;
  CHECK(format_progress(p, false) == "999 written");
  p.done = 1'234'567;
  p.elapsed_s = 2;
  CHECK(format_progress(p, false) == "1,234,567 written · 617,283/s");
  p.fraction = 1.0;  // finished: no time left
  CHECK(format_progress(p, false) == "1,234,567 written (100%) · 617,283/s");
}

TEST_CASE("a progress line rewrites one terminal line and ends it once") {
  std::FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  ProgressLine line(f, false, std::chrono::hours(1));
  Progress p;
  p.done = 1;
  line.update(p);  // drawn: the first update always is
  p.done = 2;
  line.update(p);  // within the interval: skipped
  p.done = 3;
  line.finish(p);
  std::rewind(f);
  std::string text;
  for (int c; (c = std::fgetc(f)) != EOF;) text += static_cast<char>(c);
  std::fclose(f);
  CHECK(text == "\r1 written\x1b[K\r3 written\x1b[K\n");
}
