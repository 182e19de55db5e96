#include "frontends/common/crc32c.h"

#include <isa-l/crc.h>

#include <limits>

namespace portico::wire {
namespace {

// crc32_iscsi takes an int length and a non-const pointer (it does not write): feed it in
// chunks that fit an int.
uint32_t raw_update(uint32_t state, std::span<const uint8_t> bytes) {
  constexpr size_t kChunk = static_cast<size_t>(std::numeric_limits<int>::max() / 2);
  while (!bytes.empty()) {
    const size_t n = bytes.size() < kChunk ? bytes.size() : kChunk;
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast): ISA-L's signature lacks const.
    state = crc32_iscsi(const_cast<uint8_t*>(bytes.data()), static_cast<int>(n), state);
    bytes = bytes.subspan(n);
  }
  return state;
}

}  // namespace

uint32_t crc32c(std::span<const uint8_t> bytes) { return ~raw_update(0xffffffffu, bytes); }

void Crc32c::update(std::span<const uint8_t> bytes) { state_ = raw_update(state_, bytes); }

}  // namespace portico::wire
