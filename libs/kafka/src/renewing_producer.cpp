#include "millrace/kafka/renewing_producer.hpp"

#include <algorithm>
#include <utility>

namespace millrace::kafka {

namespace {

void add(DeliveryStats& total, const DeliveryStats& more) {
  if (total.first_error.empty()) total.first_error = more.first_error;
  total.delivered += more.delivered;
  total.failed += more.failed;
}

}  // namespace

RenewingProducer::RenewingProducer(ProducerConfig config)
    : config_(std::move(config)), current_(std::make_shared<Producer>(config_)) {}

RenewingProducer::~RenewingProducer() = default;

std::shared_ptr<Producer> RenewingProducer::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

std::optional<std::string> RenewingProducer::poll(std::chrono::milliseconds timeout) {
  std::shared_ptr<Producer> now = current();
  std::vector<std::shared_ptr<Producer>> retired;
  {
    std::lock_guard lock(mutex_);
    retired = retired_;
  }
  now->poll(retired.empty() ? timeout : std::chrono::milliseconds(0));
  for (const auto& p : retired) p->poll();
  if (!retired.empty()) {
    retired.clear();                              // this poll's own references
    std::vector<std::shared_ptr<Producer>> done;  // destroyed after the lock
    std::lock_guard lock(mutex_);
    std::erase_if(retired_, [&](std::shared_ptr<Producer>& p) {
      // A handle still held by a sender (or another poll) may yet take, and
      // refuse, a message: it stays until no one holds it.
      if (p.use_count() > 1 || p->queue_length() > 0) return false;
      add(retired_stats_, p->stats());
      done.push_back(std::move(p));
      return true;
    });
  }
  auto reason = now->fatal();
  if (!reason || !replace(now)) return std::nullopt;
  return reason;
}

void RenewingProducer::renew() {
  replace(current());
}

bool RenewingProducer::replace(const std::shared_ptr<Producer>& now) {
  const auto renewed_elsewhere = [&] {
    std::lock_guard lock(mutex_);
    return current_ != now;
  };
  if (renewed_elsewhere()) return false;
  // The new handle first, so that senders move to it while the old one's
  // messages are purged; their failed reports come at the next polls. Made
  // outside the lock (it starts librdkafka's threads): a thread polling
  // meanwhile may make one too, and only the first is kept.
  auto fresh = std::make_shared<Producer>(config_);
  {
    std::lock_guard lock(mutex_);
    if (current_ != now) return false;
    current_ = std::move(fresh);
    retired_.push_back(now);
    ++renewals_;
  }
  now->purge();
  return true;
}

int RenewingProducer::queue_length() const {
  std::lock_guard lock(mutex_);
  int n = current_->queue_length();
  for (const auto& p : retired_) n += p->queue_length();
  return n;
}

int RenewingProducer::flush(std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    poll(std::chrono::milliseconds(0));
    current()->flush(std::chrono::milliseconds(50));
    const int left = queue_length();
    if (left == 0 || std::chrono::steady_clock::now() >= until) return left;
  }
}

DeliveryStats RenewingProducer::stats() const {
  std::lock_guard lock(mutex_);
  DeliveryStats total = retired_stats_;
  for (const auto& p : retired_) add(total, p->stats());
  add(total, current_->stats());
  return total;
}

std::uint64_t RenewingProducer::renewals() const {
  std::lock_guard lock(mutex_);
  return renewals_;
}

}  // namespace millrace::kafka
