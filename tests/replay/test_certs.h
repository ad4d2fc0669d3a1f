// Test PKI made at test time with the openssl binary: a CA, a relay server certificate
// (SAN: localhost, 127.0.0.1, *.hubble-relay.cilium.io), a client certificate signed by
// the same CA (for mTLS) and an unrelated CA (for "wrong CA" tests).
//
//   if (!tw::replay::testing::OpensslAvailable()) GTEST_SKIP() << "no openssl";
//   auto pki = tw::replay::testing::MakeTestPki();   // nullopt if openssl failed
//   opts.tls.cert_file = pki->server_crt;
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"

namespace tw::replay::testing {

struct TestPki {
  std::string dir;
  std::string ca_crt, server_crt, server_key, client_crt, client_key, other_ca_crt;
};

inline bool OpensslAvailable() { return std::system("openssl version > /dev/null 2>&1") == 0; }

// nullopt when openssl fails (the log is left in the directory).
inline std::optional<TestPki> MakeTestPki() {
  namespace fs = std::filesystem;
  char tmpl[] = "/tmp/tw-pki-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return std::nullopt;
  TestPki p;
  p.dir = tmpl;
  auto f = [&](const char* name) { return (fs::path(p.dir) / name).string(); };
  p.ca_crt = f("ca.crt");
  p.server_crt = f("server.crt");
  p.server_key = f("server.key");
  p.client_crt = f("client.crt");
  p.client_key = f("client.key");
  p.other_ca_crt = f("other-ca.crt");
  const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  std::string script = absl::StrCat(
      "set -e\n", "openssl req -x509 ", ec,
      " -keyout ca.key -out ca.crt -days 2 -subj '/CN=tierwatch test CA'\n", "openssl req -x509 ",
      ec, " -keyout other-ca.key -out other-ca.crt -days 2 -subj '/CN=some other CA'\n",
      "openssl req ", ec, " -keyout server.key -out server.csr -subj '/CN=relay.test'\n",
      "printf 'subjectAltName=DNS:localhost,DNS:*.hubble-relay.cilium.io,IP:127.0.0.1\\n"
      "extendedKeyUsage=serverAuth\\n' > server.ext\n",
      "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 "
      "-extfile server.ext -out server.crt\n",
      "openssl req ", ec, " -keyout client.key -out client.csr -subj '/CN=tierwatch-client'\n",
      "printf 'extendedKeyUsage=clientAuth\\n' > client.ext\n",
      "openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 "
      "-extfile client.ext -out client.crt\n");
  {
    std::ofstream out(f("make-pki.sh"));
    out << script;
  }
  std::string cmd = absl::StrCat("cd '", p.dir, "' && bash make-pki.sh > openssl.log 2>&1");
  if (std::system(cmd.c_str()) != 0) return std::nullopt;
  return p;
}

}  // namespace tw::replay::testing
