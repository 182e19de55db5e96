// Fuzzes the NVMe command set's decoders (core/nvme): the first 64 bytes are an SQE, decoded as a
// command, as a Fabrics command and as a Get Log Page request; the rest is a log page that the
// request slices by its offset and length, and (from 1024 bytes) Connect data. The first 16 bytes
// also go through a CQE decode / encode round trip. Invariants: fields equal the bytes they come
// from, a slice stays inside the page and has the requested length, every refusal has DNR.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "core/nvme/cqe.h"
#include "core/nvme/fabrics.h"
#include "core/nvme/log_pages.h"

namespace {

using namespace portico::nvme;

void check(bool condition) {
  if (!condition) __builtin_trap();
}

uint32_t le32_at(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}

void check_sqe(const SubmissionEntry& sqe, const uint8_t* bytes) {
  check(sqe.opcode == bytes[0]);
  check(static_cast<uint8_t>(sqe.fuse) == (bytes[1] & 0x3));
  check(static_cast<uint8_t>(sqe.psdt) == (bytes[1] >> 6));
  check(sqe.cid == (bytes[2] | (bytes[3] << 8)));
  check(sqe.nsid == le32_at(bytes + 4));
  for (unsigned n = 10; n <= 15; ++n) check(sqe.cdw(n) == le32_at(bytes + 40 + size_t{4} * (n - 10)));
  check(std::memcmp(sqe.raw.data(), bytes, kSqeSize) == 0);
  check(sqe.sgl.identifier == bytes[39]);
  if (sqe.sgl.keyed()) check(sqe.sgl.length < (1u << 24));
}

void check_fabrics(const SubmissionEntry& sqe) {
  auto decoded = decode_fabrics_command(sqe);
  if (const auto* status = std::get_if<CompletionStatus>(&decoded)) {
    check(status->do_not_retry && !status->ok());
    return;
  }
  const auto& cmd = std::get<FabricsCommand>(decoded);
  check(static_cast<uint8_t>(cmd.type) == sqe.raw[4]);
  check(cmd.cid == sqe.cid);
  if (const auto* connect = std::get_if<ConnectCommand>(&cmd.body)) check(connect->data == sqe.sgl);
}

void check_slice(std::span<const uint8_t> page, uint64_t offset, uint64_t length) {
  auto sliced = slice_log_page(page, offset, length);
  if (const auto* status = std::get_if<CompletionStatus>(&sliced)) {
    check((offset & 3) != 0 || offset > page.size());
    check(*status == CompletionStatus(GenericStatus::invalid_field).no_retry());
    return;
  }
  check((offset & 3) == 0 && offset <= page.size());
  const auto& slice = std::get<LogPageSlice>(sliced);
  check(slice.size() == length);
  check(slice.data.size() == std::min<uint64_t>(length, page.size() - offset));
  if (!slice.data.empty()) check(slice.data.data() == page.data() + offset);
  if (slice.size() <= (1u << 16)) {
    const auto bytes = slice.bytes();
    check(bytes.size() == length);
    check(std::all_of(bytes.begin() + static_cast<std::ptrdiff_t>(slice.data.size()), bytes.end(),
                      [](uint8_t b) { return b == 0; }));
  }
}

void check_connect_data(std::span<const uint8_t> data) {
  auto decoded = decode_connect_data(data);
  if (const auto* rejection = std::get_if<ConnectRejection>(&decoded)) {
    check(rejection->status.do_not_retry);
    check(rejection->dw0 == 0 || rejection->dw0 == ((1u << 16) | 256) || rejection->dw0 == ((1u << 16) | 512));
    return;
  }
  check(data.size() >= kConnectDataSize);
  const auto& connect = std::get<ConnectData>(decoded);
  for (const auto* nqn : {&connect.subsystem_nqn, &connect.host_nqn}) {
    check(!nqn->empty() && nqn->size() <= kNqnMaxLength);
    check(nqn->find('\0') == std::string::npos);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < kSqeSize) {
    check(!decode_sqe(std::span<const uint8_t>(data, size)).has_value());
    return 0;
  }
  auto sqe = decode_sqe(std::span<const uint8_t>(data, kSqeSize));
  check(sqe.has_value());
  check_sqe(*sqe, data);
  if (sqe->is_fabrics()) check_fabrics(*sqe);

  const std::span<const uint8_t> rest(data + kSqeSize, size - kSqeSize);
  const LogPageRequest request = decode_log_page_request(*sqe);
  check(request.length >= 4 && request.length % 4 == 0 && request.length <= (uint64_t{1} << 34));
  check_slice(rest, request.offset, request.length);
  check_slice(rest, request.offset & 0xffc, request.length & 0xffff);  // offsets inside small pages
  if (rest.size() >= kConnectDataSize) check_connect_data(rest);

  const auto cqe = decode_cqe(std::span<const uint8_t, kCqeSize>(data, kCqeSize));
  const auto encoded = encode_cqe(cqe);
  check(std::memcmp(encoded.data(), data, kCqeSize) == 0);
  return 0;
}
