#include "sink/redis/redis_transport.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "core/error.h"

namespace sluice {
namespace {

using Clock = std::chrono::steady_clock;

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
struct SslFree {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};
struct AddrinfoFree {
  void operator()(addrinfo* ai) const { freeaddrinfo(ai); }
};

// Closes the descriptor unless released.
class FdGuard {
 public:
  explicit FdGuard(int fd) : fd_(fd) {}
  ~FdGuard() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;
  int get() const { return fd_; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

std::string format_address(const std::string& host, int port) {
  const bool ipv6 = host.find(':') != std::string::npos;
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

bool is_ip_literal(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// OpenSSL's queued errors, oldest first, as one line (the queue is emptied).
std::string openssl_errors() {
  std::string out;
  while (unsigned long code = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    if (!out.empty()) out += "; ";
    const char* reason = ERR_reason_error_string(code);
    out += reason ? reason : text;
  }
  return out;
}

// An alert by which the server refused this client's certificate (or its
// absence): in TLS 1.3 it comes after the client's side of the handshake, with
// the first reply.
bool refused_by_peer(const std::string& errors) {
  for (const char* alert : {"certificate required", "unknown ca", "bad certificate", "certificate unknown",
                            "alert handshake failure"}) {
    if (errors.find(alert) != std::string::npos) return true;
  }
  return false;
}

void set_socket_options(int fd) {
  const int on = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  // A dead peer (a host that vanished without a reset) is noticed in about 30 s
  // even while nothing is sent, as hiredis' redisEnableKeepAlive does.
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
  const int idle = 15, interval = 5, count = 3;
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
}

}  // namespace

struct RedisTransport::Tls {
  std::unique_ptr<SSL_CTX, SslCtxFree> ctx;
  std::unique_ptr<SSL, SslFree> ssl;
  bool certificate_requested = false;  // the server asked for one and none is configured
};

namespace {
// Called by OpenSSL when the server asks for a client certificate and none is
// set: sends none (a server with tls-auth-clients optional accepts that), and
// remembers it for the message if the server then drops the connection.
int no_client_certificate(SSL* ssl, X509** /*cert*/, EVP_PKEY** /*key*/) {
  static_cast<RedisTransport::Tls*>(SSL_get_app_data(ssl))->certificate_requested = true;
  return 0;
}
}  // namespace

RedisTransport::RedisTransport(const std::string& host, int port, const RedisTlsSettings* tls,
                               std::chrono::milliseconds timeout, std::string context, std::string label)
    : context_(std::move(context)),
      address_(label.empty() ? format_address(host, port) : std::move(label)),
      timeout_(timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
    // A name that does not resolve may resolve later (DNS is down, a service
    // not registered yet): transient, like a refused connection.
    throw Error::transient(context_ + ": " + address_ + ": cannot resolve '" + host + "': " + gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, AddrinfoFree> addresses(found);
  std::string last_error = "no address";
  const Clock::time_point deadline = Clock::now() + timeout;
  for (addrinfo* ai = addresses.get(); ai != nullptr; ai = ai->ai_next) {
    FdGuard fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol));
    if (fd.get() < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    int err = 0;
    if (::connect(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0) {
      if (errno != EINPROGRESS) {
        last_error = std::strerror(errno);
        continue;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      pollfd p{fd.get(), POLLOUT, 0};
      const int ready = ::poll(&p, 1, static_cast<int>(std::max<long long>(0, left.count())));
      if (ready == 0) {
        last_error = "timed out after " + std::to_string(timeout.count()) + " ms";
        continue;
      }
      socklen_t len = sizeof err;
      if (ready < 0 || getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      if (err != 0) {
        last_error = std::strerror(err);
        continue;
      }
    }
    set_socket_options(fd.get());
    fd_ = fd.release();
    break;
  }
  if (fd_ < 0) throw Error::transient(context_ + ": cannot connect to " + address_ + ": " + last_error);
  if (tls) {
    try {
      handshake(host, *tls);
    } catch (...) {
      tls_.reset();
      ::close(fd_);
      fd_ = -1;
      throw;
    }
  }
}

RedisTransport::~RedisTransport() {
  if (tls_ && tls_->ssl) SSL_shutdown(tls_->ssl.get());  // best effort: one close_notify, no wait
  tls_.reset();
  if (fd_ >= 0) ::close(fd_);
}

bool RedisTransport::tls() const { return tls_ != nullptr; }

bool RedisTransport::client_certificate_requested() const { return tls_ && tls_->certificate_requested; }

void RedisTransport::set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }

void RedisTransport::fail_io(const std::string& what, int error) const {
  throw Error::transient(context_ + ": " + address_ + ": " + what + ": " +
                         (error == 0 ? std::string("the server closed the connection") : std::strerror(error)));
}

void RedisTransport::throw_refused(const std::string& errors) const {
  throw Error::server(context_ + ": " + address_ + ": TLS: the server refused this client (" + errors +
                      "): it requires a client certificate that its CA signed (tls_cert_file, tls_key_file)");
}

void RedisTransport::wait_for(short events, const std::string& what) {
  pollfd p{fd_, events, 0};
  int ready;
  do {
    ready = ::poll(&p, 1, static_cast<int>(timeout_.count()));
  } while (ready < 0 && errno == EINTR);
  if (ready < 0) fail_io(what, errno);
  if (ready == 0) {
    throw Error::transient(context_ + ": " + address_ + ": " + what + ": timed out after " +
                           std::to_string(timeout_.count()) + " ms");
  }
}

void RedisTransport::handshake(const std::string& host, const RedisTlsSettings& settings) {
  const std::string where = context_ + ": " + address_ + ": ";
  tls_ = std::make_unique<Tls>();
  tls_->ctx.reset(SSL_CTX_new(TLS_client_method()));
  if (!tls_->ctx) throw Error::internal(where + "cannot create a TLS context: " + openssl_errors());
  SSL_CTX* ctx = tls_->ctx.get();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  if (!settings.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, settings.ca_file.c_str(), nullptr) != 1) {
      throw Error::config(where + "tls_ca_file '" + settings.ca_file + "' cannot be used: " + openssl_errors());
    }
  } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
    throw Error::config(where + "the system's trusted certificates cannot be loaded: " + openssl_errors());
  }
  if (!settings.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, settings.cert_file.c_str()) != 1) {
      throw Error::config(where + "tls_cert_file '" + settings.cert_file + "' cannot be used: " + openssl_errors());
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, settings.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      const std::string errors = openssl_errors();
      if (errors.find("key values mismatch") != std::string::npos) {
        throw Error::config(where + "tls_key_file '" + settings.key_file + "' is not the key of tls_cert_file '" +
                            settings.cert_file + "'");
      }
      throw Error::config(where + "tls_key_file '" + settings.key_file + "' cannot be used: " + errors);
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
      throw Error::config(where + "tls_key_file '" + settings.key_file + "' is not the key of tls_cert_file '" +
                          settings.cert_file + "'");
    }
  }
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (settings.cert_file.empty()) SSL_CTX_set_client_cert_cb(ctx, no_client_certificate);

  tls_->ssl.reset(SSL_new(ctx));
  SSL* ssl = tls_->ssl.get();
  if (!ssl || SSL_set_fd(ssl, fd_) != 1) throw Error::internal(where + "cannot set up TLS: " + openssl_errors());
  SSL_set_app_data(ssl, tls_.get());
  const std::string& name = settings.server_name.empty() ? host : settings.server_name;
  if (is_ip_literal(name)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl, name.c_str());
    SSL_set1_host(ssl, name.c_str());
  }
  while (true) {
    ERR_clear_error();
    const int rc = SSL_connect(ssl);
    if (rc == 1) return;
    const int err = SSL_get_error(ssl, rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      try {
        wait_for(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, "TLS handshake");
      } catch (const Error& e) {
        // A plain-TCP Redis waits for the end of a line that a ClientHello never
        // sends: no answer at all. So does a slow network: still transient.
        if (e.kind() != ErrorKind::kTransient) throw;
        throw Error::transient(std::string(e.what()) + " (is it a plain-TCP port? use redis://)");
      }
      continue;
    }
    const long verify = SSL_get_verify_result(ssl);
    if (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH) {
      throw Error::server(where + "TLS: the server's certificate is not valid for '" + name +
                          "' (set tls_server_name to the name it carries, or connect by that name)");
    }
    if (verify != X509_V_OK) {
      throw Error::server(where + "TLS: the server's certificate is not trusted: " +
                          X509_verify_cert_error_string(verify) +
                          (settings.ca_file.empty() ? " (set tls_ca_file to the CA that signed it)"
                                                    : " (by tls_ca_file '" + settings.ca_file + "')"));
    }
    const std::string errors = openssl_errors();
    if ((err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN) && errors.empty()) {
      // Also what a server going down does: transient.
      throw Error::transient(where + "TLS: the server closed the connection during the handshake (a plain-TCP "
                             "port? use redis://)");
    }
    if (errors.find("wrong version number") != std::string::npos ||
        errors.find("packet length too long") != std::string::npos ||
        errors.find("record layer failure") != std::string::npos) {
      throw Error::server(where + "TLS: the server does not answer in TLS (" + errors +
                          "): is it a plain-TCP port? use redis://");
    }
    if (refused_by_peer(errors)) throw_refused(errors);
    throw Error::server(where + "TLS handshake failed: " + (errors.empty() ? std::string(std::strerror(errno)) : errors));
  }
}

void RedisTransport::write_all(std::string_view data) {
  while (!data.empty()) {
    if (tls_) {
      ERR_clear_error();
      const int n = SSL_write(tls_->ssl.get(), data.data(), static_cast<int>(std::min<size_t>(data.size(), 1 << 30)));
      if (n > 0) {
        data.remove_prefix(static_cast<size_t>(n));
        continue;
      }
      const int err = SSL_get_error(tls_->ssl.get(), n);
      if (err == SSL_ERROR_WANT_WRITE) {
        wait_for(POLLOUT, "sending");
      } else if (err == SSL_ERROR_WANT_READ) {
        wait_for(POLLIN, "sending");
      } else {
        const std::string errors = openssl_errors();
        if (refused_by_peer(errors)) throw_refused(errors);
        if (!errors.empty()) throw Error::transient(context_ + ": " + address_ + ": sending: TLS: " + errors);
        fail_io("sending", err == SSL_ERROR_ZERO_RETURN ? 0 : errno);
      }
      continue;
    }
    const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      wait_for(POLLOUT, "sending");
    } else if (n < 0 && errno != EINTR) {
      fail_io("sending", errno);
    }
  }
}

size_t RedisTransport::read_some(char* buf, size_t size) {
  while (true) {
    if (tls_) {
      ERR_clear_error();
      const int n = SSL_read(tls_->ssl.get(), buf, static_cast<int>(std::min<size_t>(size, 1 << 30)));
      if (n > 0) return static_cast<size_t>(n);
      const int err = SSL_get_error(tls_->ssl.get(), n);
      if (err == SSL_ERROR_WANT_READ) {
        wait_for(POLLIN, "reading a reply");
      } else if (err == SSL_ERROR_WANT_WRITE) {
        wait_for(POLLOUT, "reading a reply");
      } else if (err == SSL_ERROR_ZERO_RETURN) {
        fail_io("reading a reply", 0);
      } else {
        const std::string errors = openssl_errors();
        if (refused_by_peer(errors)) throw_refused(errors);
        if (!errors.empty()) throw Error::transient(context_ + ": " + address_ + ": reading a reply: TLS: " + errors);
        fail_io("reading a reply", n == 0 ? 0 : errno);
      }
      continue;
    }
    const ssize_t n = ::recv(fd_, buf, size, 0);
    if (n > 0) return static_cast<size_t>(n);
    if (n == 0) fail_io("reading a reply", 0);
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      wait_for(POLLIN, "reading a reply");
    } else if (errno != EINTR) {
      fail_io("reading a reply", errno);
    }
  }
}

}  // namespace sluice
