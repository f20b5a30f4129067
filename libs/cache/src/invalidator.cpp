#include "invalidator.hpp"

#include <algorithm>

#include "millrace/catalog/json.hpp"
#include "millrace/core/failure.hpp"
#include "millrace/runtime/log.hpp"

namespace millrace::cache::detail {

namespace {

constexpr std::string_view kComponent = "cache";
constexpr std::size_t kLoadBatch = 1000;

}  // namespace

Invalidator::Invalidator(InvalidatorRules rules, Feed& feed, Truth& truth, Store& store,
                         InvalidatorProbe& probe)
    : rules_(std::move(rules)),
      feed_(feed),
      truth_(truth),
      store_(store),
      probe_(probe),
      backoff_(rules_.first_backoff, rules_.max_backoff) {}

template <typename F>
auto Invalidator::with(std::string_view what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const core::InfraError& e) {
    if (e.failure_class() == core::FailureClass::kFatal) throw;
    throw Failed{std::string(what), e.what()};
  }
}

std::chrono::milliseconds Invalidator::step() {
  if (rules_.refresh) rules_.refresh(rules_);
  try {
    switch (state_) {
      case State::kStandby:
        standby();
        break;
      case State::kRebuild:
        rebuild();
        break;
      case State::kFollow:
        follow();
        break;
    }
    backoff_.reset();
    failing_ = false;
    if (state_ == State::kStandby) return rules_.lease / 4;
    return std::chrono::milliseconds(0);
  } catch (const Failed& failed) {
    probe_.error(failed.what);
    if (trusted_ || !failing_) {
      runtime::log_warn(kComponent, "the " + failed.what + " failed (" + failed.message + "): " +
                                        rules_.fallback + " until " + rules_.what + " is rebuilt");
    }
    trusted_ = false;
    probe_.trusted(false);
    if (generation_ && failed.what != "store") {
      try {
        store_.withdraw(*generation_);
      } catch (const core::InfraError&) {
        // The lease ends it instead.
      }
    }
    if (state_ != State::kStandby) {
      state_ = State::kRebuild;
      reason_ = failed.what == "feed"    ? "feed_lost"
                : failed.what == "store" ? "store_lost"
                                         : "database";
    }
    failing_ = true;
    return backoff_.next();
  }
}

void Invalidator::standby() {
  if (!with("store", [&] { return store_.acquire(rules_.owner, rules_.lease); })) return;
  runtime::log_info(kComponent, "keeping " + rules_.what + " of schema " + rules_.schema);
  state_ = State::kRebuild;
}

void Invalidator::need_rebuild(std::string_view reason) {
  trusted_ = false;
  probe_.trusted(false);
  reason_ = std::string(reason);
  state_ = State::kRebuild;
}

void Invalidator::rebuild() {
  if (!with("store", [&] { return store_.acquire(rules_.owner, rules_.lease); })) {
    runtime::log_warn(kComponent, "another invalidator holds the cache: standing by");
    state_ = State::kStandby;
    return;
  }
  if (generation_) with("store", [&] { store_.withdraw(*generation_); });
  trusted_ = false;
  probe_.trusted(false);
  // The ends before the snapshot (see the header); before the generation
  // too, so a feed that is down does not use up generations.
  const auto ends = with("feed", [&] { return feed_.ends(); });
  const auto generation = with("store", [&] { return store_.new_generation(); });

  std::map<std::string, ListedCategory, std::less<>> categories;
  std::vector<std::pair<std::string, Entry>> pending;
  std::size_t rows = 0;
  const auto flush = [&] {
    with("store", [&] { store_.put(generation, pending, rules_.ttl); });
    pending.clear();
    // A large catalog loads for longer than the lease: keep the right to
    // invalidate meanwhile, so a standby does not take over mid-load.
    if (!with("store", [&] { return store_.acquire(rules_.owner, rules_.lease); })) {
      throw Failed{"store", "another invalidator took the cache over during the load"};
    }
  };
  const auto snapshot = with("database", [&] {
    return truth_.load([&](catalog::Table table, const std::string& key, std::string body) {
      ++rows;
      if (table == catalog::Table::kCategories) {
        categories[key] = {std::string(kLoadedVersion), body};
      }
      pending.emplace_back(entry_key(table, key), Entry{std::string(kLoadedVersion), body});
      if (pending.size() >= kLoadBatch) flush();
    });
  });
  std::swap(categories_, categories);
  list_version_ = std::string(kLoadedVersion);
  pending.emplace_back(std::string(kCategoriesKey), Entry{list_version_, list_body()});
  flush();

  with("feed", [&] { feed_.start_at(ends); });
  if (!with("store", [&] { return store_.set_live(rules_.owner, generation, rules_.lease); })) {
    runtime::log_warn(kComponent, "another invalidator took over during the rebuild: standing by");
    state_ = State::kStandby;
    return;
  }
  probe_.rebuilt(reason_);
  runtime::log_info(kComponent, "rebuilt " + rules_.what + " (" + reason_ + "): generation " +
                                    std::to_string(generation) + ", " + std::to_string(rows) +
                                    " rows; following the change feed");
  generation_ = generation;
  snapshot_ = snapshot;
  trusted_ = true;
  probe_.trusted(true);
  state_ = State::kFollow;
  const auto now = rules_.steady();
  next_renew_ = now + rules_.lease / 4;
  next_check_ = now;
}

void Invalidator::follow() {
  std::vector<CatalogChange> changes;
  for (std::size_t read = 0; read < rules_.batch; ++read) {
    auto record = with(
        "feed", [&] { return feed_.poll(read == 0 ? rules_.poll : std::chrono::milliseconds(0)); });
    if (!record) break;
    if (!may_be_catalog(record->key, rules_.schema)) continue;
    auto change = read_change(record->value, rules_.schema);
    if (std::holds_alternative<NotCatalog>(change)) continue;
    if (const auto* why = std::get_if<std::string>(&change)) {
      probe_.unreadable();
      runtime::log_error(kComponent, "partition " + std::to_string(record->partition) + " offset " +
                                         std::to_string(record->offset) +
                                         ": an unreadable catalog change (" + *why +
                                         "): rebuilding " + rules_.what + " from PostgreSQL");
      apply(changes);
      return need_rebuild("unreadable");
    }
    auto& c = std::get<CatalogChange>(change);
    if (c.table == catalog::Table::kAssets && !rules_.assets) continue;
    if (c.op == CatalogChange::Op::kTruncate) {
      apply(changes);
      runtime::log_info(kComponent, "a catalog table was truncated: rebuilding " + rules_.what);
      return need_rebuild("truncate");
    }
    if (c.op == CatalogChange::Op::kGap) {
      apply(changes);
      runtime::log_warn(kComponent,
                        "the change feed lost changes of a catalog table (a gap): "
                        "rebuilding " +
                            rules_.what + " from PostgreSQL");
      return need_rebuild("gap");
    }
    // A feed snapshot's row (xid 0) is applied: it may carry what no change will.
    if (c.xid != 0 && snapshot_ && snapshot_->saw(c.xid)) {
      probe_.skipped_seen();
      continue;
    }
    changes.push_back(std::move(c));
  }
  apply(changes);
  renew_if_due();
  if (rules_.steady() >= next_check_) check_feed();
}

void Invalidator::apply(const std::vector<CatalogChange>& changes) {
  if (changes.empty()) return;
  std::vector<std::pair<std::string, Entry>> entries;
  std::map<catalog::Table, std::size_t> written;
  bool listed = false;
  for (const auto& c : changes) {
    const bool category = c.table == catalog::Table::kCategories;
    const auto key = entry_key(c.table, c.name);
    written[c.table] += c.old_name ? 2 : 1;
    if (c.old_name)
      entries.emplace_back(entry_key(c.table, *c.old_name), Entry{c.id, std::nullopt});
    if (c.op == CatalogChange::Op::kDelete) {
      entries.emplace_back(key, Entry{c.id, std::nullopt});
    } else {
      entries.emplace_back(key, Entry{c.id, c.body});
    }
    if (category) {
      if (c.old_name) list_change(*c.old_name, c.id, std::nullopt);
      list_change(c.name, c.id,
                  c.op == CatalogChange::Op::kDelete ? std::nullopt : std::optional(*c.body));
      listed = true;
    }
  }
  if (listed) entries.emplace_back(std::string(kCategoriesKey), Entry{list_version_, list_body()});
  with("store", [&] { store_.put(*generation_, entries, rules_.ttl); });
  for (const auto& [table, n] : written) probe_.written(table, n);
  const auto now_us = rules_.now_us();
  for (const auto& c : changes) {
    if (!c.commit_us) continue;
    probe_.delay(static_cast<double>(std::max<std::int64_t>(0, now_us - *c.commit_us)) / 1e6);
    probe_.applied_commit(static_cast<double>(*c.commit_us) / 1e6);
  }
}

void Invalidator::list_change(const std::string& name, const std::string& version,
                              std::optional<std::string> body) {
  const auto it = categories_.find(name);
  if (it == categories_.end()) {
    categories_.emplace(name, ListedCategory{version, std::move(body)});
  } else if (it->second.version <= version) {
    it->second = {version, std::move(body)};
  }
  list_version_ = std::max(list_version_, version);
}

std::string Invalidator::list_body() const {
  std::vector<std::string> items;
  items.reserve(categories_.size());
  for (const auto& [name, listed] : categories_) {
    if (listed.body) items.push_back(*listed.body);
  }
  return catalog::category_list_json(items);
}

void Invalidator::renew_if_due() {
  const auto now = rules_.steady();
  if (now < next_renew_) return;
  next_renew_ = now + rules_.lease / 4;
  if (!with("store", [&] { return store_.set_live(rules_.owner, *generation_, rules_.lease); })) {
    runtime::log_warn(kComponent, "another invalidator took over the cache: standing by");
    trusted_ = false;
    probe_.trusted(false);
    reason_ = "taken_over";  // counted by the rebuild when this one takes it back
    state_ = State::kStandby;
  }
}

// Asks Kafka for the ends: the lag, and proof that the feed is still there.
// A feed that cannot be reached ends trust (with() makes it a failure).
void Invalidator::check_feed() {
  next_check_ = rules_.steady() + rules_.check_every;
  const auto ends = with("feed", [&] { return feed_.ends(); });
  const auto positions = with("feed", [&] { return feed_.positions(); });
  std::int64_t lag = 0;
  for (const auto& end : ends) {
    for (const auto& at : positions) {
      if (at.partition == end.partition && at.offset >= 0 && end.offset > at.offset) {
        lag += end.offset - at.offset;
      }
    }
  }
  probe_.lag(lag);
}

void Invalidator::stop() {
  trusted_ = false;
  probe_.trusted(false);
  try {
    if (generation_) store_.withdraw(*generation_);
    store_.release(rules_.owner);
  } catch (const core::InfraError& e) {
    runtime::log_warn(kComponent, std::string("could not withdraw the cache at stop (") + e.what() +
                                      "): its lease ends it");
  }
}

}  // namespace millrace::cache::detail
