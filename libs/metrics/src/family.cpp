#include "millrace/metrics/family.hpp"

#include <algorithm>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace millrace::metrics {

namespace {

// Families are constants at namespace scope: they are made before main()
// and, in a unity build or across libraries, in no order the language
// fixes, so the catalog is made on first use.
struct Catalog {
  std::mutex mutex;
  std::vector<const Family*> families;
};

Catalog& the_catalog() {
  static Catalog c;
  return c;
}

const char* type_name(Type t) {
  switch (t) {
    case Type::kCounter:
      return "counter";
    case Type::kGauge:
      return "gauge";
    case Type::kHistogram:
      return "histogram";
  }
  return "?";
}

bool same(const FamilySpec& a, const FamilySpec& b) {
  return a.name == b.name && a.type == b.type && a.help == b.help && a.labels == b.labels &&
         a.buckets == b.buckets && a.group == b.group;
}

template <typename T>
std::string joined(const std::vector<T>& items) {
  std::ostringstream out;
  for (std::size_t i = 0; i < items.size(); ++i) out << (i == 0 ? "" : ",") << items[i];
  return out.str();
}

}  // namespace

Family::Family(FamilySpec spec) : spec_(std::move(spec)) {
  if (spec_.name.empty() || spec_.help.empty() || spec_.group.empty()) {
    throw std::logic_error("metric family " + spec_.name +
                           ": declared without name, help or group");
  }
  if ((spec_.type == Type::kHistogram) == spec_.buckets.empty()) {
    throw std::logic_error("metric family " + spec_.name + ": buckets are a histogram's, and only");
  }
  auto& c = the_catalog();
  std::lock_guard lock(c.mutex);
  for (const Family* f : c.families) {
    if (f->spec_.name == spec_.name && !same(f->spec_, spec_)) {
      throw std::logic_error("metric family " + spec_.name + ": declared twice, differently");
    }
  }
  c.families.push_back(this);
}

Family::~Family() {
  auto& c = the_catalog();
  std::lock_guard lock(c.mutex);
  c.families.erase(std::remove(c.families.begin(), c.families.end(), this), c.families.end());
}

void Family::require(Type type, const Labels& labels) const {
  if (type != spec_.type) {
    throw std::logic_error("metric family " + spec_.name + " is a " + type_name(spec_.type) +
                           ", registered as a " + type_name(type));
  }
  std::vector<std::string> names;
  for (const auto& [name, value] : labels) names.push_back(name);
  auto declared = spec_.labels;
  std::sort(declared.begin(), declared.end());
  if (names != declared) {
    throw std::logic_error("metric family " + spec_.name + " has the labels " +
                           joined(spec_.labels) + ", registered with " + joined(names));
  }
}

Counter Family::counter(Registry& registry, const Labels& labels) const {
  require(Type::kCounter, labels);
  return registry.counter(spec_.name, spec_.help, labels);
}

Gauge Family::gauge(Registry& registry, const Labels& labels) const {
  require(Type::kGauge, labels);
  return registry.gauge(spec_.name, spec_.help, labels);
}

Histogram Family::histogram(Registry& registry, const Labels& labels) const {
  require(Type::kHistogram, labels);
  return registry.histogram(spec_.name, spec_.help, spec_.buckets, labels);
}

void Family::computed_gauge(Registry& registry,
                            std::function<std::vector<Sample>()> collect) const {
  if (spec_.type != Type::kGauge) require(Type::kGauge, {});
  registry.computed_gauge(spec_.name, spec_.help, std::move(collect));
}

std::vector<const Family*> catalog() {
  auto& c = the_catalog();
  std::lock_guard lock(c.mutex);
  return c.families;
}

std::string catalog_reference() {
  std::ostringstream out;
  std::vector<std::string> shown;
  for (const Family* f : catalog()) {
    const auto& s = f->spec();
    // The same declaration twice (one of a header's): listed once.
    if (std::find(shown.begin(), shown.end(), s.name) != shown.end()) continue;
    shown.push_back(s.name);
    out << s.name << '\t' << type_name(s.type) << '\t' << joined(s.labels) << '\t'
        << joined(s.buckets) << '\t' << s.group << '\t' << s.help << '\n';
  }
  return out.str();
}

}  // namespace millrace::metrics
