#include "core/error.h"

namespace sluice {

const char* to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kConfig: return "configuration error";
    case ErrorKind::kInvalidInput: return "invalid input";
    case ErrorKind::kProtocol: return "protocol error";
    case ErrorKind::kTransient: return "connection error";
    case ErrorKind::kServer: return "server error";
    case ErrorKind::kState: return "state error";
    case ErrorKind::kInternal: return "internal error";
  }
  return "error";
}

}  // namespace sluice
