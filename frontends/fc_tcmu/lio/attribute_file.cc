#include "frontends/fc_tcmu/lio/attribute_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <string>

namespace portico::tcmu {

std::string errno_text(int error) {
  std::array<char, 128> buffer{};
  // GNU strerror_r returns the message, which may or may not live in `buffer`.
  return strerror_r(error, buffer.data(), buffer.size());
}

Status write_attribute(const std::filesystem::path& path, std::string_view value) {
  std::string line(value);
  line.push_back('\n');
  // O_TRUNC matters only for the plain files that stand in for configfs in tests; configfs and
  // sysfs accept it and ignore it.
  int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) {
    int error = errno;
    return {error == ENOENT ? ErrorCode::not_found : ErrorCode::io_error,
            "open " + path.string() + " for writing: " + errno_text(error)};
  }
  ssize_t written = ::write(fd, line.data(), line.size());
  int write_error = errno;
  ::close(fd);
  if (written < 0) {
    ErrorCode code = write_error == EBUSY ? ErrorCode::busy : ErrorCode::io_error;
    return {code, "write \"" + std::string(value) + "\" to " + path.string() + ": " + errno_text(write_error)};
  }
  if (static_cast<size_t>(written) != line.size()) {
    return {ErrorCode::io_error, "write \"" + std::string(value) + "\" to " + path.string() + ": short write (" +
                                     std::to_string(written) + " of " + std::to_string(line.size()) + " bytes)"};
  }
  return {};
}

Result<std::string> read_attribute(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int error = errno;
    return Status{error == ENOENT ? ErrorCode::not_found : ErrorCode::io_error,
                  "open " + path.string() + ": " + errno_text(error)};
  }
  // sysfs and configfs show at most one page per attribute.
  std::string text;
  std::array<char, 4096> buffer{};
  for (;;) {
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0) {
      int error = errno;
      if (error == EINTR) continue;
      ::close(fd);
      return Status{ErrorCode::io_error, "read " + path.string() + ": " + errno_text(error)};
    }
    if (n == 0) break;
    text.append(buffer.data(), static_cast<size_t>(n));
  }
  ::close(fd);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\0')) text.pop_back();
  return text;
}

Result<uint64_t> parse_unsigned(std::string_view text, const std::filesystem::path& where) {
  int base = 10;
  std::string_view digits = text;
  if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
    base = 16;
    digits.remove_prefix(2);
  }
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value, base);
  if (ec != std::errc{} || end != digits.data() + digits.size() || digits.empty()) {
    return Status{ErrorCode::invalid_argument,
                  where.string() + ": expected an unsigned number, read \"" + std::string(text) + "\""};
  }
  return value;
}

}  // namespace portico::tcmu
