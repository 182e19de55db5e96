// Sense data (SPC-4 4.5), built in one place. A command that fails describes the failure as a
// SenseData value; encode_sense() turns it into fixed (70h) or descriptor (72h) format depending
// on the control mode page's D_SENSE bit.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace portico::scsi {

enum class SenseKey : uint8_t {
  no_sense = 0x0,
  recovered_error = 0x1,
  not_ready = 0x2,
  medium_error = 0x3,
  hardware_error = 0x4,
  illegal_request = 0x5,
  unit_attention = 0x6,
  data_protect = 0x7,
  copy_aborted = 0xa,
  aborted_command = 0xb,
  miscompare = 0xe,
};

// Additional sense code and qualifier (SPC-4 Annex D).
struct Asc {
  uint8_t code = 0;
  uint8_t qualifier = 0;
  bool operator==(const Asc&) const = default;
};

namespace asc {
inline constexpr Asc kNoAdditionalSense{0x00, 0x00};
inline constexpr Asc kWriteError{0x0c, 0x00};
inline constexpr Asc kInvalidFieldInInformationUnit{0x0e, 0x03};
inline constexpr Asc kUnrecoveredReadError{0x11, 0x00};
inline constexpr Asc kParameterListLengthError{0x1a, 0x00};
inline constexpr Asc kMiscompareDuringVerify{0x1d, 0x00};
inline constexpr Asc kInvalidCommandOperationCode{0x20, 0x00};
inline constexpr Asc kLbaOutOfRange{0x21, 0x00};
inline constexpr Asc kInvalidFieldInCdb{0x24, 0x00};
inline constexpr Asc kLogicalUnitNotSupported{0x25, 0x00};
inline constexpr Asc kInvalidFieldInParameterList{0x26, 0x00};
inline constexpr Asc kPowerOnResetOccurred{0x29, 0x00};
inline constexpr Asc kPowerOnOccurred{0x29, 0x01};
inline constexpr Asc kBusDeviceResetOccurred{0x29, 0x03};
inline constexpr Asc kItNexusLossOccurred{0x29, 0x07};
inline constexpr Asc kModeParametersChanged{0x2a, 0x01};
inline constexpr Asc kReservationsPreempted{0x2a, 0x03};
inline constexpr Asc kReservationsReleased{0x2a, 0x04};
inline constexpr Asc kRegistrationsPreempted{0x2a, 0x05};
inline constexpr Asc kAsymmetricAccessStateChanged{0x2a, 0x06};
inline constexpr Asc kCapacityDataChanged{0x2a, 0x09};
inline constexpr Asc kCommandsClearedByAnotherInitiator{0x2f, 0x00};
inline constexpr Asc kSavingParametersNotSupported{0x39, 0x00};
inline constexpr Asc kReportedLunsDataChanged{0x3f, 0x0e};
inline constexpr Asc kInternalTargetFailure{0x44, 0x00};
inline constexpr Asc kLogicalUnitCommunicationFailure{0x08, 0x00};
inline constexpr Asc kNotAccessibleTransitioning{0x04, 0x0a};
inline constexpr Asc kNotAccessibleStandby{0x04, 0x0b};
inline constexpr Asc kNotAccessibleUnavailable{0x04, 0x0c};
inline constexpr Asc kInvalidMessageError{0x49, 0x00};
inline constexpr Asc kDataPhaseError{0x4b, 0x00};
inline constexpr Asc kProtocolServiceCrcError{0x47, 0x05};
inline constexpr Asc kWriteProtected{0x27, 0x00};
// EXTENDED COPY (SPC-4 6.4) refusals and copy failures.
inline constexpr Asc kOperationInProgress{0x00, 0x16};
inline constexpr Asc kCopyTargetDeviceNotReachable{0x0d, 0x02};
inline constexpr Asc kTooManyTargetDescriptors{0x26, 0x06};
inline constexpr Asc kUnsupportedTargetDescriptorTypeCode{0x26, 0x07};
inline constexpr Asc kTooManySegmentDescriptors{0x26, 0x08};
inline constexpr Asc kUnsupportedSegmentDescriptorTypeCode{0x26, 0x09};
inline constexpr Asc kSanitizeInProgress{0x04, 0x1b};
inline constexpr Asc kSanitizeCommandFailed{0x31, 0x03};
}  // namespace asc

// SPC-4 4.5.2.4.2: which byte (and optionally bit) of the CDB or parameter list was wrong.
struct FieldPointer {
  bool in_cdb = true;  // C/D: the CDB (true) or the parameter list (false)
  uint16_t byte = 0;
  std::optional<uint8_t> bit;  // BPV + bit pointer
};

struct SenseData {
  SenseKey key = SenseKey::no_sense;
  Asc asc;
  std::optional<FieldPointer> field;
  std::optional<uint64_t> information;  // e.g. the miscompare offset (SBC-3 5.3)
  // SPC-4 4.5.2.4.4: progress indication (numerator over 65536) of a NOT READY condition such
  // as a sanitize in progress; used instead of `field`.
  std::optional<uint16_t> progress = std::nullopt;
};

// Fixed format is 18 bytes; descriptor format has a header plus information and sense key
// specific descriptors when present.
std::vector<uint8_t> encode_sense(const SenseData& sense, bool descriptor_format);

// Convenience constructors for the common failures.
inline SenseData illegal_request(Asc a) { return {SenseKey::illegal_request, a, std::nullopt, std::nullopt}; }
inline SenseData invalid_field_in_cdb(uint16_t byte, std::optional<uint8_t> bit = std::nullopt) {
  return {SenseKey::illegal_request, asc::kInvalidFieldInCdb, FieldPointer{true, byte, bit}, std::nullopt};
}
inline SenseData invalid_field_in_parameter_list(uint16_t byte, std::optional<uint8_t> bit = std::nullopt) {
  return {SenseKey::illegal_request, asc::kInvalidFieldInParameterList, FieldPointer{false, byte, bit}, std::nullopt};
}
// The cluster's record of the unit could not be read or changed: the command did nothing.
inline SenseData cluster_state_unavailable() {
  return {SenseKey::aborted_command, asc::kLogicalUnitCommunicationFailure, std::nullopt, std::nullopt};
}
// SBC-3 4.11.2: NOT READY while a sanitize runs, with its progress indication.
inline SenseData sanitize_in_progress(uint16_t progress) {
  return {SenseKey::not_ready, asc::kSanitizeInProgress, std::nullopt, std::nullopt, progress};
}

}  // namespace portico::scsi
