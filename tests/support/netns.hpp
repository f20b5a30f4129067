#pragma once

// A network namespace joined to this host by a veth pair, for partition
// tests: a service run inside it (prefix()) reaches the test stack's servers
// at their usual 127.0.0.1 addresses through NAT on both ends, and cut()
// drops that traffic silently (no reset: a real partition), per server port.
// Needs root, `ip` and `iptables`; available() says why not. Everything is
// removed again by the destructor, and leftovers of an earlier run with the
// same index by the constructor. Only addresses on this machine are used.

#include <optional>
#include <string>
#include <vector>

namespace millrace::testing {

class NetNs {
 public:
  // Why the host cannot make one, or nullopt if it can.
  static std::optional<std::string> unavailable();

  // `index` (0..63) and this process's pid pick the names and a /30 link in
  // 10.232.0.0/13.
  NetNs(int index, std::vector<int> ports);
  ~NetNs();
  NetNs(const NetNs&) = delete;
  NetNs& operator=(const NetNs&) = delete;

  // Prepended to a command to run it inside the namespace.
  std::vector<std::string> prefix() const;

  // Drops (heal: lets through again) the traffic to and from one port.
  void cut(int port);
  void heal(int port);

 private:
  void host_rules(const char* action, bool quiet);
  std::string name_, host_if_, ns_if_, host_ip_, ns_ip_;
  std::vector<int> ports_;
  std::vector<int> cut_;
};

}  // namespace millrace::testing
