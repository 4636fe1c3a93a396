#include "harness/test_certificates.h"

#include <stdexcept>
#include <vector>

#include "harness/process_util.h"

namespace sluice::test {
namespace {

void openssl(const std::string& dir, std::vector<std::string> args) {
  detail::SpawnOptions o;
  o.program = detail::find_program("openssl");
  if (o.program.empty()) throw std::runtime_error("openssl not found on PATH (scripts/install-deps.sh installs it)");
  o.args = std::move(args);
  o.cwd = dir;
  const detail::RunResult r = detail::run(o, std::chrono::seconds(60));
  if (r.code != 0) {
    std::string line = "openssl";
    for (const std::string& a : o.args) line += " " + a;
    throw std::runtime_error(line + " exited with " + std::to_string(r.code) + ":\n" + r.output);
  }
}

// A self-signed CA: <name>.crt, <name>.key.
void make_ca(const std::string& dir, const std::string& name, const std::string& subject) {
  openssl(dir, {"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out", name + ".crt",
                "-days", "2", "-subj", subject, "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign"});
}

// <name>.crt/.key signed by ca.crt, with the extensions in <name>.ext.
void make_signed(const std::string& dir, const std::string& name, const std::string& subject,
                 const std::string& extensions) {
  detail::write_file(dir + "/" + name + ".ext", extensions, false);
  openssl(dir, {"req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out", name + ".csr", "-subj",
                subject});
  openssl(dir, {"x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out",
                name + ".crt", "-days", "2", "-extfile", name + ".ext"});
}

}  // namespace

TestCertificates::TestCertificates() : dir_(detail::make_temp_dir("sluice-certs-")) {
  try {
    make_ca(dir_, "ca", "/CN=sluice test CA");
    make_ca(dir_, "other-ca", "/CN=someone else's CA");
    make_signed(dir_, "server", "/CN=localhost",
                "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
    make_signed(dir_, "client", "/CN=sluice", "extendedKeyUsage=clientAuth\n");
  } catch (...) {
    detail::remove_tree(dir_);
    throw;
  }
}

TestCertificates::~TestCertificates() { detail::remove_tree(dir_); }

}  // namespace sluice::test
