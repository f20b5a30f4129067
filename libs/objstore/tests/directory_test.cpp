#include "directory.hpp"

#include <catch2/catch.hpp>
#include <filesystem>

#include "temp_file.hpp"

using namespace millrace::objstore;
using millrace::objstore::testing::TempFile;

TEST_CASE("a directory is a store: put, list, read, copy, remove", "[objstore][directory]") {
  const auto root = std::filesystem::temp_directory_path() / "millrace-objstore-dir-test";
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root);
  auto s = detail::directory_store(root.string());
  s->check();
  TempFile f("12345");
  s->put_file("ns/t/0/a.avro", f.path);
  s->put_file("ns/t/1/b.avro", f.path);
  CHECK(s->size_of("ns/t/0/a.avro") == 5);
  CHECK_FALSE(s->size_of("ns/t/0/zz").has_value());
  const auto listed = s->list("ns/t/");
  REQUIRE(listed.size() == 2);
  CHECK(listed[0].key == "ns/t/0/a.avro");
  CHECK(s->list("ns/t/1").size() == 1);
  s->copy("ns/t/0/a.avro", "other/c.avro");
  std::string got;
  s->read("other/c.avro", [&](std::string_view p) { got += p; });
  CHECK(got == "12345");
  s->remove("other/c.avro");
  s->remove("other/c.avro");
  CHECK_FALSE(s->size_of("other/c.avro").has_value());
  try {
    s->copy("nothing", "x");
    FAIL("no throw");
  } catch (const StoreError& e) {
    CHECK(e.kind() == ErrorKind::kNotFound);
  }
  std::filesystem::remove_all(root);
  CHECK_THROWS_AS(s->check(), StoreError);
}
