#include "frontends/nvmeof/rdma/registered_chunks.h"

#include <infiniband/verbs.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

namespace portico::nvmeof {

static_assert(kLocalWrite == IBV_ACCESS_LOCAL_WRITE);

Result<std::unique_ptr<RegisteredChunks>> RegisteredChunks::create(ibv_pd* pd, uint32_t chunk_bytes,
                                                                   uint32_t chunk_count) {
  if (chunk_bytes == 0 || chunk_bytes % 4096 != 0 || chunk_count == 0) {
    return error(ErrorCode::invalid_argument, "RDMA buffer chunks must be whole pages, at least one");
  }
  const size_t bytes = size_t{chunk_bytes} * chunk_count;
  auto* memory = static_cast<uint8_t*>(std::aligned_alloc(4096, bytes));
  if (memory == nullptr) return error(ErrorCode::io_error, "cannot allocate " + std::to_string(bytes) + " bytes for RDMA buffers");
  std::memset(memory, 0, bytes);
  ibv_mr* mr = nullptr;
  if (pd != nullptr) {
    // The host writes into these (RDMA READ responses land locally: local write access).
    mr = ibv_reg_mr(pd, memory, bytes, kLocalWrite);
    if (mr == nullptr) {
      const int e = errno;
      std::free(memory);
      return error(ErrorCode::io_error, "ibv_reg_mr of " + std::to_string(bytes >> 20) +
                                            " MiB of RDMA buffers failed: " + std::strerror(e) +
                                            " (RLIMIT_MEMLOCK? see README, NVMe/RDMA)");
    }
  }
  return std::unique_ptr<RegisteredChunks>(new RegisteredChunks(memory, mr, chunk_bytes, chunk_count));
}

RegisteredChunks::RegisteredChunks(uint8_t* memory, ibv_mr* mr, uint32_t chunk_bytes, uint32_t count)
    : memory_(memory), mr_(mr), chunk_bytes_(chunk_bytes), count_(count) {
  free_.reserve(count);
  for (uint32_t i = count; i > 0; --i) free_.push_back(i - 1);  // chunk 0 first: warm pages first
}

RegisteredChunks::~RegisteredChunks() {
  if (mr_ != nullptr) ibv_dereg_mr(mr_);
  std::free(memory_);
}

uint32_t RegisteredChunks::lkey() const { return mr_ != nullptr ? mr_->lkey : 0; }

bool RegisteredChunks::take(uint32_t count, std::vector<uint32_t>& out) {
  if (count > free_.size()) return false;
  for (uint32_t i = 0; i < count; ++i) {
    out.push_back(free_.back());
    free_.pop_back();
  }
  return true;
}

void RegisteredChunks::give_back(std::vector<uint32_t>& chunks) {
  for (uint32_t chunk : chunks) free_.push_back(chunk);
  chunks.clear();
}

}  // namespace portico::nvmeof
