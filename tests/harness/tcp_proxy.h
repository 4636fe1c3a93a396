// A TCP proxy on loopback that tests put between a client and a server to break
// the connection between them on purpose (a network fault without root or
// iptables): every connection accepted on port() is relayed, bytes both ways, to
// 127.0.0.1:target_port.
//
// One background thread (poll) does all socket work; the public calls talk to it
// and, where they say so, wait for it. A connection the target refuses is closed
// at once. An EOF from one side is passed on as a half-close once the bytes read
// before it are delivered; an error on one side resets both.
//
// Thread safety: every member may be called from any thread.
// Lifetime: the destructor stops the thread and closes every socket (connections
// are reset); it never throws.
#pragma once

#include <memory>
#include <string>

namespace sluice::test {

class TcpProxy {
 public:
  // Listens on a free 127.0.0.1 port (detail::pick_free_port()) and starts the
  // relay thread. Throws std::runtime_error if no port can be bound.
  explicit TcpProxy(int target_port);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  int port() const;         // where clients connect
  int target_port() const;  // where the bytes go

  // Closes every connection open at the call abruptly (SO_LINGER 0: both the
  // client and the target get a RST). Returns once they are closed. New
  // connections are still accepted (unless set_accepting(false)).
  void cut();
  // Arms a one-shot cut of the next connection whose client sends bytes that
  // hold `marker`: they reach the target, and when the target's answer arrives
  // it is dropped and both sides are reset. The client cannot tell whether its
  // request ran (it did): a lost reply, as to a COMMIT. Counts in
  // connections_cut(); cut_after_request_done() says when it fired.
  void cut_after_request(const std::string& marker);
  bool cut_after_request_done() const;

  // Connections closed by cut() or cut_after_request() so far (a relayed pair
  // counts once).
  int connections_cut() const;
  // Connections accepted and relayed so far.
  int connections_relayed() const;
  // Connections currently relayed.
  int open_connections() const;

  // false: every new connection is accepted and reset at once, as a middlebox
  // dropping a route would; existing connections are untouched. true (the
  // initial state): relay them again. Takes effect for connections accepted after
  // the call returns.
  void set_accepting(bool accepting);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::test
