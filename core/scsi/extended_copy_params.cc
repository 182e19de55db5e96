#include "core/scsi/extended_copy_params.h"

#include "core/common/big_endian.h"
#include "core/scsi/copy_manager.h"

namespace portico::scsi {
namespace {

constexpr size_t kHeaderBytes = 16;
constexpr uint8_t kIdentificationDescriptor = 0xe4;
constexpr uint8_t kBlockToBlockSegment = 0x02;
// SPC-4 7.8.6.1: logical unit association, NAA designator type, binary code set.
constexpr uint8_t kCodeSetBinary = 0x1;
constexpr uint8_t kDesignatorTypeNaa = 0x3;

SenseData parameter_list_length_error() { return illegal_request(asc::kParameterListLengthError); }

SenseData refused(Asc a, size_t byte) {
  return {SenseKey::illegal_request, a, FieldPointer{false, static_cast<uint16_t>(byte), std::nullopt}, std::nullopt};
}

SenseData invalid_field(size_t byte, std::optional<uint8_t> bit = std::nullopt) {
  return invalid_field_in_parameter_list(static_cast<uint16_t>(byte), bit);
}

// SPC-4 6.4.5.6 identification descriptor: LU ID TYPE / NUL / peripheral device type, the
// designator (SPC-4 7.8.6) and, for a block device, its disk block length (SPC-4 6.4.5.2.2).
std::variant<CopyTargetDescriptor, SenseData> parse_target(std::span<const uint8_t> list, size_t at) {
  const uint8_t* d = list.data() + at;
  CopyTargetDescriptor target;
  target.offset = static_cast<uint16_t>(at);
  // The LU ID TYPE bits (7-6) of byte 1 are ignored: SPC-4 made them obsolete, the designator
  // alone names the logical unit. NUL is obsolete too, but a copy manager that honoured it did
  // no I/O to such a copy target, so neither does this one.
  target.null_device = (d[1] & 0x20) != 0;
  if ((d[1] & 0x1f) != 0) return invalid_field(at + 1, 4);  // only block devices are copy targets
  const uint8_t code_set = d[4] & 0x0f;
  const uint8_t association = (d[5] >> 4) & 0x03;
  const uint8_t designator_type = d[5] & 0x0f;
  const uint8_t designator_length = d[7];
  if (designator_length > 20) return invalid_field(at + 7);
  if (code_set == kCodeSetBinary && association == 0 && designator_type == kDesignatorTypeNaa &&
      designator_length == 8) {
    target.naa = load_be64(d + 8);
  }
  target.disk_block_length = load_be24(d + 29);
  return target;
}

// SPC-4 6.4.6.5 block device to block device segment descriptor.
std::variant<BlockCopySegment, SenseData> parse_segment(std::span<const uint8_t> list, size_t at) {
  const uint8_t* d = list.data() + at;
  if (d[0] != kBlockToBlockSegment) return refused(asc::kUnsupportedSegmentDescriptorTypeCode, at);
  if (load_be16(d + 2) != copy_limits::kBlockToBlockSegmentBytes - 4) return invalid_field(at + 2);
  BlockCopySegment segment;
  segment.offset = static_cast<uint16_t>(at);
  segment.destination_count = (d[1] & 0x02) != 0;
  segment.source = load_be16(d + 4);
  segment.destination = load_be16(d + 6);
  segment.blocks = load_be16(d + 10);
  segment.source_lba = load_be64(d + 12);
  segment.destination_lba = load_be64(d + 20);
  return segment;
}

}  // namespace

std::variant<CopyParameters, SenseData> parse_extended_copy_parameters(std::span<const uint8_t> list) {
  using namespace copy_limits;
  if (list.size() < kHeaderBytes) return parameter_list_length_error();
  CopyParameters params;
  params.list_id = list[0];
  const uint8_t list_id_usage = (list[1] >> 3) & 0x03;
  // SPC-4 6.4.3.2: LIST ID USAGE 01b is reserved; with 11b the list identifier must be zero.
  if (list_id_usage == 0x01) return invalid_field(1, 4);
  if (list_id_usage == 0x03 && params.list_id != 0) return invalid_field(0);
  params.keep_status = list_id_usage != 0x03;
  const uint64_t target_list_length = load_be16(list.data() + 2);
  const uint64_t segment_list_length = load_be32(list.data() + 8);
  const uint64_t inline_data_length = load_be32(list.data() + 12);
  // SPC-4 6.4.3.2: descriptor lists that the parameter list length truncates, or that are
  // longer than the MAXIMUM DESCRIPTOR LIST LENGTH advertised, are a parameter list length error.
  if (kHeaderBytes + target_list_length + segment_list_length + inline_data_length > list.size()) {
    return parameter_list_length_error();
  }
  if (target_list_length + segment_list_length > kMaxDescriptorListLength) return parameter_list_length_error();
  if (inline_data_length > kMaxInlineDataLength) return invalid_field(12);

  // Target descriptors: all supported ones are 32 bytes long (SPC-4 6.4.5.1).
  const size_t targets_end = kHeaderBytes + target_list_length;
  if (target_list_length / kTargetDescriptorBytes > kMaxTargetDescriptors) {
    return refused(asc::kTooManyTargetDescriptors, 2);
  }
  for (size_t at = kHeaderBytes; at < targets_end; at += kTargetDescriptorBytes) {
    if (list[at] != kIdentificationDescriptor) return refused(asc::kUnsupportedTargetDescriptorTypeCode, at);
    if (at + kTargetDescriptorBytes > targets_end) return invalid_field(2);
    auto target = parse_target(list, at);
    if (auto* sense = std::get_if<SenseData>(&target)) return *sense;
    params.targets.push_back(std::get<CopyTargetDescriptor>(target));
  }

  // Segment descriptors carry their own length (SPC-4 6.4.6.1): count them before judging them.
  const size_t segments_end = targets_end + segment_list_length;
  size_t count = 0;
  for (size_t at = targets_end; at < segments_end; at += 4u + load_be16(list.data() + at + 2)) {
    if (at + 4 > segments_end) return invalid_field(8);
    if (at + 4u + load_be16(list.data() + at + 2) > segments_end) return invalid_field(at + 2);
    ++count;
  }
  if (count > kMaxSegmentDescriptors) return refused(asc::kTooManySegmentDescriptors, 8);
  for (size_t at = targets_end; at < segments_end; at += 4u + load_be16(list.data() + at + 2)) {
    auto segment = parse_segment(list, at);
    if (auto* sense = std::get_if<SenseData>(&segment)) return *sense;
    params.segments.push_back(std::get<BlockCopySegment>(segment));
  }
  return params;
}

}  // namespace portico::scsi
