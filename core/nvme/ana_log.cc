#include "core/nvme/ana_log.h"

#include <algorithm>

#include "core/common/little_endian.h"

namespace portico::nvme {

AnaState ana_state_from(AluaState state) {
  switch (state) {
    case AluaState::active_optimized: return AnaState::optimized;
    case AluaState::active_non_optimized: return AnaState::non_optimized;
    case AluaState::standby:
    case AluaState::unavailable: return AnaState::inaccessible;
    case AluaState::transitioning: return AnaState::change;
  }
  return AnaState::inaccessible;
}

std::vector<uint8_t> ana_log(uint64_t change_count, std::span<const AnaGroup> groups, bool groups_only) {
  std::vector<uint8_t> out(kAnaHeaderSize, 0);
  store_le64(out.data(), change_count);
  store_le16(out.data() + 8, static_cast<uint16_t>(std::min<size_t>(groups.size(), 0xffff)));
  size_t written = 0;
  for (const auto& group : groups) {
    if (written == 0xffff) break;
    std::vector<uint32_t> nsids;
    if (!groups_only) {
      nsids = group.nsids;
      std::sort(nsids.begin(), nsids.end());
    }
    const size_t at = out.size();
    out.resize(at + kAnaGroupDescriptorSize + 4 * nsids.size(), 0);
    uint8_t* d = out.data() + at;
    store_le32(d, group.id);
    store_le32(d + 4, static_cast<uint32_t>(nsids.size()));
    store_le64(d + 8, group.change_count);
    d[16] = static_cast<uint8_t>(group.state);
    for (size_t i = 0; i < nsids.size(); ++i) store_le32(d + kAnaGroupDescriptorSize + 4 * i, nsids[i]);
    ++written;
  }
  return out;
}

}  // namespace portico::nvme
