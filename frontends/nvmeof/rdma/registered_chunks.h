// Memory registered once with a device's protection domain and cut into fixed chunks that
// commands borrow for their data: an RDMA READ lands in chunks, an RDMA WRITE leaves from them.
// No registration per command (a registration is a system call and a page pinning). One per
// device and loop, used on that loop only; a command that finds none free waits for one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/common/result.h"

struct ibv_pd;
struct ibv_mr;

namespace portico::nvmeof {

// IBV_ACCESS_LOCAL_WRITE as an int: verbs.h's ibv_reg_mr macro combines the access flags with an
// enumerator of another enumeration, which clang warns about for an enumerator argument.
inline constexpr int kLocalWrite = 1;  // IBV_ACCESS_LOCAL_WRITE

class RegisteredChunks {
 public:
  // `pd` null: plain memory, no registration (unit tests).
  static Result<std::unique_ptr<RegisteredChunks>> create(ibv_pd* pd, uint32_t chunk_bytes, uint32_t chunk_count);
  ~RegisteredChunks();
  RegisteredChunks(const RegisteredChunks&) = delete;
  RegisteredChunks& operator=(const RegisteredChunks&) = delete;

  // Takes `count` chunks into `out` (appended), or none at all when fewer are free.
  bool take(uint32_t count, std::vector<uint32_t>& out);
  // Returns every chunk in `chunks` and clears it.
  void give_back(std::vector<uint32_t>& chunks);

  [[nodiscard]] uint8_t* address(uint32_t chunk) const { return memory_ + size_t{chunk} * chunk_bytes_; }
  [[nodiscard]] uint32_t chunk_bytes() const { return chunk_bytes_; }
  [[nodiscard]] uint32_t lkey() const;
  [[nodiscard]] size_t free_count() const { return free_.size(); }
  [[nodiscard]] uint32_t chunk_count() const { return count_; }
  // Chunks that `bytes` of data take.
  [[nodiscard]] uint32_t chunks_for(uint32_t bytes) const { return (bytes + chunk_bytes_ - 1) / chunk_bytes_; }

 private:
  RegisteredChunks(uint8_t* memory, ibv_mr* mr, uint32_t chunk_bytes, uint32_t count);

  uint8_t* memory_;
  ibv_mr* mr_;
  uint32_t chunk_bytes_;
  uint32_t count_;
  std::vector<uint32_t> free_;
};

}  // namespace portico::nvmeof
