// Certificates for TLS tests, made with the `openssl` tool in a fresh temporary
// directory (removed by the destructor): a CA, a server certificate it signs
// for "localhost" and 127.0.0.1, a client certificate it signs (mutual TLS),
// and a second, unrelated CA that signs nothing the servers use (an untrusted
// issuer, as a client sees it). Keys are unencrypted RSA 2048; everything is
// valid for two days. Throws std::runtime_error, with openssl's output, when a
// step fails.
#pragma once

#include <string>

namespace sluice::test {

class TestCertificates {
 public:
  TestCertificates();
  ~TestCertificates();
  TestCertificates(const TestCertificates&) = delete;
  TestCertificates& operator=(const TestCertificates&) = delete;

  std::string ca_file() const { return dir_ + "/ca.crt"; }
  std::string server_cert_file() const { return dir_ + "/server.crt"; }
  std::string server_key_file() const { return dir_ + "/server.key"; }
  std::string client_cert_file() const { return dir_ + "/client.crt"; }
  std::string client_key_file() const { return dir_ + "/client.key"; }
  std::string other_ca_file() const { return dir_ + "/other-ca.crt"; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

}  // namespace sluice::test
