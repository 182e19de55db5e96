// SCSI operation codes handled by the core (SPC-4 / SBC-3).
#pragma once

#include <cstdint>

namespace portico::scsi::op {

inline constexpr uint8_t kTestUnitReady = 0x00;
inline constexpr uint8_t kRequestSense = 0x03;
inline constexpr uint8_t kRead6 = 0x08;
inline constexpr uint8_t kWrite6 = 0x0a;
inline constexpr uint8_t kInquiry = 0x12;
inline constexpr uint8_t kModeSelect6 = 0x15;
inline constexpr uint8_t kReserve6 = 0x16;
inline constexpr uint8_t kRelease6 = 0x17;
inline constexpr uint8_t kModeSense6 = 0x1a;
inline constexpr uint8_t kStartStopUnit = 0x1b;
inline constexpr uint8_t kPreventAllowMediumRemoval = 0x1e;
inline constexpr uint8_t kReadCapacity10 = 0x25;
inline constexpr uint8_t kRead10 = 0x28;
inline constexpr uint8_t kWrite10 = 0x2a;
inline constexpr uint8_t kWriteAndVerify10 = 0x2e;
inline constexpr uint8_t kVerify10 = 0x2f;
inline constexpr uint8_t kPreFetch10 = 0x34;
inline constexpr uint8_t kSynchronizeCache10 = 0x35;
inline constexpr uint8_t kReadDefectData10 = 0x37;
inline constexpr uint8_t kWriteSame10 = 0x41;
inline constexpr uint8_t kUnmap = 0x42;
inline constexpr uint8_t kSanitize = 0x48;
inline constexpr uint8_t kModeSelect10 = 0x55;
inline constexpr uint8_t kReserve10 = 0x56;
inline constexpr uint8_t kRelease10 = 0x57;
inline constexpr uint8_t kPersistentReserveIn = 0x5e;
inline constexpr uint8_t kPersistentReserveOut = 0x5f;
inline constexpr uint8_t kModeSense10 = 0x5a;
inline constexpr uint8_t kExtendedCopy = 0x83;
inline constexpr uint8_t kReceiveCopyResults = 0x84;
inline constexpr uint8_t kCompareAndWrite = 0x89;
inline constexpr uint8_t kOrWrite16 = 0x8b;
inline constexpr uint8_t kWriteAndVerify16 = 0x8e;
inline constexpr uint8_t kVerify16 = 0x8f;
inline constexpr uint8_t kPreFetch16 = 0x90;
inline constexpr uint8_t kWriteSame16 = 0x93;
inline constexpr uint8_t kWriteAtomic16 = 0x9c;
inline constexpr uint8_t kRead16 = 0x88;
inline constexpr uint8_t kWrite16 = 0x8a;
inline constexpr uint8_t kSynchronizeCache16 = 0x91;
inline constexpr uint8_t kServiceActionIn16 = 0x9e;
inline constexpr uint8_t kReportLuns = 0xa0;
inline constexpr uint8_t kMaintenanceIn = 0xa3;
inline constexpr uint8_t kRead12 = 0xa8;
inline constexpr uint8_t kWrite12 = 0xaa;
inline constexpr uint8_t kWriteAndVerify12 = 0xae;
inline constexpr uint8_t kVerify12 = 0xaf;
inline constexpr uint8_t kReadDefectData12 = 0xb7;

// SANITIZE service actions (SBC-3 5.30).
inline constexpr uint8_t kSaSanitizeOverwrite = 0x01;
inline constexpr uint8_t kSaSanitizeBlockErase = 0x02;
inline constexpr uint8_t kSaSanitizeCryptographicErase = 0x03;
inline constexpr uint8_t kSaSanitizeExitFailureMode = 0x1f;
// SERVICE ACTION IN(16) service actions.
inline constexpr uint8_t kSaReadCapacity16 = 0x10;
inline constexpr uint8_t kSaGetLbaStatus = 0x12;
// MAINTENANCE IN service actions.
inline constexpr uint8_t kSaReportTargetPortGroups = 0x0a;
inline constexpr uint8_t kSaReportSupportedOpcodes = 0x0c;
inline constexpr uint8_t kSaReportSupportedTmfs = 0x0d;
// EXTENDED COPY (LID1) and RECEIVE COPY RESULTS service actions (SPC-4 6.4, 6.18).
inline constexpr uint8_t kSaExtendedCopyLid1 = 0x00;
inline constexpr uint8_t kSaCopyStatus = 0x00;
inline constexpr uint8_t kSaReceiveData = 0x01;
inline constexpr uint8_t kSaOperatingParameters = 0x03;
inline constexpr uint8_t kSaFailedSegmentDetails = 0x04;

}  // namespace portico::scsi::op
