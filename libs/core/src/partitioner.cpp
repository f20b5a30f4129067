#include "millrace/core/partitioner.hpp"

#include <stdexcept>
#include <string>

#include "millrace/core/failure.hpp"

namespace millrace::core {
namespace {

constexpr std::uint64_t kFnvOffsetBasis = 14695981039346656037ULL;
constexpr std::uint64_t kFnvPrime = 1099511628211ULL;

constexpr std::uint64_t fnv1a(const unsigned char* data, std::size_t size) {
  std::uint64_t hash = kFnvOffsetBasis;
  for (std::size_t i = 0; i < size; ++i) {
    hash ^= data[i];
    hash *= kFnvPrime;
  }
  return hash;
}

}  // namespace

std::uint64_t store_hash(std::int32_t store_id) {
  // Bytes spelled out rather than memcpy'd so the result does not depend on
  // the host's byte order: producers in other languages must agree with it.
  const auto v = static_cast<std::uint32_t>(store_id);
  const unsigned char bytes[4] = {
      static_cast<unsigned char>(v & 0xFF),
      static_cast<unsigned char>((v >> 8) & 0xFF),
      static_cast<unsigned char>((v >> 16) & 0xFF),
      static_cast<unsigned char>((v >> 24) & 0xFF),
  };
  return fnv1a(bytes, sizeof bytes);
}

std::int32_t partition_for(EventType type, std::int32_t store_id, std::int32_t partition_count) {
  if (partition_count < 2 || partition_count % 2 != 0) {
    throw std::invalid_argument("partition count must be even and >= 2, got " +
                                std::to_string(partition_count));
  }
  const auto per_parity = static_cast<std::uint64_t>(partition_count / 2);
  const auto slot = static_cast<std::int32_t>(store_hash(store_id) % per_parity);
  return 2 * slot + (type == EventType::kSale ? 1 : 0);
}

void require_even_partitions(std::string_view topic, std::int32_t partition_count) {
  if (partition_count >= 2 && partition_count % 2 == 0) return;
  throw InfraError(FailureClass::kFatal,
                   "topic " + std::string(topic) + " has " + std::to_string(partition_count) +
                       " partitions; Millrace needs an even number (sale events go to odd "
                       "partitions, inventory events to even ones)");
}

std::int32_t partition_for_bytes(const void* data, std::size_t size, std::int32_t partition_count) {
  if (partition_count < 1) {
    throw std::invalid_argument("partition count must be >= 1, got " +
                                std::to_string(partition_count));
  }
  const std::uint64_t hash = fnv1a(static_cast<const unsigned char*>(data), size);
  return static_cast<std::int32_t>(hash % static_cast<std::uint64_t>(partition_count));
}

}  // namespace millrace::core
