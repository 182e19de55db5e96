// Reading and writing one configfs or sysfs attribute. Every value LIO is given goes through
// write_attribute, so that each error names the file and the errno text the kernel answered.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/common/result.h"

namespace portico::tcmu {

// Writes `value` plus a trailing newline in a single write(2). configfs hands each write call to
// the attribute's store function as one value (fs/configfs/file.c, configfs_write_iter), so a
// value split over two writes would be parsed as two values: a short write is an error.
Status write_attribute(const std::filesystem::path& path, std::string_view value);

// The attribute's text without trailing newlines or spaces (the kernel's show functions end with "\n").
Result<std::string> read_attribute(const std::filesystem::path& path);

// Parses a decimal or 0x-prefixed hexadecimal unsigned value as sysfs prints it.
Result<uint64_t> parse_unsigned(std::string_view text, const std::filesystem::path& where);

// Text of an errno value ("Device or resource busy").
std::string errno_text(int error);

}  // namespace portico::tcmu
