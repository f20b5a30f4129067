#include "netns.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <stdexcept>

#include "harness.hpp"

namespace millrace::testing {

namespace {

void sh(const std::string& command, bool quiet = false) {
  std::string out;
  if (run_shell(command + " 2>&1", &out) != 0 && !quiet) {
    throw std::runtime_error("netns: `" + command + "` failed: " + out);
  }
}

// Namespaces of test runs that died without cleaning up (SIGKILLed by a
// ctest timeout): "millrace-ft-<pid>-<index>" whose pid is gone. Their
// veth pairs go with them; their host rules name interfaces that no longer
// exist, so they match nothing.
void sweep_dead() {
  std::string list;
  run_shell("ip netns list 2>/dev/null", &list);
  std::size_t at = 0;
  const std::string prefix = "millrace-ft-";
  while ((at = list.find(prefix, at)) != std::string::npos) {
    const auto end = list.find_first_of(" \n", at);
    const std::string name = list.substr(at, end - at);
    at = end == std::string::npos ? list.size() : end;
    const auto dash = name.find('-', prefix.size());
    if (dash == std::string::npos) continue;
    const int pid = std::atoi(name.substr(prefix.size(), dash - prefix.size()).c_str());
    if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH) sh("ip netns del " + name, true);
  }
}

}  // namespace

std::optional<std::string> NetNs::unavailable() {
  if (::geteuid() != 0) return "not root: network namespaces need CAP_NET_ADMIN";
  std::string out;
  if (run_shell("command -v ip && command -v iptables", &out) != 0) {
    return "ip or iptables is missing (scripts/bootstrap installs iproute2 and iptables)";
  }
  // Root is not enough in a container without CAP_SYS_ADMIN or CAP_NET_ADMIN:
  // make a namespace and read its NAT table, as NetNs will, and remove it.
  const std::string probe = "millrace-ft-" + std::to_string(::getpid()) + "-probe";
  const int made = run_shell("ip netns add " + probe + " 2>&1 && ip netns exec " + probe +
                                 " iptables -t nat -S 2>&1 >/dev/null",
                             &out);
  sh("ip netns del " + probe, true);
  if (made != 0) return "cannot make a network namespace with NAT here: " + out;
  return std::nullopt;
}

NetNs::NetNs(int index, std::vector<int> ports) : ports_(std::move(ports)) {
  // Unique to this process, so two test runs on one machine (a fault loop
  // beside CI) never share a namespace, an interface or a link: the name
  // carries the pid (sweep_dead() removes those of dead runs), the
  // interfaces and the /30 link in 10.232.0.0/13 a number derived from it.
  const int pid = static_cast<int>(::getpid());
  const int unique = pid % 2048 * 64 + index;
  name_ = "millrace-ft-" + std::to_string(pid) + "-" + std::to_string(index);
  host_if_ = "mrft" + std::to_string(unique) + "h";
  ns_if_ = "mrft" + std::to_string(unique) + "n";
  const std::string net = "10." + std::to_string(232 + unique / 16384) + "." +
                          std::to_string(unique % 16384 / 64) + ".";
  host_ip_ = net + std::to_string(unique % 64 * 4 + 1);
  ns_ip_ = net + std::to_string(unique % 64 * 4 + 2);
  sweep_dead();
  // Leftovers of an earlier run that could not clean up.
  host_rules("-D", true);
  sh("ip netns del " + name_, true);
  sh("ip link del " + host_if_, true);

  sh("ip netns add " + name_);
  sh("ip link add " + host_if_ + " type veth peer name " + ns_if_);
  sh("ip link set " + ns_if_ + " netns " + name_);
  sh("ip addr add " + host_ip_ + "/30 dev " + host_if_);
  sh("ip link set " + host_if_ + " up");
  // Packets addressed to 127.0.0.1 may cross the link (after NAT).
  sh("sysctl -qw net.ipv4.conf." + host_if_ + ".route_localnet=1");
  const std::string in = "ip netns exec " + name_ + " ";
  sh(in + "ip link set lo up");
  sh(in + "ip addr add " + ns_ip_ + "/30 dev " + ns_if_);
  sh(in + "ip link set " + ns_if_ + " up");
  sh(in + "ip route add default via " + host_ip_);
  sh(in + "sysctl -qw net.ipv4.conf.all.route_localnet=1");
  sh(in + "sysctl -qw net.ipv4.conf." + ns_if_ + ".route_localnet=1");
  // Inside: 127.0.0.1:<port> goes to the host end of the link, from the
  // namespace's address.
  for (const int port : ports_) {
    sh(in + "iptables -t nat -A OUTPUT -d 127.0.0.1 -p tcp --dport " + std::to_string(port) +
       " -j DNAT --to-destination " + host_ip_ + ":" + std::to_string(port));
  }
  sh(in + "iptables -t nat -A POSTROUTING -o " + ns_if_ + " -j MASQUERADE");
  // On the host: to the server on 127.0.0.1, seen as a local client (the
  // servers listen on 127.0.0.1 and PostgreSQL trusts only local ones).
  host_rules("-A", false);
}

void NetNs::host_rules(const char* action, bool quiet) {
  const std::string a = action;
  for (const int port : ports_) {
    sh("iptables -t nat " + a + " PREROUTING -i " + host_if_ + " -d " + host_ip_ +
           " -p tcp --dport " + std::to_string(port) +
           " -j DNAT --to-destination 127.0.0.1:" + std::to_string(port),
       quiet);
  }
  sh("iptables -t nat " + a + " INPUT -s " + ns_ip_ + " -p tcp -j SNAT --to-source 127.0.0.1",
     quiet);
}

NetNs::~NetNs() {
  for (const int port : std::vector<int>(cut_)) heal(port);
  host_rules("-D", true);
  sh("ip netns del " + name_, true);  // takes the veth pair with it
  sh("ip link del " + host_if_, true);
}

std::vector<std::string> NetNs::prefix() const {
  std::string ip;
  run_shell("command -v ip", &ip);
  while (!ip.empty() && (ip.back() == '\n' || ip.back() == ' ')) ip.pop_back();
  return {ip, "netns", "exec", name_};
}

void NetNs::cut(int port) {
  const std::string p = std::to_string(port);
  // Silently, both ways: requests from the namespace, answers to it.
  sh("iptables -I INPUT -i " + host_if_ + " -p tcp --dport " + p + " -j DROP");
  sh("iptables -I OUTPUT -o " + host_if_ + " -p tcp --sport " + p + " -j DROP");
  sh("iptables -I FORWARD -i " + host_if_ + " -p tcp --dport " + p + " -j DROP");
  cut_.push_back(port);
}

void NetNs::heal(int port) {
  const std::string p = std::to_string(port);
  sh("iptables -D INPUT -i " + host_if_ + " -p tcp --dport " + p + " -j DROP", true);
  sh("iptables -D OUTPUT -o " + host_if_ + " -p tcp --sport " + p + " -j DROP", true);
  sh("iptables -D FORWARD -i " + host_if_ + " -p tcp --dport " + p + " -j DROP", true);
  std::erase(cut_, port);
}

}  // namespace millrace::testing
