// The Redis sink over TLS (rediss://) and as an ACL user, against a real
// redis-server with --tls-port and certificates the harness makes: the
// certificate and host name are verified, mutual TLS works, and each way of
// getting it wrong has its own clear error. The end-to-end run as a
// least-privilege user: tests/integration/redis_acl_test.cc.
#include <gtest/gtest.h>

#include "harness/test_certificates.h"
#include "integration/redis_sink_fixture.h"
#include "sink/redis/redis_connection.h"

namespace sluice {
namespace {

using namespace redis_test;
using test::TestCertificates;

class RedisTlsTest : public ::testing::Test {
 protected:
  RedisTlsTest() : redis_(false, RedisServer::Tls{&certs_, false}), client_(redis_.port()) {}

  RedisSinkConfig config(const std::string& url) const {
    RedisSinkConfig c;
    c.name = "cache";
    c.url = url;
    c.tls.ca_file = certs_.ca_file();
    return c;
  }
  // What connecting with `c` throws (the sink connects on its first use).
  static Error error_of(const RedisSinkConfig& c) {
    try {
      RedisConnection::Options options;
      options.connect_timeout = std::chrono::milliseconds(1000);
      RedisSink sink(c, options);
      sink.load_checkpoint();
    } catch (const Error& e) {
      return e;
    }
    ADD_FAILURE() << "connected to " << c.url;
    return Error::internal("no error");
  }

  TestCertificates certs_;
  RedisServer redis_;
  RedisClient client_;  // the plain port
};

TEST_F(RedisTlsTest, ASinkWritesOverTlsWithTheCertificateAndHostVerified) {
  // 127.0.0.1 is in the server certificate's subjectAltName; so is localhost.
  for (const std::string& url :
       {redis_.tls_url(), "rediss://localhost:" + std::to_string(redis_.tls_port()) + "/0"}) {
    client_.command({"FLUSHALL"});
    RedisSink sink(config(url));
    sink.start_without_snapshot("slot1", pos(0x100));
    sink.apply(batch({ins(users(), pos(0x200), {T("1"), T("ann"), N, N})}));
    EXPECT_EQ(client_.get("users:1"), R"({"id":1,"name":"ann","payload":null,"note":null})") << url;
    EXPECT_EQ(sink.load_checkpoint().position, pos(0x200)) << url;
  }
  // tls_server_name: the name the certificate must carry when it is not the host.
  RedisSinkConfig c = config(redis_.tls_url());
  c.tls.server_name = "localhost";
  RedisSink named(c);
  EXPECT_EQ(named.load_checkpoint().position, pos(0x200));
}

TEST_F(RedisTlsTest, AnUntrustedCertificateIsRefused) {
  RedisSinkConfig c = config(redis_.tls_url());
  c.tls.ca_file = certs_.other_ca_file();
  const Error e = error_of(c);
  EXPECT_EQ(e.kind(), ErrorKind::kServer) << e.what();
  EXPECT_TRUE(contains(e.what(), "not trusted") && contains(e.what(), certs_.other_ca_file())) << e.what();
  EXPECT_TRUE(contains(e.what(), "rediss://127.0.0.1:" + std::to_string(redis_.tls_port()) + "/0")) << e.what();

  // Without tls_ca_file the system's trust store is used: it does not know the test CA either.
  c.tls.ca_file.clear();
  const Error system = error_of(c);
  EXPECT_EQ(system.kind(), ErrorKind::kServer) << system.what();
  EXPECT_TRUE(contains(system.what(), "not trusted") && contains(system.what(), "set tls_ca_file")) << system.what();
}

TEST_F(RedisTlsTest, AHostNameTheCertificateDoesNotCarryIsRefused) {
  RedisSinkConfig c = config(redis_.tls_url());
  c.tls.server_name = "cache.example";
  const Error e = error_of(c);
  EXPECT_EQ(e.kind(), ErrorKind::kServer) << e.what();
  EXPECT_TRUE(contains(e.what(), "not valid for 'cache.example'")) << e.what();
}

TEST_F(RedisTlsTest, TlsToAPlainPortAndPlainTcpToATlsPortAreNamed) {
  // A plain Redis waits for a line end that a ClientHello never sends: the
  // handshake times out (transient, as for a slow network), saying what to check.
  const Error tls_to_plain = error_of(config("rediss://127.0.0.1:" + std::to_string(redis_.port()) + "/0"));
  EXPECT_EQ(tls_to_plain.kind(), ErrorKind::kTransient) << tls_to_plain.what();
  EXPECT_TRUE(contains(tls_to_plain.what(), "plain-TCP port? use redis://")) << tls_to_plain.what();

  RedisSinkConfig plain = config("redis://127.0.0.1:" + std::to_string(redis_.tls_port()) + "/0");
  plain.tls = {};
  // The TLS port drops a connection that does not start with a ClientHello:
  // as a server going down would, so transient, saying what to check.
  const Error plain_to_tls = error_of(plain);
  EXPECT_EQ(plain_to_tls.kind(), ErrorKind::kTransient) << plain_to_tls.what();
  EXPECT_TRUE(contains(plain_to_tls.what(), "TLS port? use rediss://")) << plain_to_tls.what();
}

class RedisMutualTlsTest : public RedisTlsTest {
 protected:
  RedisMutualTlsTest() : mutual_(false, RedisServer::Tls{&certs_, true}), mutual_client_(mutual_.port()) {}
  RedisServer mutual_;
  RedisClient mutual_client_;
};

TEST_F(RedisMutualTlsTest, AServerThatRequiresAClientCertificateGetsOne) {
  RedisSinkConfig c = config(mutual_.tls_url());
  const Error without = error_of(c);
  EXPECT_EQ(without.kind(), ErrorKind::kServer) << without.what();
  EXPECT_TRUE(contains(without.what(), "client certificate")) << without.what();

  c.tls.cert_file = certs_.client_cert_file();
  c.tls.key_file = certs_.client_key_file();
  RedisSink sink(c);
  sink.start_without_snapshot("slot1", pos(0x100));
  sink.apply(batch({ins(users(), pos(0x200), {T("1"), T("ann"), N, N})}));
  EXPECT_EQ(mutual_client_.get("users:1"), R"({"id":1,"name":"ann","payload":null,"note":null})");

  // A key that is not the certificate's: a config error naming both files.
  c.tls.key_file = certs_.server_key_file();
  const Error mismatch = error_of(c);
  EXPECT_EQ(mismatch.kind(), ErrorKind::kConfig) << mismatch.what();
  EXPECT_TRUE(contains(mismatch.what(), "is not the key of tls_cert_file")) << mismatch.what();
}

// An ACL user over TLS; a command the user may not run names what is missing.
TEST_F(RedisTlsTest, AnAclUserWritesAndARefusedCommandNamesThePermission) {
  client_.command({"ACL", "SETUSER", "writer", "on", ">writer-secret", "~*", "+@all"});
  client_.command({"ACL", "SETUSER", "reader", "on", ">reader-secret", "~*", "-@all", "+@read", "+ping"});
  const std::string host = "127.0.0.1:" + std::to_string(redis_.tls_port());
  RedisSink writer(config("rediss://writer:writer-secret@" + host + "/0"));
  writer.start_without_snapshot("slot1", pos(0x100));
  writer.apply(batch({ins(users(), pos(0x200), {T("1"), T("ann"), N, N})}));
  EXPECT_EQ(client_.get("users:1"), R"({"id":1,"name":"ann","payload":null,"note":null})");

  RedisSink reader(config("rediss://reader:reader-secret@" + host + "/0"));
  reader.load_checkpoint();
  try {
    reader.apply(batch({ins(users(), pos(0x300), {T("2"), T("bob"), N, N})}));
    FAIL() << "expected a refusal";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kServer) << e.what();
    EXPECT_TRUE(contains(e.what(), "NOPERM")) << e.what();
    EXPECT_FALSE(contains(e.what(), "reader-secret")) << e.what();
  }
  const Error wrong = error_of(config("rediss://writer:wrong@" + host + "/0"));
  EXPECT_EQ(wrong.kind(), ErrorKind::kServer) << wrong.what();
  EXPECT_TRUE(contains(wrong.what(), "AUTH as 'writer'")) << wrong.what();
}

}  // namespace
}  // namespace sluice
