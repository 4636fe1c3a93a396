// TcpProxy: a poll loop on one thread relaying loopback connections, with a
// self-pipe through which the public calls wake it for cut() and shutdown.
// Assumes, for cut_after_request(), a request/response protocol: the first
// bytes from the target after the marked request are its answer.
#include "harness/tcp_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <iostream>
#include <list>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "harness/process_util.h"

namespace sluice::test {
namespace {

// Bytes read from one side and not yet written to the other; reading from a
// side pauses while its buffer is this full (the relay's backpressure).
constexpr std::size_t kMaxPending = 1 << 20;
constexpr std::size_t kReadChunk = 64 * 1024;

sockaddr_in loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  return addr;
}

void set_nonblocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

// Close with a RST instead of a FIN: the peer sees "connection reset".
void reset_close(int fd) noexcept {
  if (fd < 0) return;
  linger abrupt{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &abrupt, sizeof abrupt);
  close(fd);
}

// A blocking connect to the target (loopback answers or refuses at once), then
// non-blocking for the relay. -1 when refused.
int connect_target(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr = loopback(port);
  int r;
  do {
    r = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  } while (r != 0 && errno == EINTR);
  if (r != 0) {
    close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  set_nonblocking(fd);
  return fd;
}

// One relayed connection. Side 0 is the client, side 1 the target;
// pending[i] holds bytes read from side i for side 1 - i.
struct Connection {
  int fd[2] = {-1, -1};
  std::string pending[2];
  bool read_eof[2] = {false, false};    // side i sent its FIN
  bool write_shut[2] = {false, false};  // we sent side i our FIN
  bool broken = false;                  // an error on either side: reset both
  bool cut_at_reply = false;            // cut_after_request: the marker went to the target

  bool finished() const { return broken || (read_eof[0] && read_eof[1] && pending[0].empty() && pending[1].empty()); }
};

}  // namespace

struct TcpProxy::Impl {
  int target = 0;
  int port = 0;
  int listen_fd = -1;
  int wake_read = -1;
  int wake_write = -1;
  std::thread thread;

  std::atomic<bool> accepting{true};
  std::atomic<int> cut_count{0};
  std::atomic<int> relayed{0};
  std::atomic<int> open{0};
  std::atomic<bool> reply_cut_armed{false};
  std::atomic<bool> reply_cut_done{false};
  std::string reply_cut_marker;  // under mu

  // Requests from the public calls, served by the thread.
  std::mutex mu;
  std::condition_variable served;
  bool stopping = false;
  bool thread_done = false;
  unsigned long cuts_requested = 0;
  unsigned long cuts_done = 0;

  std::list<Connection> connections;  // the thread's own

  ~Impl() {
    if (thread.joinable()) {
      {
        std::lock_guard lock(mu);
        stopping = true;
      }
      wake();
      thread.join();
    }
    for (auto& c : connections) {
      reset_close(c.fd[0]);
      reset_close(c.fd[1]);
    }
    if (listen_fd >= 0) close(listen_fd);
    if (wake_read >= 0) close(wake_read);
    if (wake_write >= 0) close(wake_write);
  }

  void wake() noexcept {
    char byte = 1;
    ssize_t ignored = write(wake_write, &byte, 1);  // a full pipe already wakes the thread
    (void)ignored;
  }

  void listen_on_free_port() {
    for (int attempt = 0; attempt < 10; ++attempt) {
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      if (fd < 0) throw std::runtime_error(std::string("TcpProxy: socket: ") + std::strerror(errno));
      int one = 1;
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      int candidate = detail::pick_free_port();
      sockaddr_in addr = loopback(candidate);
      if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && listen(fd, 128) == 0) {
        listen_fd = fd;
        port = candidate;
        return;
      }
      close(fd);  // taken meanwhile by another process: try another
    }
    throw std::runtime_error("TcpProxy: could not listen on a free 127.0.0.1 port");
  }

  void run() noexcept {
    try {
      loop();
    } catch (const std::exception& e) {
      std::cerr << "TcpProxy " << port << " -> " << target << ": relay thread failed: " << e.what() << "\n";
    }
    std::lock_guard lock(mu);
    thread_done = true;
    served.notify_all();
  }

  void loop() {
    std::vector<pollfd> fds;
    std::vector<Connection*> owners;  // fds[k] belongs to owners[k] (from index 2)
    while (true) {
      if (serve_requests()) return;
      fds.clear();
      owners.clear();
      fds.push_back({wake_read, POLLIN, 0});
      fds.push_back({listen_fd, POLLIN, 0});
      for (auto& c : connections) {
        for (int side = 0; side < 2; ++side) {
          short events = 0;
          if (!c.read_eof[side] && c.pending[side].size() < kMaxPending) events |= POLLIN;
          if (!c.pending[1 - side].empty()) events |= POLLOUT;
          // Nothing to wait for on this side now: leave it out (a negative fd),
          // or a lasting POLLHUP of a half-closed socket would spin the loop.
          fds.push_back({events != 0 ? c.fd[side] : -1, events, 0});
          owners.push_back(&c);
        }
      }
      int ready = poll(fds.data(), fds.size(), 1000);
      if (ready < 0) {
        if (errno == EINTR) continue;
        throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
      }
      if (fds[0].revents != 0) drain_wake_pipe();
      if (fds[1].revents != 0) accept_all();
      for (std::size_t k = 2; k < fds.size(); ++k) {
        if (fds[k].revents == 0) continue;
        Connection& c = *owners[k - 2];
        int side = static_cast<int>((k - 2) % 2);
        if (fds[k].revents & POLLERR) c.broken = true;
        if (!c.broken && (fds[k].revents & (POLLIN | POLLHUP))) read_side(c, side);
        if (!c.broken && (fds[k].revents & POLLOUT)) write_side(c, side);
      }
      for (auto& c : connections) pass_on_half_close(c);
      close_finished();
    }
  }

  // Serves cut() and shutdown requests; true when the thread must exit.
  bool serve_requests() {
    std::lock_guard lock(mu);
    if (stopping) return true;
    if (cuts_done < cuts_requested) {
      for (auto& c : connections) {
        reset_close(c.fd[0]);
        reset_close(c.fd[1]);
      }
      cut_count += static_cast<int>(connections.size());
      open -= static_cast<int>(connections.size());
      connections.clear();
      cuts_done = cuts_requested;
      served.notify_all();
    }
    return false;
  }

  void drain_wake_pipe() {
    char buf[64];
    while (read(wake_read, buf, sizeof buf) > 0) {
    }
  }

  void accept_all() {
    while (true) {
      int client = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (client < 0) return;  // EAGAIN, or a connection that died in the backlog
      if (!accepting.load()) {
        reset_close(client);
        continue;
      }
      int upstream = connect_target(target);
      if (upstream < 0) {
        reset_close(client);  // the target is down: so is the proxy, to the client
        continue;
      }
      int one = 1;
      setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      Connection c;
      c.fd[0] = client;
      c.fd[1] = upstream;
      connections.push_back(std::move(c));
      ++relayed;
      ++open;
    }
  }

  void read_side(Connection& c, int side) {
    if (c.read_eof[side]) return;
    char buf[kReadChunk];
    while (c.pending[side].size() < kMaxPending) {
      ssize_t n = recv(c.fd[side], buf, sizeof buf, 0);
      if (n > 0) {
        if (side == 1 && c.cut_at_reply) {
          // The target answered the marked request: the client never hears it.
          c.broken = true;
          ++cut_count;
          reply_cut_done = true;
          return;
        }
        c.pending[side].append(buf, static_cast<std::size_t>(n));
        if (side == 0 && reply_cut_armed.load()) {
          std::lock_guard lock(mu);
          if (reply_cut_armed.load() && c.pending[0].find(reply_cut_marker) != std::string::npos) {
            reply_cut_armed = false;
            c.cut_at_reply = true;
          }
        }
        continue;
      }
      if (n == 0) {
        c.read_eof[side] = true;
      } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        c.broken = true;
      }
      return;
    }
  }

  // Writes to `side` what the other side sent.
  void write_side(Connection& c, int side) {
    std::string& out = c.pending[1 - side];
    while (!out.empty()) {
      ssize_t n = send(c.fd[side], out.data(), out.size(), MSG_NOSIGNAL);
      if (n > 0) {
        out.erase(0, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
      c.broken = true;
      return;
    }
  }

  // A side's FIN goes on to the other side once everything read before it has.
  static void pass_on_half_close(Connection& c) {
    for (int side = 0; side < 2; ++side) {
      int other = 1 - side;
      if (c.read_eof[side] && c.pending[side].empty() && !c.write_shut[other]) {
        shutdown(c.fd[other], SHUT_WR);
        c.write_shut[other] = true;
      }
    }
  }

  void close_finished() {
    for (auto it = connections.begin(); it != connections.end();) {
      if (!it->finished()) {
        ++it;
        continue;
      }
      if (it->broken) {
        reset_close(it->fd[0]);
        reset_close(it->fd[1]);
      } else {
        close(it->fd[0]);
        close(it->fd[1]);
      }
      --open;
      it = connections.erase(it);
    }
  }
};

TcpProxy::TcpProxy(int target_port) : impl_(std::make_unique<Impl>()) {
  impl_->target = target_port;
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    throw std::runtime_error(std::string("TcpProxy: pipe2: ") + std::strerror(errno));
  }
  impl_->wake_read = pipe_fds[0];
  impl_->wake_write = pipe_fds[1];
  impl_->listen_on_free_port();
  impl_->thread = std::thread([impl = impl_.get()] { impl->run(); });
}

TcpProxy::~TcpProxy() = default;  // Impl::~Impl stops the thread and closes

int TcpProxy::port() const { return impl_->port; }

int TcpProxy::target_port() const { return impl_->target; }

void TcpProxy::cut() {
  std::unique_lock lock(impl_->mu);
  unsigned long mine = ++impl_->cuts_requested;
  impl_->wake();
  impl_->served.wait(lock, [&] { return impl_->cuts_done >= mine || impl_->thread_done; });
}

void TcpProxy::cut_after_request(const std::string& marker) {
  std::lock_guard lock(impl_->mu);
  impl_->reply_cut_done = false;
  impl_->reply_cut_marker = marker;
  impl_->reply_cut_armed = true;
}

bool TcpProxy::cut_after_request_done() const { return impl_->reply_cut_done.load(); }

int TcpProxy::connections_cut() const { return impl_->cut_count.load(); }

int TcpProxy::connections_relayed() const { return impl_->relayed.load(); }

int TcpProxy::open_connections() const { return impl_->open.load(); }

void TcpProxy::set_accepting(bool accepting) { impl_->accepting.store(accepting); }

}  // namespace sluice::test
