#include "millrace/kafka/readiness.hpp"

#include <librdkafka/rdkafka.h>

#include <memory>
#include <optional>
#include <utility>

#include "handles.hpp"
#include "millrace/core/failure.hpp"

namespace millrace::kafka {

namespace {

constexpr int kTimeoutMs = 3000;

class TopicProbe {
 public:
  TopicProbe(std::string brokers, Properties extra, std::string client_id, std::string topic,
             std::string create)
      : brokers_(std::move(brokers)),
        extra_(std::move(extra)),
        client_id_(std::move(client_id)),
        topic_(std::move(topic)),
        create_(std::move(create)) {}

  std::optional<runtime::Problem> operator()() {
    if (!rk_) open();
    detail::TopicPtr rkt(rd_kafka_topic_new(rk_.get(), topic_.c_str(), nullptr));
    const rd_kafka_metadata_t* raw = nullptr;
    const auto err = rd_kafka_metadata(rk_.get(), 0, rkt.get(), &raw, kTimeoutMs);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return runtime::Problem{"kafka",
                              "no broker of " + brokers_ + " answered within " +
                                  std::to_string(kTimeoutMs / 1000) + " s (" +
                                  rd_kafka_err2str(err) + ")",
                              "check that Kafka runs and MILLRACE_BROKERS"};
    }
    detail::MetadataPtr md(raw);
    const auto terr = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
    if (terr == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
        terr == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC) {
      return runtime::Problem{"kafka_topic", "topic " + topic_ + " does not exist", create_};
    }
    if (terr != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return runtime::Problem{"kafka_topic",
                              "topic " + topic_ + " is not usable: " + rd_kafka_err2str(terr),
                              "check the topic's ACLs for this service's Kafka user"};
    }
    return std::nullopt;
  }

 private:
  void open() {
    detail::ConfPtr conf(rd_kafka_conf_new());
    detail::set_property(conf.get(), "bootstrap.servers", brokers_);
    detail::set_property(conf.get(), "client.id", client_id_ + "-readiness");
    detail::set_property(conf.get(), "allow.auto.create.topics", "false");
    for (const auto& [key, value] : extra_) {
      // Security and networking settings apply; a consumer's or a
      // producer's own would be refused by this handle.
      if (key.rfind("security.", 0) == 0 || key.rfind("sasl.", 0) == 0 ||
          key.rfind("ssl.", 0) == 0 || key.rfind("socket.", 0) == 0) {
        detail::set_property(conf.get(), key, value);
      }
    }
    detail::install_logger(conf.get());
    char err[512];
    rk_.reset(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof err));
    if (!rk_) throw core::InfraError(core::FailureClass::kFatal, std::string("kafka: ") + err);
    conf.release();
  }

  std::string brokers_;
  Properties extra_;
  std::string client_id_;
  std::string topic_;
  std::string create_;
  detail::HandlePtr rk_;
};

}  // namespace

runtime::Health::Probe topic_probe(const KafkaClientOptions& options, std::string topic,
                                   std::string create) {
  auto probe = std::make_shared<TopicProbe>(
      options.brokers, options.extra, options.client_id.empty() ? "millrace" : options.client_id,
      std::move(topic), std::move(create));
  return [probe] { return (*probe)(); };
}

}  // namespace millrace::kafka
