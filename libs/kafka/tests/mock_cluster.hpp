#pragma once

// librdkafka's mock cluster, for libs/kafka's unit tests and the fault tests:
// real TCP listeners, so the code under test reaches it like any broker, with
// faults injected here. Needs RDKAFKA (millrace::kafka_mock_cluster).
#include <librdkafka/rdkafka.h>
// rdkafka_mock.h needs rdkafka.h first.
#include <librdkafka/rdkafka_mock.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <memory>
#include <string>

namespace millrace::testing {

// The mock cluster lives inside a librdkafka handle; destroying the handle
// destroys the cluster, so both are held together here.
struct MockCluster {
  std::unique_ptr<rd_kafka_t, decltype(&rd_kafka_destroy)> rk{nullptr, &rd_kafka_destroy};
  rd_kafka_mock_cluster_t* cluster = nullptr;

  // `debug`: librdkafka debug contexts for the handle that runs the cluster
  // ("mock" logs the mock coordinator's group state changes to stderr).
  explicit MockCluster(int brokers, const char* debug = nullptr) {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    if (debug != nullptr) {
      REQUIRE(rd_kafka_conf_set(conf, "debug", debug, err, sizeof err) == RD_KAFKA_CONF_OK);
      // "mock" also logs every request (tens of thousands of lines per test):
      // only the groups' lines go to stderr.
      rd_kafka_conf_set_log_cb(conf, [](const rd_kafka_t*, int, const char* fac, const char* line) {
        const std::string text(line);
        if (text.find("consumer group") != std::string::npos ||
            text.find("Member ") != std::string::npos) {
          std::fprintf(stderr, "%s %s\n", fac, line);
        }
      });
    }
    rk.reset(rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err));
    REQUIRE(rk);
    cluster = rd_kafka_mock_cluster_new(rk.get(), brokers);
    REQUIRE(cluster != nullptr);
  }
  ~MockCluster() {
    if (cluster != nullptr) rd_kafka_mock_cluster_destroy(cluster);
  }
  std::string bootstraps() const { return rd_kafka_mock_cluster_bootstraps(cluster); }
};

}  // namespace millrace::testing
