#include "harness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "millrace/test_paths.hpp"

extern char** environ;

namespace millrace::testing {

namespace {

// The tests are clients of servers that may close a connection first (a 413
// before the whole body is sent, a service stopped mid-request): a write to
// such a socket must be an error the test can check, not a SIGPIPE that
// kills the test binary (cpp-httplib sends without MSG_NOSIGNAL). Every test
// binary links this file. Children get SIGPIPE back (spawn).
const bool kSigpipeIgnored = [] {
  std::signal(SIGPIPE, SIG_IGN);
  return true;
}();

std::vector<std::string> merged_env(const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> all;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string kv = *e;
    const auto eq = kv.find('=');
    if (eq == std::string::npos) continue;
    // A shell that ran `eval "$(deploy/local/stack env)"` carries each
    // service's own MILLRACE_<SERVICE>_PG, which a service reads before the
    // MILLRACE_PG a test gives it: a test passes the ones it means.
    const std::string key = kv.substr(0, eq);
    if (key.starts_with("MILLRACE_") && key.ends_with("_PG") && key != "MILLRACE_PG") continue;
    all[key] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : extra) all[k] = v;
  std::vector<std::string> out;
  for (const auto& [k, v] : all) out.push_back(k + "=" + v);
  return out;
}

// fork and exec rather than posix_spawn, for what the child must do first:
// - die with this process (PR_SET_PDEATHSIG): a test that crashes must not
//   leave its services running, holding ports and ctest's output pipe.
//   Beware: the signal comes when the *thread* that forked exits, so a
//   child meant to outlive a helper thread must be started elsewhere (every
//   Child is started from a test's own thread; run() waits for its child);
// - inherit no descriptor but its stdio (close_range): a sibling test
//   thread's pipe or socket left open in a long-lived child kept run() and
//   ctest waiting for an EOF that never came;
// - see SIGTERM/SIGINT and SIGPIPE as usual, whatever this process blocked
//   or ignored (an ignored signal stays ignored across exec).
// Only async-signal-safe calls between fork and exec: all the strings are
// built before the fork.
int spawn(const std::string& path, const std::vector<std::string>& args,
          const std::map<std::string, std::string>& env, int out_fd, int err_fd) {
  std::vector<std::string> argv_s{path};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  auto env_s = merged_env(env);
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  int status_pipe[2];  // carries errno if exec fails; EOF if it succeeds
  if (pipe2(status_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    ::close(status_pipe[0]);
    ::close(status_pipe[1]);
    throw std::runtime_error("fork failed for " + path);
  }
  if (pid == 0) {
    const auto fail = [&](int err) {
      [[maybe_unused]] const auto n = ::write(status_pipe[1], &err, sizeof err);
      _exit(127);
    };
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail(errno);
    if (getppid() != parent) _exit(127);  // the parent died before prctl
    if (out_fd >= 0 && dup2(out_fd, STDOUT_FILENO) < 0) fail(errno);
    if (err_fd >= 0 && dup2(err_fd, STDERR_FILENO) < 0) fail(errno);
    // status_pipe[1] is close-on-exec, so it may stay open until execve.
    const int keep = status_pipe[1];
    if (keep > 3) close_range(3, static_cast<unsigned>(keep) - 1, 0);
    close_range(static_cast<unsigned>(keep) + 1, ~0U, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    execve(path.c_str(), argv.data(), envp.data());
    fail(errno);
  }
  ::close(status_pipe[1]);
  int err = 0;
  ssize_t n;
  do {
    n = ::read(status_pipe[0], &err, sizeof err);
  } while (n < 0 && errno == EINTR);
  ::close(status_pipe[0]);
  if (n > 0) {
    waitpid(pid, nullptr, 0);
    throw std::runtime_error("spawn " + path + " failed: " + std::strerror(err));
  }
  return pid;
}

int decode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::string shell_capture(const std::string& command) {
  std::string out;
  if (run_shell(command, &out) != 0) throw std::runtime_error("command failed: " + command);
  return out;
}

std::string state_dir() {
  const char* dir = std::getenv("MILLRACE_STATE_DIR");
  if (dir == nullptr) {
    throw std::runtime_error("MILLRACE_STATE_DIR is not set: run integration tests through ctest");
  }
  return dir;
}

}  // namespace

StackEnv stack_env() {
  const std::string out =
      shell_capture(millrace::test_paths::source("deploy/local/stack") + " env");
  StackEnv env;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    const auto eq = line.find('=');
    if (line.rfind("export ", 0) != 0 || eq == std::string::npos) continue;
    const std::string key = line.substr(7, eq - 7);
    std::string value = line.substr(eq + 1);
    if (value.size() >= 2 && value.front() == '\'' && value.back() == '\'') {
      value = value.substr(1, value.size() - 2);
    }
    if (key == "MILLRACE_BROKERS") env.brokers = value;
    if (key == "MILLRACE_PG") env.pg = value;
    if (key == "MILLRACE_CHANGEFEED_PG") env.changefeed_pg = value;
    if (key == "MILLRACE_PROMETHEUS_URL") env.prometheus_url = value;
    if (key == "MILLRACE_REDIS_URL") env.redis_url = value;
    if (key != "MILLRACE_PG" && key != "MILLRACE_CHANGEFEED_PG" && key.ends_with("_PG")) {
      env.service_pg[key] = value;
    }
  }
  if (env.brokers.empty() || env.pg.empty()) {
    throw std::runtime_error("stack env printed no MILLRACE_BROKERS/MILLRACE_PG (state dir " +
                             state_dir() + ")");
  }
  return env;
}

int stack(const std::string& args) {
  const std::string cmd = millrace::test_paths::source("deploy/local/stack") + " " + args + " >&2";
  return run_shell(cmd, nullptr);
}

int stack_server_pid(const std::string& server) {
  std::string out;
  run_shell(millrace::test_paths::source("deploy/local/stack") + " status 2>&1", &out);
  const auto line = out.find(server + ":");
  if (line == std::string::npos) return -1;
  const std::string running = "running (pid ";
  const auto at = out.find(running, line);
  if (at == std::string::npos || at > out.find('\n', line)) return -1;
  return std::stoi(out.substr(at + running.size()));
}

std::string unique_name(std::string_view prefix) {
  static std::atomic<int> counter{0};
  std::random_device rd;
  return std::string(prefix) + "_" + std::to_string(getpid()) + "_" + std::to_string(counter++) +
         "_" + std::to_string(rd() % 100000);
}

namespace {

// tests/pysupport/ports.py's rules, for the pickers of every language: a
// port handed out is held for kHoldSeconds by a file of its own, its time
// the pick's, and none is handed out while another picker holds it.
constexpr long kHoldSeconds = 900;

bool bindable(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("no free port: socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return bound;
}

// Holds `port` unless a picker holds it now; whether it did. The file's
// lock makes the look and the hold one step.
bool hold(int port) {
  const std::string dir = "/tmp/millrace-ports-" + std::to_string(::getuid());
  ::mkdir(dir.c_str(), 0700);
  const int fd =
      ::open((dir + "/" + std::to_string(port)).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("holding a port in " + dir + ": " + std::strerror(errno));
  bool held = false;
  struct stat st {};
  if (::flock(fd, LOCK_EX) == 0 && ::fstat(fd, &st) == 0) {
    held = st.st_size == 0 || ::time(nullptr) - st.st_mtime >= kHoldSeconds;
    const std::string pid = std::to_string(::getpid()) + "\n";
    held = held && ::ftruncate(fd, 0) == 0 &&
           ::write(fd, pid.data(), pid.size()) == static_cast<ssize_t>(pid.size());
  }
  ::close(fd);
  return held;
}

}  // namespace

int free_port() {
  // Below the kernel's ephemeral range, from 24000 (tests/pysupport/ports.py
  // says why): a port from it (what binding port 0 gives) can be taken by
  // any client's outgoing connection before the server under test binds it.
  int low = 32768;
  if (std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range"); range) range >> low;
  if (low <= 25000) throw std::runtime_error("no room below the ephemeral port range");
  static std::mutex mutex;
  static std::mt19937 rng(std::random_device{}());
  const std::lock_guard lock(mutex);
  std::uniform_int_distribution<int> pick(24000, low - 1);
  for (int attempt = 0; attempt < 200; ++attempt) {
    const int port = pick(rng);
    if (bindable(port) && hold(port)) return port;
  }
  throw std::runtime_error("no free port below " + std::to_string(low));
}

HttpAnswer http_answer(int port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (fd >= 0) ::close(fd);
    return {};
  }
  const std::string request =
      "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  if (::write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return {};
  }
  std::string response;
  char buf[8192];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) response.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  const auto body = response.find("\r\n\r\n");
  if (response.rfind("HTTP/1.", 0) != 0 || body == std::string::npos || response.size() < 12) {
    return {};
  }
  return {std::atoi(response.substr(9, 3).c_str()), response.substr(body + 4)};
}

std::string http_get(int port, const std::string& path) {
  auto answer = http_answer(port, path);
  if (answer.status == 0) {
    throw std::runtime_error("GET " + path + " on port " + std::to_string(port) +
                             ": nothing answered");
  }
  if (answer.status != 200) {
    throw std::runtime_error("GET " + path + " on port " + std::to_string(port) + " failed: " +
                             std::to_string(answer.status) + " " + answer.body.substr(0, 200));
  }
  return std::move(answer.body);
}

std::string bin(std::string_view name) {
  if (const char* dir = std::getenv("MILLRACE_TEST_BIN_DIR"); dir != nullptr && *dir != '\0') {
    std::string path = std::string(dir) + "/" + std::string(name);
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return millrace::test_paths::bin_dir() + "/" + std::string(name);
}

namespace {
std::mutex started_logs_mutex;
std::vector<std::string> started_logs_list;
}  // namespace

std::vector<std::weak_ptr<std::function<std::string()>>> failure_note_list;

FailureNote add_failure_note(std::function<std::string()> describe) {
  auto note = std::make_shared<std::function<std::string()>>(std::move(describe));
  std::lock_guard lock(started_logs_mutex);
  failure_note_list.push_back(note);
  return note;
}

std::vector<std::string> failure_notes() {
  std::vector<std::shared_ptr<std::function<std::string()>>> live;
  {
    std::lock_guard lock(started_logs_mutex);
    std::erase_if(failure_note_list, [](const auto& w) { return w.expired(); });
    for (const auto& w : failure_note_list) {
      if (auto note = w.lock()) live.push_back(std::move(note));
    }
  }
  std::vector<std::string> out;
  for (const auto& note : live) out.push_back((*note)());
  return out;
}

std::vector<std::string> started_logs() {
  std::lock_guard lock(started_logs_mutex);
  return started_logs_list;
}

void clear_started_logs() {
  std::lock_guard lock(started_logs_mutex);
  started_logs_list.clear();
}

Child::Child(const std::string& path, const std::vector<std::string>& args,
             const std::map<std::string, std::string>& env, const std::string& log_path) {
  {
    std::lock_guard lock(started_logs_mutex);
    if (std::find(started_logs_list.begin(), started_logs_list.end(), log_path) ==
        started_logs_list.end()) {
      started_logs_list.push_back(log_path);
    }
  }
  // stderr (our logs) and stdout both go to the log file.
  const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("open " + log_path);
  try {
    pid_ = spawn(path, args, env, fd, fd);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
}

Child::~Child() {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
}

Child::Child(Child&& other) noexcept
    : metrics_port(other.metrics_port), pid_(other.pid_), status_(other.status_) {
  other.pid_ = -1;
}

void Child::signal(int sig) {
  if (pid_ > 0 && !status_) ::kill(pid_, sig);
}

bool Child::running() {
  if (pid_ <= 0 || status_) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    status_ = decode(status);
    return false;
  }
  return true;
}

std::optional<int> Child::wait(std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() >= until) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return status_;
}

bool stop_cleanly(const std::vector<Child*>& children, std::chrono::milliseconds timeout) {
  for (auto* child : children) child->signal(SIGTERM);
  bool clean = true;
  for (auto* child : children) clean = child->wait(timeout) == std::optional<int>(0) && clean;
  return clean;
}

int run(const std::string& path, const std::vector<std::string>& args,
        const std::map<std::string, std::string>& env, std::string* out) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
  int pid = -1;
  try {
    pid = spawn(path, args, env, fds[1], -1);
  } catch (...) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw;
  }
  ::close(fds[1]);
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) {
    if (out != nullptr) out->append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return decode(status);
}

int run_shell(const std::string& command, std::string* out) {
  return run("/bin/sh", {"-c", command}, {}, out);
}

int pid_of_client_port(int port) {
  std::string out;
  run_shell("ss -tnpH 'sport = :" + std::to_string(port) + "'", &out);
  const auto at = out.find("pid=");
  return at == std::string::npos ? -1 : std::stoi(out.substr(at + 4));
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace millrace::testing
