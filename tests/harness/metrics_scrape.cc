#include "harness/metrics_scrape.h"

#include <httplib.h>

#include <sstream>

namespace sluice::test {

HttpReply http_get(int port, const std::string& path) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(2);
  client.set_read_timeout(5);
  auto response = client.Get(path.c_str());
  if (!response) return {};
  return {response->status, response->body};
}

double metric(const std::string& exposition, const std::string& series) {
  std::istringstream lines(exposition);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

}  // namespace sluice::test
