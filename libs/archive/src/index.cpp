#include "millrace/archive/index.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>

#include "hex.hpp"

namespace millrace::archive {

namespace fs = std::filesystem;

namespace {

std::string range(std::int64_t from, std::int64_t to_inclusive) {
  return std::to_string(from) + ".." + std::to_string(to_inclusive);
}

std::string partition_name(std::int32_t p) {
  return "partition " + std::to_string(p);
}

// Where a run of gaps starting at `from` ends (from itself if none starts
// there).
std::int64_t skip_gaps(const std::vector<OffsetGap>& gaps, std::int64_t from) {
  for (bool moved = true; moved;) {
    moved = false;
    for (const auto& g : gaps) {
      if (g.from == from && g.to > from) {
        from = g.to;
        moved = true;
      }
    }
  }
  return from;
}

}  // namespace

std::vector<ArchivedFile> load_files(pqxx::dbtransaction& tx, const std::string& group,
                                     const std::string& topic, const FileFilter& filter) {
  const auto check_time = [&](const std::optional<std::string>& t, const char* flag) {
    if (!t) return;
    try {
      tx.exec_params("SELECT $1::timestamptz", *t);
    } catch (const pqxx::data_exception&) {
      throw std::invalid_argument(std::string(flag) + " \"" + *t +
                                  "\" is not a time (for example 2026-11-24T10:00:00Z)");
    }
  };
  // A failed statement aborts the transaction: check in a subtransaction.
  {
    pqxx::subtransaction sub(tx, "check_times");
    check_time(filter.from, "--from");
    check_time(filter.to, "--to");
    sub.commit();
  }
  std::vector<ArchivedFile> out;
  const auto rows = tx.exec_params(
      "SELECT path, staged, partition, from_offset, first_offset, last_offset, records, bytes, "
      "sha256, published, "
      "to_char(min_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
      "to_char(max_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') "
      "FROM archive_files WHERE group_id = $1 AND topic = $2 "
      "AND ($3::int IS NULL OR partition = $3) "
      "AND ($4::timestamptz IS NULL OR coalesce(max_time, file_time) >= $4) "
      "AND ($5::timestamptz IS NULL OR coalesce(min_time, file_time) < $5) "
      "ORDER BY partition, from_offset",
      group, topic, filter.partition, filter.from, filter.to);
  for (const auto& r : rows) {
    ArchivedFile f;
    f.path = r[0].as<std::string>();
    f.staged = r[1].as<std::string>();
    f.partition = r[2].as<std::int32_t>();
    f.from_offset = r[3].as<std::int64_t>();
    // An empty file covers nothing: -1, as a writer with no record says.
    f.first_offset = r[4].is_null() ? -1 : r[4].as<std::int64_t>();
    f.last_offset = r[5].is_null() ? -1 : r[5].as<std::int64_t>();
    f.records = r[6].as<std::int64_t>();
    f.bytes = r[7].as<std::int64_t>();
    f.sha256 = r[8].as<std::string>();
    f.published = r[9].as<bool>();
    f.min_time = r[10].is_null() ? std::string() : r[10].as<std::string>();
    f.max_time = r[11].is_null() ? std::string() : r[11].as<std::string>();
    out.push_back(std::move(f));
  }
  return out;
}

std::vector<OffsetGap> load_gaps(pqxx::dbtransaction& tx, const std::string& group,
                                 const std::string& topic) {
  std::vector<OffsetGap> out;
  for (const auto& r :
       tx.exec_params("SELECT partition, from_offset, to_offset FROM offset_gaps "
                      "WHERE group_id = $1 AND topic = $2 ORDER BY partition, from_offset",
                      group, topic)) {
    out.push_back({r[0].as<std::int32_t>(), r[1].as<std::int64_t>(), r[2].as<std::int64_t>()});
  }
  return out;
}

std::map<std::int32_t, std::int64_t> load_stored(pqxx::dbtransaction& tx, const std::string& group,
                                                 const std::string& topic) {
  std::map<std::int32_t, std::int64_t> out;
  for (const auto& r :
       tx.exec_params("SELECT partition, next_offset FROM consumer_offsets "
                      "WHERE group_id = $1 AND topic = $2 AND next_offset IS NOT NULL",
                      group, topic)) {
    out[r[0].as<std::int32_t>()] = r[1].as<std::int64_t>();
  }
  return out;
}

std::vector<Finding> check_ranges(const std::vector<ArchivedFile>& files,
                                  const std::vector<OffsetGap>& all_gaps,
                                  const std::map<std::int32_t, std::int64_t>& stored) {
  // Empty files (a window without records) cover no offset.
  std::map<std::int32_t, std::vector<const ArchivedFile*>> by_partition;
  for (const auto& f : files) {
    if (f.records > 0) by_partition[f.partition].push_back(&f);
  }
  std::vector<Finding> out;
  for (auto& [p, list] : by_partition) {
    std::sort(list.begin(), list.end(), [](const ArchivedFile* a, const ArchivedFile* b) {
      return a->from_offset < b->from_offset;
    });
    std::vector<OffsetGap> gaps;
    for (const auto& g : all_gaps) {
      if (g.partition == p) gaps.push_back(g);
    }
    const ArchivedFile* previous = nullptr;
    for (const auto* f : list) {
      if (f->first_offset < f->from_offset || f->last_offset < f->first_offset || f->records <= 0 ||
          f->records > f->last_offset - f->first_offset + 1) {
        out.push_back({f->path, "its row is inconsistent: offsets " +
                                    range(f->first_offset, f->last_offset) + " from " +
                                    std::to_string(f->from_offset) + " cannot hold " +
                                    std::to_string(f->records) + " record(s)"});
      }
      if (previous != nullptr) {
        const std::int64_t expected = skip_gaps(gaps, previous->last_offset + 1);
        if (f->from_offset <= previous->last_offset) {
          out.push_back({f->path, "overlaps " + previous->path + ": offsets " +
                                      range(f->from_offset, previous->last_offset) +
                                      " are in both"});
        } else if (f->from_offset != expected) {
          out.push_back({partition_name(p), "offsets " + range(expected, f->from_offset - 1) +
                                                " are in no file and no recorded gap (between " +
                                                previous->path + " and " + f->path + ")"});
        }
      }
      previous = f;
    }
    if (const auto it = stored.find(p); it != stored.end() && previous != nullptr) {
      const std::int64_t reached = skip_gaps(gaps, previous->last_offset + 1);
      if (it->second > reached) {
        out.push_back({partition_name(p),
                       "the group's stored offset is " + std::to_string(it->second) +
                           " but the files end at " + std::to_string(previous->last_offset) +
                           ": offsets " + range(reached, it->second - 1) + " are in no file"});
      } else if (it->second < previous->last_offset + 1) {
        out.push_back({partition_name(p),
                       "files reach offset " + std::to_string(previous->last_offset) +
                           " past the group's stored offset " + std::to_string(it->second)});
      }
    }
  }
  return out;
}

std::string sha256_of_file(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) throw std::runtime_error("opening " + path + ": " + std::strerror(errno));
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 is not available");
  }
  char buffer[1 << 16];
  for (;;) {
    const size_t n = std::fread(buffer, 1, sizeof buffer, file.get());
    if (n > 0) EVP_DigestUpdate(ctx.get(), buffer, n);
    if (n < sizeof buffer) break;
  }
  if (std::ferror(file.get()) != 0) throw std::runtime_error("reading " + path);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &length);
  return detail::to_hex(digest, length);
}

std::string sha256_of_object(objstore::ObjectStore& store, const std::string& key) {
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 is not available");
  }
  store.read(key, [&](std::string_view piece) {
    EVP_DigestUpdate(ctx.get(), piece.data(), piece.size());
  });
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &length);
  return detail::to_hex(digest, length);
}

FileCheck check_files(objstore::ObjectStore& store, const std::string& ns, const std::string& topic,
                      const std::vector<ArchivedFile>& files) {
  FileCheck out;
  store.check();
  std::map<std::string, std::int64_t> present;
  for (const auto& o : store.list(ns + "/" + topic + "/")) present.emplace(o.key, o.size);
  std::set<std::string> staged;
  for (const auto& o : store.list(".staging/")) staged.insert(o.key.substr(9));
  std::set<std::string> recorded;
  for (const auto& f : files) {
    recorded.insert(f.path);
    const auto it = present.find(f.path);
    if (it == present.end()) {
      if (!f.published && !f.staged.empty() && staged.contains(f.staged)) {
        out.findings.push_back(
            {f.path, "recorded but not yet published: still staged as .staging/" + f.staged +
                         " (the archiver moves it with its next commit of partition " +
                         std::to_string(f.partition) + ")"});
      } else {
        out.findings.push_back(
            {f.path, f.records == 0
                         ? std::string("missing: recorded as an empty window's file "
                                       "but not in the archive")
                         : "missing: recorded with offsets " +
                               range(f.first_offset, f.last_offset) + " (" +
                               std::to_string(f.records) + " record(s)) but not in the archive"});
      }
      continue;
    }
    ++out.checked;
    out.bytes += it->second;
    if (it->second != f.bytes) {
      out.findings.push_back({f.path, "size " + std::to_string(it->second) + " bytes, recorded " +
                                          std::to_string(f.bytes)});
      continue;
    }
    const auto sha = sha256_of_object(store, f.path);
    if (sha != f.sha256) {
      out.findings.push_back(
          {f.path, "checksum mismatch: SHA-256 " + sha + " read back, " + f.sha256 + " recorded"});
    }
  }
  for (const auto& [key, size] : present) {
    if (!recorded.contains(key)) {
      out.findings.push_back({key, "in the archive but recorded by no row of archive_files"});
    }
  }
  return out;
}

}  // namespace millrace::archive
