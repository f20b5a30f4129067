#include "fault_report.hpp"

#include <cstdio>
#include <ctime>
#include <fstream>

#include "millrace/test_paths.hpp"

namespace millrace::testing {

void record_fault(const FaultFigures& f) {
  const std::string path = millrace::test_paths::log_dir() + "/fault-matrix.tsv";
  const bool fresh = !std::ifstream(path).good();
  std::ofstream out(path, std::ios::app);
  if (fresh) out << "time\tfault\tevents\tlost\tduplicated\tunaccounted\trecovery_s\n";
  char when[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  char recovery[32];
  std::snprintf(recovery, sizeof recovery, "%.1f", f.recovery_s);
  out << when << '\t' << f.fault << '\t' << f.events << '\t' << f.lost << '\t' << f.duplicated
      << '\t' << f.unaccounted << '\t' << recovery << '\n';
}

}  // namespace millrace::testing
