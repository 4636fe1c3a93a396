// Reading sluice's own HTTP endpoints in tests: GET on 127.0.0.1, and one
// series of a Prometheus exposition.
#pragma once

#include <string>

namespace sluice::test {

struct HttpReply {
  int status = 0;  // 0: no answer (refused, timed out)
  std::string body;
};

// GET http://127.0.0.1:<port><path>, with short timeouts.
HttpReply http_get(int port, const std::string& path);

// The value of one series in an exposition ("name{labels}" exactly as printed),
// or -1 when it is not there.
double metric(const std::string& exposition, const std::string& series);

}  // namespace sluice::test
