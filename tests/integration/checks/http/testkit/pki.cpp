#include "pki.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdio>
#include <random>
#include <stdexcept>

namespace vitals::testkit {
namespace {

std::shared_ptr<EVP_PKEY> new_key() {
  EVP_PKEY* k = EVP_EC_gen("P-256");
  if (k == nullptr) throw std::runtime_error("EVP_EC_gen failed");
  return {k, EVP_PKEY_free};
}

void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) throw std::runtime_error("bad extension " + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

std::shared_ptr<X509> make_cert(const std::string& cn, EVP_PKEY* key, X509* issuer,
                                EVP_PKEY* issuer_key, long serial, std::chrono::seconds nb,
                                std::chrono::seconds na) {
  X509* x = X509_new();
  std::shared_ptr<X509> cert{x, X509_free};
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
  X509_gmtime_adj(X509_getm_notBefore(x), static_cast<long>(nb.count()));
  X509_gmtime_adj(X509_getm_notAfter(x), static_cast<long>(na.count()));
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("vitals tests"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, issuer != nullptr ? X509_get_subject_name(issuer) : name);
  (void)issuer_key;
  return cert;
}

void sign(X509* cert, EVP_PKEY* key) {
  if (X509_sign(cert, key, EVP_sha256()) == 0) throw std::runtime_error("X509_sign failed");
}

void write_pem(const std::string& path, X509* cert, EVP_PKEY* key) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) throw std::runtime_error("cannot write " + path);
  const int ok = cert != nullptr
                     ? PEM_write_X509(f, cert)
                     : PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  if (ok != 1) throw std::runtime_error("PEM write failed for " + path);
}

}  // namespace

pki::pki() {
  std::random_device rd;
  dir_ = std::filesystem::temp_directory_path() /
         ("vitals-pki-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
  std::filesystem::create_directories(dir_);
  ca_.key = new_key();
  ca_.cert = make_cert("vitals test CA", ca_.key.get(), nullptr, nullptr, serial_++,
                       -std::chrono::hours{48}, std::chrono::hours{24 * 3650});
  add_ext(ca_.cert.get(), ca_.cert.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_ext(ca_.cert.get(), ca_.cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  add_ext(ca_.cert.get(), ca_.cert.get(), NID_subject_key_identifier, "hash");
  sign(ca_.cert.get(), ca_.key.get());
  ca_.cert_file = (dir_ / "ca.pem").string();
  ca_.key_file = (dir_ / "ca.key").string();
  write_pem(ca_.cert_file, ca_.cert.get(), nullptr);
  write_pem(ca_.key_file, nullptr, ca_.key.get());
}

pki::~pki() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

credential pki::issue(const std::string& name, const leaf_spec& spec) {
  credential c;
  c.key = new_key();
  X509* issuer = spec.self_signed ? nullptr : ca_.cert.get();
  c.cert = make_cert(spec.common_name, c.key.get(), issuer, nullptr, serial_++, spec.not_before,
                     spec.not_after);
  X509* issuer_for_ext = spec.self_signed ? c.cert.get() : ca_.cert.get();
  add_ext(c.cert.get(), issuer_for_ext, NID_basic_constraints, "critical,CA:FALSE");
  add_ext(c.cert.get(), issuer_for_ext, NID_key_usage, "critical,digitalSignature");
  add_ext(c.cert.get(), issuer_for_ext, NID_ext_key_usage,
          spec.client ? "clientAuth" : "serverAuth");
  if (!spec.alt_names.empty()) {
    std::string san;
    for (const auto& a : spec.alt_names) san.append(san.empty() ? "" : ",").append(a);
    add_ext(c.cert.get(), issuer_for_ext, NID_subject_alt_name, san);
  }
  sign(c.cert.get(), spec.self_signed ? c.key.get() : ca_.key.get());
  c.cert_file = (dir_ / (name + ".pem")).string();
  c.key_file = (dir_ / (name + ".key")).string();
  write_pem(c.cert_file, c.cert.get(), nullptr);
  write_pem(c.key_file, nullptr, c.key.get());
  return c;
}

}  // namespace vitals::testkit
