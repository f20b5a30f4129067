#include "near_map.hpp"

#include <mutex>
#include <utility>

namespace millrace::cache::detail {

std::optional<catalog::HeldBody> NearMap::get(std::string_view key,
                                              NearClock::time_point now) const {
  std::shared_lock lock(mutex_);
  if (!listening_ || !live_known_ || now >= live_until_) return std::nullopt;
  const auto it = slots_.find(std::string(key));
  if (it == slots_.end() || !it->second.held) return std::nullopt;
  return catalog::HeldBody{it->second.body};
}

Ticket NearMap::ask(std::string_view key, NearClock::time_point now) {
  std::unique_lock lock(mutex_);
  if (!listening_ || max_entries_ == 0) return {};
  std::string k(key);
  auto it = slots_.find(k);
  if (it == slots_.end()) {
    // Full: any entry makes room; a hot one comes back at its next read.
    if (slots_.size() >= max_entries_) slots_.erase(slots_.begin());
    it = slots_.emplace(k, Slot{next_token_++, false, {}, std::nullopt}).first;
  }
  // Reads asked while the slot lives share its token, and a held entry
  // stays served meanwhile: only a change erases the slot, and a read
  // asked before that keeps nothing.
  return {std::move(k), it->second.token, live_changes_, now};
}

void NearMap::keep(const Ticket& ticket, const Lookup& found) {
  if (ticket.token == 0) return;
  Slots dropped;  // freed after the lock (declared before it)
  std::unique_lock lock(mutex_);
  const auto it = slots_.find(ticket.key);
  // The key changed (or listening stopped) since the ask: what the read
  // found may be older than the store's value now.
  if (!listening_ || it == slots_.end() || it->second.token != ticket.token) return;
  // Nothing live, or another generation than the one held read before the
  // latest change of the live mark was heard of (a read that crossed a
  // rebuild): nothing to keep. One asked after it found the generation
  // live now, whatever its number (a counter Redis lost restarts lower).
  const bool mark_seen = ticket.live_changes == live_changes_;
  if (!found.generation || !found.entry || (generation_ != found.generation && !mark_seen)) {
    slots_.erase(it);
    return;
  }
  if (generation_ != found.generation) {
    // A new generation: what was held belongs to the old one.
    Slot mine = std::move(it->second);
    dropped = std::exchange(slots_, {});
    slots_.emplace(ticket.key, std::move(mine));
    generation_ = found.generation;
    live_known_ = false;
  }
  Slot& slot = slots_.at(ticket.key);
  // Reads in flight together share the ticket: one that found an older
  // version than another already kept does not replace it.
  if (slot.held && found.entry->version < slot.version) return;
  slot.held = true;
  slot.version = found.entry->version;
  slot.body = found.entry->body;
  if (mark_seen && found.live_for.count() > 0) {
    // Counted from before the lookup was sent: never past the lease.
    live_known_ = true;
    live_until_ = ticket.asked + found.live_for;
  }
}

void NearMap::listening(bool on) {
  Slots dropped;  // freed after the lock (declared before it)
  std::unique_lock lock(mutex_);
  listening_ = on;
  dropped = clear_locked();
}

void NearMap::changed(std::string_view key) {
  std::unique_lock lock(mutex_);
  slots_.erase(std::string(key));
}

void NearMap::live_changed() {
  std::unique_lock lock(mutex_);
  live_known_ = false;
  ++live_changes_;
}

void NearMap::changed_all() {
  Slots dropped;  // freed after the lock (declared before it)
  std::unique_lock lock(mutex_);
  dropped = clear_locked();
}

std::size_t NearMap::size() const {
  std::shared_lock lock(mutex_);
  return slots_.size();
}

NearMap::Slots NearMap::clear_locked() {
  generation_.reset();
  live_known_ = false;
  ++live_changes_;
  return std::exchange(slots_, {});
}

}  // namespace millrace::cache::detail
