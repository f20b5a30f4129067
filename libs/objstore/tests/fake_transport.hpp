#pragma once

// A store's Transport over the HTTP client's fake, which answers from a
// function and keeps every request (its body copied), so a store's requests
// are checked without a server.

#include <memory>
#include <utility>
#include <vector>

#include "http.hpp"
#include "millrace/http/testing/fake_client.hpp"

namespace millrace::objstore::testing {

using http::testing::answer;
using http::testing::FakeClient;
using http::testing::Seen;

inline detail::Transport fake_transport(std::vector<Seen>& seen, FakeClient::Answer answer) {
  return detail::Transport(std::make_unique<FakeClient>(seen, std::move(answer)), {});
}

}  // namespace millrace::objstore::testing
