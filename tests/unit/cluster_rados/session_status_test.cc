#include "cluster/rados/session_status.h"

#include <gtest/gtest.h>

namespace portico::cluster::rados {
namespace {

TEST(SessionStatus, LinesRoundTripAndDamageIsSkipped) {
  const std::vector<SessionLine> lines = {
      {"iscsi", "iqn.2026-11.io.portico:db", "iqn.1994-05.com.redhat:host1", "ISID 23d000000001, TSIH 3"},
      {"nvme", "nqn.2026-11.io.portico:db", "nqn.2014-08.org.nvmexpress:uuid:5f1e", "controller 1025"},
  };
  const std::string text = encode_session_lines(lines);
  EXPECT_EQ(decode_session_lines(text), lines);
  EXPECT_EQ(status_object_name("portico.gateways"), "portico.gateways.status");
  // A field with a tab or newline cannot break the line apart.
  auto odd = decode_session_lines(encode_session_lines({{"iscsi", "t", "i", "two\tparts\nand a line"}}));
  ASSERT_EQ(odd.size(), 1u);
  EXPECT_EQ(odd[0].detail, "two parts and a line");
  // Lines without four fields or without a protocol (a newer writer's, or damage) are skipped.
  auto damaged = decode_session_lines("iscsi\tt\ti\n\nonly\ttwo\n\tt\ti\td\nnvme\ts\th\tcontroller 1\n");
  ASSERT_EQ(damaged.size(), 1u);
  EXPECT_EQ(damaged[0].protocol, "nvme");
  EXPECT_TRUE(decode_session_lines("").empty());
  // What the decoder gives back is what the encoder would write (fuzz_status_lines).
  auto crlf = decode_session_lines("iscsi\tt\ti\td\r\n");
  ASSERT_EQ(crlf.size(), 1u);
  EXPECT_EQ(crlf[0].detail, "d ");
  EXPECT_EQ(decode_session_lines(encode_session_lines(crlf)), crlf);
}

}  // namespace
}  // namespace portico::cluster::rados
