#include "backends/memory/memory_block_device.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <new>

namespace portico::backends {
namespace {

bool all_zero(std::span<const uint8_t> bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
}

}  // namespace

// The stripes covering a run of chunks, locked in ascending stripe order (deduplicated), shared
// or exclusive, released on destruction.
class MemoryBlockDevice::StripeLocks {
 public:
  StripeLocks(const MemoryBlockDevice& device, uint64_t first_chunk, uint64_t last_chunk, bool exclusive)
      : exclusive_(exclusive) {
    for (uint64_t chunk = first_chunk; chunk <= last_chunk && count_ < held_.size(); ++chunk) {
      held_[count_++] = &device.stripe_of(chunk);
    }
    std::sort(held_.begin(), held_.begin() + static_cast<long>(count_));
    count_ = static_cast<size_t>(std::unique(held_.begin(), held_.begin() + static_cast<long>(count_)) -
                                 held_.begin());
    for (size_t i = 0; i < count_; ++i) {
      if (exclusive_) {
        held_[i]->mutex.lock();
      } else {
        held_[i]->mutex.lock_shared();
      }
    }
  }
  ~StripeLocks() {
    for (size_t i = count_; i-- > 0;) {
      if (exclusive_) {
        held_[i]->mutex.unlock();
      } else {
        held_[i]->mutex.unlock_shared();
      }
    }
  }
  StripeLocks(const StripeLocks&) = delete;
  StripeLocks& operator=(const StripeLocks&) = delete;

 private:
  std::array<Stripe*, kChunksPerPiece + 1> held_{};
  size_t count_ = 0;
  bool exclusive_;
};

Result<std::unique_ptr<MemoryBlockDevice>> MemoryBlockDevice::create(uint64_t size_bytes, uint32_t block_size,
                                                                      std::string identity_seed) {
  if (block_size < 512 || block_size > 4096 || (block_size & (block_size - 1)) != 0) {
    return error(ErrorCode::invalid_argument,
                 "memory backend: block size " + std::to_string(block_size) + " is not 512, 1024, 2048 or 4096");
  }
  if (size_bytes == 0 || size_bytes % block_size != 0) {
    return error(ErrorCode::invalid_argument, "memory backend: size " + std::to_string(size_bytes) +
                                                  " is not a positive multiple of the block size");
  }
  if (size_bytes > kMaxSize) {
    return error(ErrorCode::invalid_argument, "memory backend: size " + std::to_string(size_bytes) +
                                                  " exceeds the 16 TiB limit");
  }
  return std::unique_ptr<MemoryBlockDevice>(new MemoryBlockDevice(size_bytes, block_size, std::move(identity_seed)));
}

MemoryBlockDevice::MemoryBlockDevice(uint64_t size, uint32_t block_size, std::string identity_seed)
    : size_(size),
      chunk_count_((size + kChunkSize - 1) / kChunkSize),
      chunks_(new std::atomic<uint8_t*>[chunk_count_]),
      stripes_(new Stripe[kStripes]) {
  for (uint64_t i = 0; i < chunk_count_; ++i) chunks_[i].store(nullptr, std::memory_order_relaxed);
  info_.block_size = block_size;
  // 4 KiB physical blocks: the page is the unit the host's buffers and the thin-provisioning
  // chunks are aligned to, so initiators that align I/O to it do the cheapest thing.
  info_.physical_block_exponent = block_size >= 4096 ? 0 : static_cast<uint32_t>(__builtin_ctz(4096 / block_size));
  info_.thin_provisioned = true;
  info_.discard_zeroes = true;
  info_.unmap_granularity_bytes = static_cast<uint32_t>(kChunkSize);
  info_.volatile_cache = false;
  // Any range of up to kChunksPerPiece chunks is covered by one lock set, so a compare-and-write
  // of a whole transfer is atomic (ORWRITE then never needs to split).
  info_.max_compare_and_write_bytes =
      static_cast<uint32_t>(std::min<uint64_t>(info_.max_transfer_bytes, kChunksPerPiece * kChunkSize));
  // The same bound makes a WRITE ATOMIC of a whole transfer one lock set.
  info_.max_atomic_write_bytes = info_.max_compare_and_write_bytes;
  info_.kind = "memory";
  info_.identity_seed = std::move(identity_seed);
}

MemoryBlockDevice::~MemoryBlockDevice() {
  for (uint64_t i = 0; i < chunk_count_; ++i) delete[] chunks_[i].load(std::memory_order_relaxed);
}

int MemoryBlockDevice::check_range(uint64_t offset, uint64_t length) const {
  if (offset > size_ || length > size_ - offset) return EINVAL;
  if (offset % info_.block_size != 0 || length % info_.block_size != 0) return EINVAL;
  return 0;
}

uint64_t MemoryBlockDevice::chunk_bytes(uint64_t chunk) const {
  return std::min(kChunkSize, size_ - chunk * kChunkSize);
}

uint8_t* MemoryBlockDevice::allocate_chunk(uint64_t chunk) {
  uint8_t* data = chunks_[chunk].load(std::memory_order_acquire);
  if (data != nullptr) return data;
  // Writers of one chunk share its stripe lock; the first to publish wins.
  auto* fresh = new (std::nothrow) uint8_t[kChunkSize]();
  if (fresh == nullptr) return nullptr;
  if (chunks_[chunk].compare_exchange_strong(data, fresh, std::memory_order_acq_rel)) {
    allocated_chunks_.fetch_add(1, std::memory_order_relaxed);
    return fresh;
  }
  delete[] fresh;
  return data;
}

void MemoryBlockDevice::copy_out(uint64_t offset, std::span<uint8_t> dst) const {
  size_t done = 0;
  while (done < dst.size()) {
    const uint64_t position = offset + done;
    const uint64_t chunk = position / kChunkSize;
    const uint64_t within = position % kChunkSize;
    const size_t piece = static_cast<size_t>(std::min<uint64_t>(kChunkSize - within, dst.size() - done));
    const uint8_t* data = chunks_[chunk].load(std::memory_order_acquire);
    if (data == nullptr) {
      std::memset(dst.data() + done, 0, piece);
    } else {
      std::memcpy(dst.data() + done, data + within, piece);
    }
    done += piece;
  }
}

int MemoryBlockDevice::copy_in(uint64_t offset, std::span<const uint8_t> src) {
  size_t done = 0;
  while (done < src.size()) {
    const uint64_t position = offset + done;
    const uint64_t chunk = position / kChunkSize;
    const uint64_t within = position % kChunkSize;
    const size_t piece = static_cast<size_t>(std::min<uint64_t>(kChunkSize - within, src.size() - done));
    const auto part = src.subspan(done, piece);
    uint8_t* data = chunks_[chunk].load(std::memory_order_acquire);
    // Zeroes written to an unallocated chunk stay thin.
    if (data == nullptr && !all_zero(part)) {
      data = allocate_chunk(chunk);
      if (data == nullptr) return ENOSPC;
    }
    if (data != nullptr) std::memcpy(data + within, part.data(), piece);
    done += piece;
  }
  return 0;
}

void MemoryBlockDevice::zero_range(uint64_t offset, uint64_t length) {
  uint64_t done = 0;
  while (done < length) {
    const uint64_t position = offset + done;
    const uint64_t chunk = position / kChunkSize;
    const uint64_t within = position % kChunkSize;
    const uint64_t piece = std::min(kChunkSize - within, length - done);
    uint8_t* data = chunks_[chunk].load(std::memory_order_acquire);
    if (data != nullptr) {
      if (within == 0 && piece == chunk_bytes(chunk)) {
        // The whole chunk: give the memory back (thin provisioning).
        chunks_[chunk].store(nullptr, std::memory_order_release);
        allocated_chunks_.fetch_sub(1, std::memory_order_relaxed);
        delete[] data;
      } else {
        std::memset(data + within, 0, piece);
      }
    }
    done += piece;
  }
}

uint64_t MemoryBlockDevice::first_difference(uint64_t offset, std::span<const uint8_t> expected) const {
  std::array<uint8_t, 4096> current{};
  uint64_t done = 0;
  while (done < expected.size()) {
    const size_t piece = static_cast<size_t>(std::min<uint64_t>(current.size(), expected.size() - done));
    copy_out(offset + done, std::span<uint8_t>(current.data(), piece));
    for (size_t i = 0; i < piece; ++i) {
      if (current[i] != expected[done + i]) return done + i;
    }
    done += piece;
  }
  return expected.size();
}

void MemoryBlockDevice::read_range(uint64_t offset, std::span<uint8_t> dst) const {
  size_t copied = 0;
  while (copied < dst.size()) {
    const uint64_t position = offset + copied;
    const uint64_t piece_end =
        std::min<uint64_t>(offset + dst.size(), (position / kChunkSize + kChunksPerPiece) * kChunkSize);
    const StripeLocks locks(*this, position / kChunkSize, (piece_end - 1) / kChunkSize, false);
    copy_out(position, dst.subspan(copied, static_cast<size_t>(piece_end - position)));
    copied = static_cast<size_t>(piece_end - offset);
  }
}

int MemoryBlockDevice::write_range(uint64_t offset, std::span<const uint8_t> src) {
  size_t copied = 0;
  while (copied < src.size()) {
    const uint64_t position = offset + copied;
    const uint64_t piece_end =
        std::min<uint64_t>(offset + src.size(), (position / kChunkSize + kChunksPerPiece) * kChunkSize);
    const StripeLocks locks(*this, position / kChunkSize, (piece_end - 1) / kChunkSize, false);
    if (const int e = copy_in(position, src.subspan(copied, static_cast<size_t>(piece_end - position))); e != 0) {
      return e;
    }
    copied = static_cast<size_t>(piece_end - offset);
  }
  return 0;
}

void MemoryBlockDevice::read(Executor& /*executor*/, uint64_t offset, std::span<uint8_t> dst, IoCallback done) {
  if (const int e = check_range(offset, dst.size()); e != 0) return done(IoStatus{e});
  read_range(offset, dst);
  done(IoStatus{});
}

void MemoryBlockDevice::write(Executor& /*executor*/, uint64_t offset, std::span<const uint8_t> src, bool /*fua*/,
                              IoCallback done) {
  if (const int e = check_range(offset, src.size()); e != 0) return done(IoStatus{e});
  done(IoStatus{write_range(offset, src)});
}

void MemoryBlockDevice::readv(Executor& /*executor*/, uint64_t offset, ReadSegments dst, IoCallback done) {
  if (const int e = check_range(offset, segments_bytes(dst)); e != 0) return done(IoStatus{e});
  for (const auto& s : dst) {
    read_range(offset, s);
    offset += s.size();
  }
  done(IoStatus{});
}

void MemoryBlockDevice::writev(Executor& /*executor*/, uint64_t offset, WriteSegments src, bool /*fua*/,
                               IoCallback done) {
  if (const int e = check_range(offset, segments_bytes(src)); e != 0) return done(IoStatus{e});
  for (const auto& s : src) {
    if (const int e = write_range(offset, s); e != 0) return done(IoStatus{e});
    offset += s.size();
  }
  done(IoStatus{});
}

void MemoryBlockDevice::flush(Executor& /*executor*/, IoCallback done) { done(IoStatus{}); }

void MemoryBlockDevice::discard(Executor& executor, uint64_t offset, uint64_t length, IoCallback done) {
  // Deallocated blocks read as zeroes (LBPRZ=1), so discard and write_zeroes are the same here.
  write_zeroes(executor, offset, length, std::move(done));
}

void MemoryBlockDevice::write_zeroes(Executor& /*executor*/, uint64_t offset, uint64_t length, IoCallback done) {
  if (const int e = check_range(offset, length); e != 0) return done(IoStatus{e});
  uint64_t zeroed = 0;
  while (zeroed < length) {
    const uint64_t position = offset + zeroed;
    const uint64_t piece_end = std::min(offset + length, (position / kChunkSize + kChunksPerPiece) * kChunkSize);
    const StripeLocks locks(*this, position / kChunkSize, (piece_end - 1) / kChunkSize, true);
    zero_range(position, piece_end - position);
    zeroed = piece_end - offset;
  }
  done(IoStatus{});
}

void MemoryBlockDevice::compare_and_write(Executor& /*executor*/, uint64_t offset, std::span<const uint8_t> expected,
                                          std::span<const uint8_t> replacement, IoCallback done) {
  if (expected.size() != replacement.size()) return done(IoStatus{EINVAL});
  if (const int e = check_range(offset, expected.size()); e != 0) return done(IoStatus{e});
  if (expected.size() > info_.max_compare_and_write_bytes) return done(IoStatus{EINVAL});
  if (expected.empty()) return done(IoStatus{});
  // At most kChunksPerPiece chunks long, so it spans at most kChunksPerPiece + 1 chunks: one lock
  // set (StripeLocks holds that many) makes compare + write atomic.
  const StripeLocks locks(*this, offset / kChunkSize, (offset + expected.size() - 1) / kChunkSize, true);
  const uint64_t difference = first_difference(offset, expected);
  if (difference != expected.size()) {
    IoStatus status;
    status.miscompare = true;
    status.miscompare_offset = difference;
    return done(status);
  }
  done(IoStatus{copy_in(offset, replacement)});
}

void MemoryBlockDevice::write_atomic(Executor& /*executor*/, uint64_t offset, std::span<const uint8_t> src,
                                     bool /*fua*/, IoCallback done) {
  if (const int e = check_range(offset, src.size()); e != 0) return done(IoStatus{e});
  if (src.size() > info_.max_atomic_write_bytes) return done(IoStatus{EINVAL});
  if (src.empty()) return done(IoStatus{});
  int result = 0;
  {
    // At most kChunksPerPiece chunks, so one lock set covers it (as for compare_and_write);
    // exclusive, because readers and ordinary writers hold their stripes shared.
    const StripeLocks locks(*this, offset / kChunkSize, (offset + src.size() - 1) / kChunkSize, true);
    // Allocate first: running out of memory half way would leave a torn write.
    for (uint64_t at = 0; at < src.size() && result == 0;) {
      const uint64_t chunk = (offset + at) / kChunkSize;
      const uint64_t piece = std::min<uint64_t>(kChunkSize - (offset + at) % kChunkSize, src.size() - at);
      const bool needs_storage = !all_zero(src.subspan(static_cast<size_t>(at), static_cast<size_t>(piece)));
      if (needs_storage && allocate_chunk(chunk) == nullptr) result = ENOSPC;
      at += piece;
    }
    if (result == 0) result = copy_in(offset, src);
  }
  done(IoStatus{result});
}

bool MemoryBlockDevice::is_allocated(uint64_t offset, uint64_t length, uint64_t& run_length) const {
  if (offset >= size_ || length == 0) {
    run_length = info_.block_size;
    return false;
  }
  const uint64_t end = std::min(size_, offset + length);
  const bool allocated = chunks_[offset / kChunkSize].load(std::memory_order_acquire) != nullptr;
  uint64_t position = (offset / kChunkSize + 1) * kChunkSize;
  while (position < end && (chunks_[position / kChunkSize].load(std::memory_order_acquire) != nullptr) == allocated) {
    position += kChunkSize;
  }
  run_length = std::min(position, end) - offset;
  return allocated;
}

}  // namespace portico::backends
