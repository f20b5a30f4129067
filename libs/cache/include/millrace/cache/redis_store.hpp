#pragma once

// store.hpp's protocol in Redis: each operation one Lua script (atomic on
// the server), keys under one prefix:
//   <prefix>:live         the live generation, with the lease's expiry
//   <prefix>:owner        the invalidator holding the right, with its lease
//   <prefix>:gen          the generation counter
//   <prefix>:g<N>:<key>   an entry: a hash of v (version) and b (body; none
//                         for a tombstone), with the entry's TTL
// Scripts touch keys they compute from the prefix, so this needs a
// standalone Redis (or one cluster slot for the prefix), not Redis Cluster.

#include <memory>
#include <string>

#include "millrace/cache/store.hpp"
#include "millrace/redis/client.hpp"

namespace millrace::cache {

std::unique_ptr<Store> make_redis_store(redis::Client client, std::string prefix);

}  // namespace millrace::cache
