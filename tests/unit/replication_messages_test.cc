// Unit tests for the START_REPLICATION CopyBoth framing, after
// https://www.postgresql.org/docs/current/protocol-replication.html
#include "source/postgres/replication_messages.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "unit/wire_bytes.h"

namespace sluice::pg {
namespace {

using namespace std::chrono_literals;

using test::Bytes;

constexpr int64_t kTime = 767880000123456;  // 2024-05-01 12:00:00.123456 UTC

Bytes xlogData(std::string_view payload) {
  return Bytes().put1('w').put8(0x16B374D848).put8(0x16B3750000).put8(kTime).putRaw(payload);
}

Bytes keepalive(uint8_t reply) {
  return Bytes().put1('k').put8(0x16B3750000).put8(kTime).put1(reply);
}

Error parseError(std::span<const uint8_t> bytes) {
  try {
    parse_replication_message(bytes);
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "parse did not throw sluice::Error";
  return Error::internal("nothing thrown");
}

void expectProtocolError(std::span<const uint8_t> bytes, std::string_view needle) {
  Error e = parseError(bytes);
  EXPECT_EQ(e.kind(), ErrorKind::kProtocol) << e.what();
  EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
      << "message: " << e.what() << "\nexpected to contain: " << needle;
}

TEST(ReplicationMessagesTest, ParsesXLogDataHeaderAndPayload) {
  Bytes b = xlogData("B\x01\x02");
  auto m = std::get<XLogData>(parse_replication_message(b.span()));
  EXPECT_EQ(m.wal_start.str(), "16/B374D848");
  EXPECT_EQ(m.wal_end.str(), "16/B3750000");
  EXPECT_EQ(to_pg_timestamp(m.send_time), kTime);
  ASSERT_EQ(m.payload.size(), 3u);
  // The payload is a view into the input, not a copy.
  EXPECT_EQ(m.payload.data(), b.span().data() + 25);
  EXPECT_EQ(m.payload[0], 'B');
  EXPECT_EQ(m.payload[2], 0x02);
}

TEST(ReplicationMessagesTest, XLogDataMayHaveEmptyPayload) {
  Bytes b = xlogData("");
  auto m = std::get<XLogData>(parse_replication_message(b.span()));
  EXPECT_TRUE(m.payload.empty());
}

TEST(ReplicationMessagesTest, ParsesPrimaryKeepalive) {
  for (uint8_t reply : {uint8_t{0}, uint8_t{1}}) {
    Bytes b = keepalive(reply);
    auto m = std::get<PrimaryKeepalive>(parse_replication_message(b.span()));
    EXPECT_EQ(m.wal_end.str(), "16/B3750000");
    EXPECT_EQ(m.send_time, std::chrono::sys_days{std::chrono::year{2024} / 5 / 1} + 12h + 123456us);
    EXPECT_EQ(m.reply_requested, reply == 1);
  }
}

TEST(ReplicationMessagesTest, RejectsOtherMessageTypes) {
  for (uint8_t type : {uint8_t{'r'}, uint8_t{'W'}, uint8_t{'s'}, uint8_t{0}, uint8_t{0xff}}) {
    Bytes b = Bytes().put1(type).put8(1).put8(2).put8(3);
    expectProtocolError(b.span(), "replication message at byte 0: expected type 'w' or 'k'");
  }
  expectProtocolError(Bytes().put1('x').span(), "got 'x' (0x78)");
  expectProtocolError(Bytes().put1(0x01).span(), "got 0x01");
}

TEST(ReplicationMessagesTest, RejectsEmptyMessage) {
  expectProtocolError(Bytes().span(),
                      "replication message truncated at byte 0: expected 1-byte message type");
}

TEST(ReplicationMessagesTest, XLogDataTruncatedAnywhereInHeaderIsAProtocolError) {
  Bytes b = xlogData("");
  for (size_t length = 1; length < b.size(); ++length) {
    Error e = parseError(b.prefix(length));
    EXPECT_EQ(e.kind(), ErrorKind::kProtocol) << length;
    EXPECT_EQ(std::string(e.what()), "replication XLogData message truncated at byte " +
                                         std::to_string(length) + ": expected a 25-byte header");
  }
}

TEST(ReplicationMessagesTest, KeepaliveTruncatedAtEveryLengthIsAProtocolError) {
  Bytes b = keepalive(0);
  for (size_t length = 1; length < b.size(); ++length) {
    expectProtocolError(b.prefix(length),
                        "replication Primary keepalive message truncated at byte " +
                            std::to_string(length) + ": expected 18 bytes");
  }
}

TEST(ReplicationMessagesTest, KeepaliveWithTrailingBytesIsAProtocolError) {
  Bytes b = keepalive(0).put1(0);
  expectProtocolError(b.span(), "at byte 18: expected end of message, found 1 trailing bytes");
}

TEST(ReplicationMessagesTest, KeepaliveReplyFlagMustBeZeroOrOne) {
  expectProtocolError(
      keepalive(2).span(),
      "replication Primary keepalive message at byte 17: expected reply flag 0 or 1, "
      "got 2");
}

TEST(ReplicationMessagesTest, OutOfRangeSendTimeIsAProtocolError) {
  Bytes w = Bytes().put1('w').put8(1).put8(2).put8(0x7FFFFFFFFFFFFFFF);
  expectProtocolError(w.span(), "replication XLogData message at byte 17: send time of");
  Bytes k = Bytes().put1('k').put8(1).put8(0x8000000000000000).put1(0);
  expectProtocolError(k.span(), "replication Primary keepalive message at byte 9: send time of");
}

TEST(ReplicationMessagesTest, BuildsStandbyStatusUpdateInNetworkOrder) {
  StandbyStatus status;
  status.write = Lsn(0x16B374D848);
  status.flush = Lsn(0x16B3740000);
  status.apply = Lsn(0x0102030405060708);
  status.client_time = from_pg_timestamp(kTime);
  status.reply_requested = true;

  const std::string bytes = build_standby_status_update(status);
  const std::string expected =
      std::string("r", 1) + std::string("\x00\x00\x00\x16\xB3\x74\xD8\x48", 8) +
      std::string("\x00\x00\x00\x16\xB3\x74\x00\x00", 8) +
      std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8) +
      std::string("\x00\x02\xBA\x61\xFE\xA3\x32\x40", 8) + std::string("\x01", 1);
  ASSERT_EQ(bytes.size(), 34u);
  EXPECT_EQ(bytes, expected);
}

TEST(ReplicationMessagesTest, StandbyStatusUpdateWithoutReplyRequestEndsInZero) {
  StandbyStatus status;
  status.client_time = from_pg_timestamp(0);
  const std::string bytes = build_standby_status_update(status);
  ASSERT_EQ(bytes.size(), 34u);
  EXPECT_EQ(bytes, std::string("r", 1) + std::string(33, '\0'));
}

TEST(ReplicationMessagesTest, StandbyStatusClientTimeBefore2000IsNegative) {
  StandbyStatus status;
  status.client_time = Timestamp{};  // the Unix epoch, 1970
  const std::string bytes = build_standby_status_update(status);
  // -946684800000000 microseconds, two's complement.
  EXPECT_EQ(bytes.substr(25, 8), std::string("\xFF\xFC\xA2\xFE\xC4\xC8\x20\x00", 8));
}

TEST(ReplicationMessagesTest, XLogDataPayloadIsOnePgoutputMessage) {
  Bytes b = xlogData("").put1('O').put8(0x5000).putRaw(std::string_view("up\0", 3));
  auto w = std::get<XLogData>(parse_replication_message(b.span()));
  PgOutputDecoder decoder;
  auto origin = std::get<OriginMessage>(decoder.decode(w.payload));
  EXPECT_EQ(origin.name, "up");
  EXPECT_EQ(origin.commit_lsn, Lsn(0x5000));
}

}  // namespace
}  // namespace sluice::pg
