#include "core/io_buffer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <thread>

namespace portico {
namespace {

bool aligned(const void* p) { return reinterpret_cast<uintptr_t>(p) % IoBuffer::kAlignment == 0; }

TEST(IoBuffer, IsAlignedAndUsableAtEverySize) {
  for (std::size_t size : {std::size_t{1}, std::size_t{512}, std::size_t{4097}, std::size_t{128} << 10,
                           (std::size_t{16} << 20) + 1}) {
    IoBuffer buffer(size);
    ASSERT_NE(buffer.data(), nullptr);
    EXPECT_TRUE(aligned(buffer.data())) << size;
    EXPECT_EQ(buffer.size(), size);
    std::memset(buffer.data(), 0xa5, size);  // ASan catches a short allocation
  }
  IoBuffer empty(0);
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.data(), nullptr);
}

TEST(IoBuffer, AFreedBufferIsReusedForTheSameSizeClass) {
  uint8_t* first = nullptr;
  {
    IoBuffer buffer(100 << 10);
    first = buffer.data();
  }
  IoBuffer again(128 << 10);  // same 128 KiB class
  EXPECT_EQ(again.data(), first);
}

TEST(IoBuffer, MoveTransfersOwnershipOnce) {
  IoBuffer a(4096);
  uint8_t* p = a.data();
  IoBuffer b(std::move(a));
  EXPECT_EQ(b.data(), p);
  EXPECT_EQ(a.data(), nullptr);  // NOLINT: testing the moved-from state
  IoBuffer c(8192);
  c = std::move(b);
  EXPECT_EQ(c.data(), p);
  EXPECT_EQ(c.size(), 4096u);
}

TEST(IoBuffer, BuffersFreedOnAnotherThreadOrAfterItExitsAreSafe) {
  IoBuffer outlives;
  std::thread worker([&] {
    IoBuffer local(64 << 10);
    std::memset(local.data(), 1, local.size());
    outlives = IoBuffer(32 << 10);  // allocated here, freed on the main thread
  });
  worker.join();
  EXPECT_NE(outlives.data(), nullptr);
}

}  // namespace
}  // namespace portico
