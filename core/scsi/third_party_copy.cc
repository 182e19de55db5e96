// How the copy manager advertises itself: the Third-party Copy VPD page (SPC-4 7.8.17) and the
// CDB usage data of EXTENDED COPY and RECEIVE COPY RESULTS (SPC-4 6.35.3).
#include <vector>

#include "core/common/big_endian.h"
#include "core/scsi/commands.h"
#include "core/scsi/copy_manager.h"
#include "core/scsi/opcodes.h"

namespace portico::scsi {
namespace {

// SPC-4 7.8.17.1: each third-party copy descriptor is a type, a length and a body padded to a
// multiple of four bytes.
void add_descriptor(std::vector<uint8_t>& page, uint16_t type, std::vector<uint8_t> body) {
  while (body.size() % 4 != 0) body.push_back(0);
  const size_t at = page.size();
  page.resize(at + 4);
  store_be16(page.data() + at, type);
  store_be16(page.data() + at + 2, static_cast<uint16_t>(body.size()));
  page.insert(page.end(), body.begin(), body.end());
}

// SPC-4 7.8.17.3 Supported Commands: each command with the service actions it offers.
std::vector<uint8_t> supported_commands() {
  const std::vector<uint8_t> extended_copy{op::kExtendedCopy, 1, op::kSaExtendedCopyLid1};
  const std::vector<uint8_t> receive_copy_results{op::kReceiveCopyResults, 4, op::kSaCopyStatus,
                                                  op::kSaReceiveData, op::kSaOperatingParameters,
                                                  op::kSaFailedSegmentDetails};
  std::vector<uint8_t> body{0};
  body.insert(body.end(), extended_copy.begin(), extended_copy.end());
  body.insert(body.end(), receive_copy_results.begin(), receive_copy_results.end());
  body[0] = static_cast<uint8_t>(body.size() - 1);  // COMMANDS SUPPORTED LIST LENGTH
  return body;
}

// SPC-4 7.8.17.4 Parameter Data.
std::vector<uint8_t> parameter_data() {
  using namespace copy_limits;
  std::vector<uint8_t> body(28, 0);
  store_be16(body.data() + 4, kMaxTargetDescriptors);
  store_be16(body.data() + 6, kMaxSegmentDescriptors);
  store_be32(body.data() + 8, kMaxDescriptorListLength);
  store_be32(body.data() + 12, kMaxInlineDataLength);
  return body;
}

// SPC-4 7.8.17.5 Supported Descriptors: block -> block segments, identification targets.
std::vector<uint8_t> supported_descriptors() { return {2, 0x02, 0xe4}; }

// SPC-4 7.8.17.6 Supported CSCD Descriptor IDs: none (no extension descriptors).
std::vector<uint8_t> supported_cscd_ids() { return {0, 0}; }

// SPC-4 7.8.17.12 General Copy Operations.
std::vector<uint8_t> general_copy_operations() {
  using namespace copy_limits;
  std::vector<uint8_t> body(32, 0);
  store_be32(body.data(), kMaxConcurrentCopies);      // TOTAL CONCURRENT COPIES
  store_be32(body.data() + 4, kMaxConcurrentCopies);  // MAXIMUM IDENTIFIED CONCURRENT COPIES
  store_be32(body.data() + 8, kMaxSegmentBytes);
  body[12] = 9;  // DATA SEGMENT GRANULARITY (log2): the smallest logical block
  body[13] = 0;  // INLINE DATA GRANULARITY: no inline data
  return body;
}

}  // namespace

std::vector<uint8_t> third_party_copy_vpd_page() {
  std::vector<uint8_t> page(4, 0);
  page[1] = 0x8f;
  add_descriptor(page, 0x0001, supported_commands());
  add_descriptor(page, 0x0004, parameter_data());
  add_descriptor(page, 0x0008, supported_descriptors());
  add_descriptor(page, 0x000c, supported_cscd_ids());
  add_descriptor(page, 0x8001, general_copy_operations());
  store_be16(page.data() + 2, static_cast<uint16_t>(page.size() - 4));
  return page;
}

std::optional<std::vector<uint8_t>> third_party_copy_cdb_usage(uint8_t opcode, std::optional<uint8_t> service_action) {
  if (!service_action || (opcode != op::kExtendedCopy && opcode != op::kReceiveCopyResults)) return std::nullopt;
  // SPC-4 6.35.3: the operation code, the service action where the CDB has it, then a map of the
  // bits the command uses: PARAMETER LIST / ALLOCATION LENGTH (bytes 10-13) and, for the
  // RECEIVE COPY RESULTS actions about one copy, the LIST IDENTIFIER (byte 2). NACA is not
  // supported, so no bit of the CONTROL byte is used.
  std::vector<uint8_t> usage(16, 0);
  usage[0] = opcode;
  usage[1] = *service_action;
  if (opcode == op::kReceiveCopyResults && *service_action != op::kSaOperatingParameters) usage[2] = 0xff;
  for (size_t i = 10; i < 14; ++i) usage[i] = 0xff;
  return usage;
}

}  // namespace portico::scsi
