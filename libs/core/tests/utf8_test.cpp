#include "millrace/core/utf8.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "millrace/core/case_fold.hpp"

using millrace::core::append_utf8;
using millrace::core::decode_utf8;
using millrace::core::fold_case;
using millrace::core::is_plain_json_text;
using millrace::core::is_storable_text;
using millrace::core::simple_upper;
using millrace::core::utf16_length;
using millrace::core::utf8_safe;

TEST_CASE("decode_utf8 reads each length of sequence and its code point", "[utf8]") {
  const std::string s = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";  // a é € 😀
  auto cp = decode_utf8(s, 0);
  CHECK((cp.valid && cp.value == U'a' && cp.length == 1));
  cp = decode_utf8(s, 1);
  CHECK((cp.valid && cp.value == 0xE9 && cp.length == 2));
  cp = decode_utf8(s, 3);
  CHECK((cp.valid && cp.value == 0x20AC && cp.length == 3));
  cp = decode_utf8(s, 6);
  CHECK((cp.valid && cp.value == 0x1F600 && cp.length == 4));
}

TEST_CASE("decode_utf8 takes a byte of no valid sequence for itself", "[utf8]") {
  for (const std::string& bad : {
           std::string("\x80"),              // a lone continuation byte
           std::string("\xC0\xAF"),          // overlong '/'
           std::string("\xE0\x80\xAF"),      // overlong, three bytes
           std::string("\xF0\x80\x80\xAF"),  // overlong, four bytes
           std::string("\xED\xA0\x80"),      // a surrogate, U+D800
           std::string("\xF4\x90\x80\x80"),  // past U+10FFFF
           std::string("\xF8\x88\x80\x80"),  // five-byte lead
           std::string("\xE2\x82"),          // truncated
           std::string("\xC3\x28"),          // a continuation that is not one
       }) {
    INFO("bytes: " << bad.size());
    const auto cp = decode_utf8(bad, 0);
    CHECK_FALSE(cp.valid);
    CHECK(cp.length == 1);
    CHECK(cp.value == static_cast<unsigned char>(bad[0]));
  }
}

TEST_CASE("append_utf8 writes what decode_utf8 reads", "[utf8]") {
  for (const char32_t c :
       {U'\0', U'A', char32_t{0x7F}, char32_t{0x80}, char32_t{0x7FF}, char32_t{0x800},
        char32_t{0xFFFF}, char32_t{0x10000}, char32_t{0x10FFFF}}) {
    std::string s;
    append_utf8(s, c);
    const auto cp = decode_utf8(s, 0);
    CHECK(cp.valid);
    CHECK(cp.value == c);
    CHECK(cp.length == s.size());
  }
}

TEST_CASE("utf16_length counts UTF-16 code units, a bad byte as one", "[utf8]") {
  CHECK(utf16_length("") == 0);
  CHECK(utf16_length("abc") == 3);
  CHECK(utf16_length("\xC3\xA9\xE2\x82\xAC") == 2);  // é €
  CHECK(utf16_length("\xF0\x9F\x98\x80") == 2);      // 😀, a surrogate pair
  CHECK(utf16_length("\xE2\x82") == 2);              // two stray bytes
}

TEST_CASE("utf8_safe replaces what PostgreSQL's text refuses, keeps the rest", "[utf8]") {
  const std::string fffd = "\xEF\xBF\xBD";
  CHECK(utf8_safe("") == "");
  CHECK(utf8_safe("Stifte & F\xC3\xBCller \xE6\x97\xA5") == "Stifte & F\xC3\xBCller \xE6\x97\xA5");
  CHECK(utf8_safe("ok\xff") == "ok" + fffd);
  CHECK(utf8_safe("caf\xe9 au lait") == "caf" + fffd + " au lait");  // Latin-1
  CHECK(utf8_safe(std::string("a\0b", 3)) == "a" + fffd + "b");
  // A character cut off at the end (a kept prefix of an answer): each of
  // its bytes stands for itself.
  CHECK(utf8_safe("x\xE6\x97") == "x" + fffd + fffd);
  CHECK(utf8_safe("\xed\xa0\x80") == fffd + fffd + fffd);  // a surrogate
  for (const auto& text : {std::string("ok\xff"), std::string("\xE6\x97"), std::string("a\0b", 3),
                           std::string("\xc0\xaf")}) {
    CHECK(is_storable_text(utf8_safe(text)));
  }
}

TEST_CASE("simple_upper upper-cases the scripts Event Grid's filters fold", "[utf8]") {
  CHECK(simple_upper(U'a') == U'A');
  CHECK(simple_upper(U'Z') == U'Z');
  CHECK(simple_upper(U'1') == U'1');
  CHECK(simple_upper(0xE9) == 0xC9);    // é
  CHECK(simple_upper(0xF7) == 0xF7);    // ÷ is no letter
  CHECK(simple_upper(0xFF) == 0x178);   // ÿ
  CHECK(simple_upper(0xB5) == 0x39C);   // micro sign
  CHECK(simple_upper(0x101) == 0x100);  // ā
  CHECK(simple_upper(0x13A) == 0x139);  // ĺ
  CHECK(simple_upper(0x17F) == U'S');   // long s
  CHECK(simple_upper(0x131) == 0x131);  // dotless i keeps its case
  CHECK(simple_upper(0x3B1) == 0x391);  // α
  CHECK(simple_upper(0x3C2) == 0x3A3);  // final sigma
  CHECK(simple_upper(0x3AC) == 0x386);  // ά
  CHECK(simple_upper(0x3CE) == 0x38F);  // ώ
  CHECK(simple_upper(0x430) == 0x410);  // а
  CHECK(simple_upper(0x451) == 0x401);  // ё
  CHECK(simple_upper(0x4E00) == 0x4E00);
}

TEST_CASE("fold_case upper-cases UTF-8 and keeps bad bytes", "[utf8]") {
  CHECK(fold_case("Hello, world") == "HELLO, WORLD");
  CHECK(fold_case("stra\u00DFe") == "STRA\u00DFE");                // ß has no simple upper case
  CHECK(fold_case("\u00E9t\u00E9") == "\u00C9T\u00C9");            // été
  CHECK(fold_case("\u043C\u0438\u0440") == "\u041C\u0418\u0420");  // мир
  CHECK(fold_case(std::string("a\xFF") + "b") == std::string("A\xFF") + "B");
  CHECK(fold_case("") == "");
}

TEST_CASE("is_plain_json_text: UTF-8 without control characters but JSON's whitespace", "[utf8]") {
  CHECK(is_plain_json_text(""));
  CHECK(is_plain_json_text("{\"a\": \"b\"}\r\n\t"));
  CHECK(is_plain_json_text("\xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80 and eight more bytes"));
  for (int c = 0; c < 0x20; ++c) {
    if (c == '\t' || c == '\n' || c == '\r') continue;
    for (const std::size_t at : {0, 5, 8, 19}) {
      std::string text(24, 'x');
      text[at] = static_cast<char>(c);
      INFO("control character " << c << " at " << at);
      CHECK_FALSE(is_plain_json_text(text));
    }
  }
  CHECK_FALSE(is_plain_json_text("twelve bytes \xff then"));
  CHECK_FALSE(is_plain_json_text("overlong \xc0\xaf"));
  CHECK_FALSE(is_plain_json_text("surrogate \xed\xa0\x80"));
  CHECK_FALSE(is_plain_json_text("cut short \xe2\x82"));
}
