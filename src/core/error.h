// The one error type of sluice. Every failure that crosses a module boundary is an
// sluice::Error whose kind tells the caller what to do with it:
//   - kTransient: a server could not be reached or dropped the connection; the
//     caller retries with core/retry.h and keeps its position.
//   - every other kind is fatal for the run: sluice stops with the message, which
//     names what and where (file:line:key, table, column, LSN, ...).
// Messages never contain passwords (see config/redact.h).
#pragma once

#include <stdexcept>
#include <string>

namespace sluice {

enum class ErrorKind {
  kConfig,        // the configuration is wrong (file, line, key in the message)
  kInvalidInput,  // bytes or values that do not parse or cannot be encoded
  kProtocol,      // a server sent something that breaks the protocol contract
  kTransient,     // connection refused/lost, timeout: retry
  kServer,        // the server refused: missing table, privilege, wal_level, auth
  kState,         // stored state disagrees with reality (lost slot, moved checkpoint)
  kInternal,      // a bug in sluice
};

const char* to_string(ErrorKind kind);

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string message)
      : std::runtime_error(std::move(message)), kind_(kind) {}

  ErrorKind kind() const { return kind_; }
  bool retryable() const { return kind_ == ErrorKind::kTransient; }

  static Error config(std::string m) { return {ErrorKind::kConfig, std::move(m)}; }
  static Error invalid_input(std::string m) { return {ErrorKind::kInvalidInput, std::move(m)}; }
  static Error protocol(std::string m) { return {ErrorKind::kProtocol, std::move(m)}; }
  static Error transient(std::string m) { return {ErrorKind::kTransient, std::move(m)}; }
  static Error server(std::string m) { return {ErrorKind::kServer, std::move(m)}; }
  static Error state(std::string m) { return {ErrorKind::kState, std::move(m)}; }
  static Error internal(std::string m) { return {ErrorKind::kInternal, std::move(m)}; }

 private:
  ErrorKind kind_;
};

}  // namespace sluice
