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

TEST_CASE("a directory's uploads: parts in any order, listed unfinished, completed or aborted",
          "[objstore][directory]") {
  const auto root = std::filesystem::temp_directory_path() / "millrace-objstore-dir-upload-test";
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root);
  auto s = detail::directory_store(root.string());
  const Unfinished u = s->begin_upload("ns/t/0/a.avro", "tag1");
  CHECK(s->upload_part(u, 2, "45") == "2");
  CHECK(s->upload_part(u, 1, "123") == "1");
  const auto unfinished = s->unfinished("ns/");
  REQUIRE(unfinished.size() == 1);
  CHECK(unfinished[0].key == "ns/t/0/a.avro");
  CHECK(unfinished[0].id == "tag1");
  // Nothing shows at the key until completed.
  CHECK_FALSE(s->size_of("ns/t/0/a.avro").has_value());
  const auto parts = s->uploaded_parts(u);
  REQUIRE(parts.has_value());
  s->complete_upload(u, *parts);
  std::string got;
  s->read("ns/t/0/a.avro", [&](std::string_view p) { got += p; });
  CHECK(got == "12345");
  CHECK(s->unfinished("ns/").empty());
  CHECK_FALSE(s->uploaded_parts(u).has_value());
  try {
    s->complete_upload(u, *parts);
    FAIL("no throw");
  } catch (const StoreError& e) {
    CHECK(e.kind() == ErrorKind::kNotFound);
  }
  const Unfinished dropped = s->begin_upload("ns/t/0/b.avro", "tag2");
  s->upload_part(dropped, 1, "x");
  s->abort(dropped);
  CHECK(s->unfinished("ns/").empty());
  CHECK_FALSE(s->size_of("ns/t/0/b.avro").has_value());
  std::filesystem::remove_all(root);
}
