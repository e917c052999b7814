#pragma once
// Test certificates generated at test time with the OpenSSL API: a CA and leaves signed by it
// (valid, expired, expiring soon, wrong name, client), plus a self-signed leaf. Files are written
// to a fresh temporary directory removed on destruction.

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace vitals::testkit {

struct credential {
  std::shared_ptr<X509> cert;
  std::shared_ptr<EVP_PKEY> key;
  std::string cert_file;  ///< PEM
  std::string key_file;   ///< PEM
};

struct leaf_spec {
  std::string common_name = "localhost";
  /// subjectAltName entries, e.g. {"DNS:localhost", "IP:127.0.0.1"}.
  std::vector<std::string> alt_names{"DNS:localhost", "IP:127.0.0.1", "IP:::1"};
  std::chrono::seconds not_before = -std::chrono::hours{24};  ///< relative to now
  std::chrono::seconds not_after = std::chrono::hours{24 * 365};
  bool self_signed = false;
  bool client = false;  ///< clientAuth usage instead of serverAuth
};

class pki {
 public:
  pki();
  ~pki();
  pki(const pki&) = delete;
  pki& operator=(const pki&) = delete;

  [[nodiscard]] credential issue(const std::string& name, const leaf_spec& spec);
  [[nodiscard]] const credential& ca() const noexcept { return ca_; }
  [[nodiscard]] const std::filesystem::path& dir() const noexcept { return dir_; }

 private:
  std::filesystem::path dir_;
  credential ca_;
  long serial_ = 1;
};

}  // namespace vitals::testkit
