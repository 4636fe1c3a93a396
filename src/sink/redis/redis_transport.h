// One byte stream to a Redis server: TCP, or TLS over TCP (OpenSSL). The RESP
// on top of it is RedisConnection's (hiredis' reader parses the replies).
//
// Every call blocks at most `timeout` waiting for the network (per wait, as a
// socket timeout would). Failures throw sluice::Error, the message naming the
// address ("<context>: 127.0.0.1:6380: ..."):
//   - Error::transient: what may pass by itself — refused, unreachable, reset,
//     closed, timed out.
//   - Error::config: a CA, certificate or key file that cannot be read or used.
//   - Error::server: the TLS handshake failed — an untrusted certificate, a
//     host name the certificate does not carry, a server that answers in
//     something else than TLS, a server that refused this client's certificate
//     or its absence (each said in its own words, with what to check). A server
//     that does not answer the handshake at all (a plain-TCP Redis waits for a
//     line end) times out: transient, with the same hint.
// Not thread-safe; one object per connection.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace sluice {

struct RedisTlsSettings {
  std::string ca_file;      // PEM CA bundle that signs the server's certificate ("": the system's)
  std::string cert_file;    // PEM client certificate (chain), for mutual TLS; with key_file
  std::string key_file;     // PEM private key of cert_file
  std::string server_name;  // the name the certificate must carry and SNI ("": the host connected to)
};

class RedisTransport {
 public:
  // Connects to host:port (any address the name resolves to, in order) and,
  // with `tls`, completes the handshake: the server's certificate must chain
  // to a trusted CA and carry the host name (or IP address) connected to, or
  // tls->server_name. `context` prefixes messages.
  // `label` names the server in messages instead of host:port (a redacted url, say).
  RedisTransport(const std::string& host, int port, const RedisTlsSettings* tls, std::chrono::milliseconds timeout,
                 std::string context, std::string label = "");
  ~RedisTransport();
  RedisTransport(const RedisTransport&) = delete;
  RedisTransport& operator=(const RedisTransport&) = delete;

  // The time each later wait for the network may take.
  void set_timeout(std::chrono::milliseconds timeout);
  // Sends every byte of `data`.
  void write_all(std::string_view data);
  // Receives at least one byte into buf[0, size) and returns how many; throws
  // Error::transient when the server closed the connection.
  size_t read_some(char* buf, size_t size);

  bool tls() const;
  // The server asked for a client certificate during the handshake and none
  // is configured (it may still accept none: tls-auth-clients optional).
  bool client_certificate_requested() const;
  // The label, or "127.0.0.1:6380" (brackets around an IPv6 literal).
  const std::string& address() const { return address_; }

  struct Tls;  // (public for OpenSSL's callback)

 private:
  [[noreturn]] void fail_io(const std::string& what, int error) const;
  [[noreturn]] void throw_refused(const std::string& errors) const;  // Error::server: a TLS alert refused us
  void wait_for(short events, const std::string& what);  // poll, or Error::transient after the timeout
  void handshake(const std::string& host, const RedisTlsSettings& settings);

  std::string context_;
  std::string address_;
  int fd_ = -1;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<Tls> tls_;
};

}  // namespace sluice
