#include "directory.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace millrace::objstore::detail {

namespace {

namespace fs = std::filesystem;

constexpr const char* kUploads = ".uploads/";

ErrorKind kind_of_errno(int e) {
  if (e == ENOENT) return ErrorKind::kNotFound;
  if (e == EACCES || e == EPERM) return ErrorKind::kCredentials;
  return ErrorKind::kRefused;
}

class DirectoryStore final : public ObjectStore {
 public:
  explicit DirectoryStore(std::string root) : root_(std::move(root)) {}

  std::string describe() const override { return "file://" + root_; }

  void put_file(const std::string& key, const std::string& path) override {
    copy_path(path, at(key));
  }

  std::optional<std::int64_t> size_of(const std::string& key) override {
    std::error_code ec;
    const auto size = fs::file_size(at(key), ec);
    if (ec == std::errc::no_such_file_or_directory) return std::nullopt;
    if (ec) throw StoreError(ErrorKind::kRefused, at(key).string() + ": " + ec.message());
    return static_cast<std::int64_t>(size);
  }

  void read(const std::string& key, const std::function<void(std::string_view)>& sink) override {
    std::ifstream in(at(key), std::ios::binary);
    if (!in) {
      throw StoreError(kind_of_errno(errno),
                       "opening " + at(key).string() + ": " + std::strerror(errno));
    }
    std::string buffer(1 << 20, '\0');
    while (in) {
      in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      if (in.gcount() > 0)
        sink(std::string_view(buffer.data(), static_cast<std::size_t>(in.gcount())));
    }
    if (in.bad()) throw StoreError(ErrorKind::kRefused, "reading " + at(key).string());
  }

  void copy(const std::string& from, const std::string& to) override {
    if (!fs::exists(at(from))) {
      throw StoreError(ErrorKind::kNotFound, at(from).string() + " does not exist");
    }
    copy_path(at(from), at(to));
  }

  void remove(const std::string& key) override {
    if (::unlink(at(key).c_str()) != 0 && errno != ENOENT) {
      throw StoreError(kind_of_errno(errno),
                       "removing " + at(key).string() + ": " + std::strerror(errno));
    }
  }

  std::vector<ObjectInfo> list(const std::string& prefix) override {
    std::vector<ObjectInfo> out;
    std::error_code ec;
    // Walk only the directory the prefix names, if it names one.
    const auto slash = prefix.rfind('/');
    const fs::path start =
        slash == std::string::npos ? fs::path(root_) : fs::path(root_) / prefix.substr(0, slash);
    if (!fs::is_directory(start, ec)) return out;
    for (fs::recursive_directory_iterator it(start, ec), end; !ec && it != end; it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      const std::string rel = fs::relative(it->path(), root_, ec).string();
      if (rel.rfind(prefix, 0) != 0) continue;
      const auto size = it->file_size(ec);
      out.push_back({rel, ec ? -1 : static_cast<std::int64_t>(size)});
    }
    if (ec)
      throw StoreError(ErrorKind::kRefused, "listing " + start.string() + ": " + ec.message());
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
    return out;
  }

  std::optional<std::string> local_path(const std::string& key) const override {
    return at(key).string();
  }
  // Begun uploads: their parts are files in .uploads/{key}.{id}/, joined
  // into the object through a temporary name and a rename.
  std::vector<Unfinished> unfinished(const std::string& prefix) override {
    std::vector<Unfinished> out;
    for (const auto& part : list(std::string(kUploads) + prefix)) {
      const fs::path dir = fs::path(part.key).parent_path();
      const std::string name = dir.string().substr(std::string(kUploads).size());
      const auto dot = name.rfind('.');
      Unfinished u{name.substr(0, dot), dot == std::string::npos ? "" : name.substr(dot + 1)};
      if (out.empty() || out.back().key != u.key || out.back().id != u.id) out.push_back(u);
    }
    return out;
  }
  void abort(const Unfinished& upload) override {
    std::error_code ec;
    fs::remove_all(parts_dir(upload), ec);
  }
  Unfinished begin_upload(const std::string& key, const std::string& tag) override {
    const Unfinished u{key, tag.empty() ? "upload" : tag};
    std::error_code ec;
    fs::create_directories(parts_dir(u), ec);
    if (ec) throw StoreError(ErrorKind::kRefused, parts_dir(u).string() + ": " + ec.message());
    return u;
  }
  std::int64_t part_size_for(std::int64_t size) const override {
    return std::max<std::int64_t>(size, 1);
  }
  std::string upload_part(const Unfinished& upload, int n, std::string_view bytes) override {
    const fs::path part = parts_dir(upload) / std::to_string(n);
    std::ofstream out(part, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out.flush()) throw StoreError(ErrorKind::kRefused, "writing " + part.string());
    return std::to_string(n);
  }
  void complete_upload(const Unfinished& upload, const std::vector<std::string>& parts) override {
    const fs::path dir = parts_dir(upload);
    if (!fs::is_directory(dir)) {
      throw StoreError(ErrorKind::kNotFound, "no upload " + dir.string());
    }
    const fs::path joined = dir / "joined";
    {
      std::ofstream out(joined, std::ios::binary | std::ios::trunc);
      for (const auto& n : parts) {
        std::ifstream in(dir / n, std::ios::binary);
        if (!in) throw StoreError(ErrorKind::kNotFound, "no part " + (dir / n).string());
        out << in.rdbuf();
      }
      if (!out.flush()) throw StoreError(ErrorKind::kRefused, "writing " + joined.string());
    }
    copy_path(joined, at(upload.key));
    abort(upload);
  }
  std::optional<std::vector<std::string>> uploaded_parts(const Unfinished& upload) override {
    const fs::path dir = parts_dir(upload);
    if (!fs::is_directory(dir)) return std::nullopt;
    std::vector<std::string> out;
    for (int n = 1; fs::exists(dir / std::to_string(n)); ++n) out.push_back(std::to_string(n));
    return out;
  }

  void check() override {
    std::error_code ec;
    if (!fs::is_directory(root_, ec)) {
      throw StoreError(ErrorKind::kNotFound, "archive root " + root_ + " is not a directory");
    }
  }

 private:
  fs::path at(const std::string& key) const { return fs::path(root_) / key; }
  fs::path parts_dir(const Unfinished& u) const {
    return at(std::string(kUploads) + u.key + "." + u.id);
  }

  // Through a temporary name and a rename, so a reader never sees half.
  static void copy_path(const fs::path& from, const fs::path& to) {
    std::error_code ec;
    fs::create_directories(to.parent_path(), ec);
    const fs::path tmp = to.string() + ".tmp-" + std::to_string(::getpid());
    if (!ec) fs::copy_file(from, tmp, fs::copy_options::overwrite_existing, ec);
    if (!ec) fs::rename(tmp, to, ec);
    if (ec) {
      std::error_code ignored;
      fs::remove(tmp, ignored);
      throw StoreError(ErrorKind::kRefused,
                       "copying " + from.string() + " to " + to.string() + ": " + ec.message());
    }
  }

  std::string root_;
};

}  // namespace

std::unique_ptr<ObjectStore> directory_store(std::string root) {
  return std::make_unique<DirectoryStore>(std::move(root));
}

}  // namespace millrace::objstore::detail
