// `archive verify`'s checks without a database: offset ranges against each
// other, the recorded gaps and the stored offsets; files on disk against
// their rows.
#include "millrace/archive/index.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "millrace/objstore/options.hpp"
#include "temp_dir.hpp"

using namespace millrace::archive;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using millrace::archive::testing::TempDir;

namespace {

std::unique_ptr<millrace::objstore::ObjectStore> directory(const std::string& root) {
  millrace::objstore::StoreOptions options;
  options.url = root;
  millrace::objstore::validate(options);
  return millrace::objstore::open_store(options);
}

ArchivedFile file(std::int32_t p, std::int64_t from, std::int64_t first, std::int64_t last,
                  std::string path = {}) {
  ArchivedFile f;
  f.partition = p;
  f.from_offset = from;
  f.first_offset = first;
  f.last_offset = last;
  f.records = last - first + 1;
  f.path = path.empty() ? "p" + std::to_string(p) + "-" + std::to_string(from) : path;
  return f;
}

std::string all(const std::vector<Finding>& findings) {
  std::string out;
  for (const auto& f : findings) out += f.subject + ": " + f.what + "\n";
  return out;
}

void write(const fs::path& p, const std::string& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << bytes;
}

}  // namespace

TEST_CASE("files that chain from one to the next, to the stored offset, pass", "[archive]") {
  // Partition 0's second file starts after a transaction marker (from 10,
  // first record 11); partition 1 skips a range retention deleted.
  const std::vector<ArchivedFile> files{file(0, 0, 0, 9), file(0, 10, 11, 20), file(1, 0, 0, 4),
                                        file(1, 50, 50, 60)};
  const std::vector<OffsetGap> gaps{{1, 5, 30}, {1, 30, 50}};
  CHECK(all(check_ranges(files, gaps, {{0, 21}, {1, 61}})).empty());
}

TEST_CASE("a hole, an overlap and a stored offset past the files are each named", "[archive]") {
  const std::vector<ArchivedFile> files{file(0, 0, 0, 9, "a"), file(0, 12, 12, 20, "b"),
                                        file(1, 0, 0, 9, "c"), file(1, 8, 8, 15, "d"),
                                        file(2, 0, 0, 9, "e")};
  const auto text = all(check_ranges(files, {}, {{0, 21}, {1, 16}, {2, 25}}));
  CHECK_THAT(text, Contains("partition 0: offsets 10..11 are in no file and no recorded gap "
                            "(between a and b)"));
  CHECK_THAT(text, Contains("d: overlaps c: offsets 8..9 are in both"));
  CHECK_THAT(text, Contains("partition 2: the group's stored offset is 25 but the files end at 9: "
                            "offsets 10..24 are in no file"));
}

TEST_CASE("verify names a missing file, a corrupt one, an unrecorded one and a staged one",
          "[archive]") {
  TempDir dir;
  const std::string root = dir.path.string();
  write(dir.path / "ns/t/0/ok.avro", "good bytes");
  write(dir.path / "ns/t/0/bad.avro", "evil bytes");  // same size, other bytes
  write(dir.path / "ns/t/0/stray.avro", "x");
  write(dir.path / ".staging/t/0/40-w-1.avro", "staged");
  auto ok = file(0, 0, 0, 9, "ns/t/0/ok.avro");
  ok.bytes = 10;
  ok.sha256 = sha256_of_file((dir.path / "ns/t/0/ok.avro").string());
  auto bad = file(0, 10, 10, 19, "ns/t/0/bad.avro");
  bad.bytes = 10;
  bad.sha256 = ok.sha256;
  auto gone = file(0, 20, 20, 39, "ns/t/0/gone.avro");
  gone.bytes = 5;
  auto staged = file(0, 40, 40, 49, "ns/t/0/later.avro");
  staged.staged = "t/0/40-w-1.avro";
  auto store = directory(root);
  const auto check = check_files(*store, "ns", "t", {ok, bad, gone, staged});
  const auto text = all(check.findings);
  CHECK(check.checked == 2);
  CHECK_THAT(text, Contains("ns/t/0/bad.avro: checksum mismatch"));
  CHECK_THAT(text, Contains("ns/t/0/gone.avro: missing: recorded with offsets 20..39"));
  CHECK_THAT(text, Contains("ns/t/0/stray.avro: in the archive but recorded by no row"));
  CHECK_THAT(text, Contains("ns/t/0/later.avro: recorded but not yet published"));
  CHECK(check.findings.size() == 4);
  CHECK_THROWS_WITH(check_files(*directory(root + "/nope"), "ns", "t", {}),
                    Contains("not a directory"));
}
