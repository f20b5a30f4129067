#include "millrace/stream/service.hpp"

#include <stdexcept>

#include "millrace/kafka/readiness.hpp"
#include "millrace/pg/readiness.hpp"
#include "millrace/runtime/log.hpp"

namespace millrace::stream {

ConsumerService::ConsumerService(std::string component, metrics::Registry& metrics)
    : component_(std::move(component)), metrics_(metrics) {}

ConsumerService::~ConsumerService() {
  stop();
}

void ConsumerService::consume(const StreamConfig& config, Handler& handler) {
  if (consumer_) throw std::logic_error(component_ + ": a service has one consumer");
  consumer_ =
      &parts_.add(std::make_unique<TransactionalConsumer>(config, handler, component_, metrics_));
  health_.poll("postgresql", pg::database_probe(config.pg, component_ + "-readiness", true));
  health_.poll("kafka", kafka::topic_probe(config.kafka, config.kafka.topic,
                                           "create it with `millrace create-topics`, or set " +
                                               config.kafka.topic_env +
                                               " to the topic this service should read"));
}

void ConsumerService::start() {
  if (!consumer_) throw std::logic_error(component_ + ": consume() was never called");
  parts_.start();
  health_.start();
}

void ConsumerService::stop() {
  health_.stop();
  parts_.stop();
  if (!consumer_ || reported_) return;
  reported_ = true;
  const auto s = consumer_->stats();
  std::string summary = "consumed=" + std::to_string(s.consumed);
  for (const auto& [outcome, n] : s.outcomes) summary += " " + outcome + "=" + std::to_string(n);
  runtime::log_info(component_, summary + " batches=" + std::to_string(s.batches) +
                                    " fenced=" + std::to_string(s.fenced));
}

bool ConsumerService::wait(std::chrono::milliseconds timeout) {
  if (parts_.failed()) return true;
  return consumer_ == nullptr || consumer_->wait(timeout);
}

void ConsumerService::rethrow_failure() {
  parts_.rethrow_failure();
}

std::vector<runtime::Problem> ConsumerService::readiness() const {
  auto problems = health_.problems();
  if (consumer_ != nullptr) {
    for (const auto& [partition, text] : consumer_->halted()) {
      problems.push_back(
          {"partition", text, "docs/operations.md, \"A halted partition\", says how to resume it"});
    }
  }
  return problems;
}

StreamStats ConsumerService::stats() const {
  return consumer_ ? consumer_->stats() : StreamStats{};
}

}  // namespace millrace::stream
