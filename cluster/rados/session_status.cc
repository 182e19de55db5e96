#include "cluster/rados/session_status.h"

#include <sstream>

namespace portico::cluster::rados {
namespace {

// Names never hold tabs or newlines; a detail might, from a future writer: spaces then.
std::string field(std::string text) {
  for (char& c : text) {
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

}  // namespace

std::string encode_session_lines(const std::vector<SessionLine>& lines) {
  std::string out;
  for (const auto& line : lines) {
    out += field(line.protocol) + '\t' + field(line.target) + '\t' + field(line.initiator) + '\t' + field(line.detail) +
           '\n';
  }
  return out;
}

std::vector<SessionLine> decode_session_lines(const std::string& text) {
  std::vector<SessionLine> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> fields;
    size_t start = 0;
    for (size_t tab; (tab = line.find('\t', start)) != std::string::npos; start = tab + 1) {
      fields.push_back(line.substr(start, tab - start));
    }
    fields.push_back(line.substr(start));
    if (fields.size() != 4 || fields[0].empty()) continue;
    // As the encoder writes them: a carriage return (a line ending from elsewhere) is a space.
    for (auto& f : fields) f = field(std::move(f));
    out.push_back({fields[0], fields[1], fields[2], fields[3]});
  }
  return out;
}

}  // namespace portico::cluster::rados
