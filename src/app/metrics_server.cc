#include "app/metrics_server.h"

#include <httplib.h>

#include <cerrno>
#include <cstring>

#include <sys/socket.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/error.h"

namespace sluice {

namespace {
constexpr size_t kServerThreads = 2;
constexpr const char* kMetricsType = "text/plain; version=0.0.4; charset=utf-8";
}  // namespace

MetricsServer::MetricsServer(const MetricsConfig& config, Telemetry& telemetry)
    : server_(std::make_unique<httplib::Server>()) {
  server_->new_task_queue = [] { return new httplib::ThreadPool(kServerThreads); };
  // SO_REUSEADDR (a restart binds through TIME_WAIT) but not the library's
  // default SO_REUSEPORT, with which a second sluice would share the port
  // silently instead of failing.
  server_->set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  server_->Get("/metrics", [&telemetry](const httplib::Request&, httplib::Response& response) {
    response.set_content(telemetry.metrics.render(), kMetricsType);
  });
  server_->Get("/healthz", [&telemetry](const httplib::Request&, httplib::Response& response) {
    const Health::Verdict verdict = telemetry.health.check();
    response.status = verdict.healthy ? 200 : 503;
    response.set_content((verdict.healthy ? "ok: " : "unhealthy: ") + verdict.reason + "\n", "text/plain");
  });
  server_->Get("/", [](const httplib::Request&, httplib::Response& response) {
    response.set_content("sluice: GET /metrics (Prometheus), GET /healthz\n", "text/plain");
  });
  if (config.port == 0) {
    port_ = server_->bind_to_any_port(config.host);
  } else if (server_->bind_to_port(config.host, config.port)) {
    port_ = config.port;
  }
  if (port_ <= 0) {
    throw Error::config(fmt::format("metrics.listen: cannot listen on {}:{} ({})", config.host, config.port,
                                    errno ? std::strerror(errno) : "the address cannot be bound"));
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  spdlog::info("metrics: serving GET /metrics and /healthz on http://{}:{}", config.host, port_);
}

MetricsServer::~MetricsServer() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace sluice
