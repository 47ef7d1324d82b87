/* The private CA of the MPC network: create it, issue party certificates,
 * verify a party certificate and read its party id.
 *
 * Why a private CA: the coordinator and the nodes authenticate each other
 * with mutual TLS (net_tls.c), and a peer is identified only by the
 * subjectAltName URI its certificate carries ("kashguard:node:<id>" or
 * "kashguard:coordinator", RFC 5280 §4.2.1.6), never by a DNS name. The CA
 * is the one root both sides trust. Certificates follow RFC 5280 profiles:
 * basicConstraints and keyUsage (§4.2.1.9, §4.2.1.3) critical, a random
 * positive serial of 127 bits (§4.1.2.2), subject/authority key ids.
 *
 * Files are PEM, written 0600 to a temporary file that is fsync'd and then
 * rename(2)d into place, so a crash never leaves half a key; an existing
 * file is refused rather than overwritten. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "net_int.h"

#define CA_DAYS 3650
#define LEAF_DAYS 365

/* ------------------------------------------------------------ files */

/* Write the memory BIO's bytes to path: 0600, temp file + fsync + rename. */
static kg_err write_atomic(const char *path, BIO *mem)
{
    char *data = NULL;
    long n = BIO_get_mem_data(mem, &data);
    char tmp[PATH_MAX];
    if (n <= 0)
        return kg_err_set(KG_ERR_CRYPTO, "could not encode PEM for %s", path);
    if (access(path, F_OK) == 0)
        return kg_err_set(KG_ERR_CONFLICT, "%s already exists; remove it or choose another path", path);
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= sizeof tmp)
        return kg_err_set(KG_ERR_BAD_INPUT, "path too long: %s", path);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return kg_err_set(KG_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
    kg_err err = KG_OK;
    size_t off = 0;
    if (fchmod(fd, 0600) != 0)
        err = kg_err_set(KG_ERR_IO, "cannot chmod %s: %s", tmp, strerror(errno));
    while (err == KG_OK && off < (size_t)n) {
        ssize_t w = write(fd, data + off, (size_t)n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            err = kg_err_set(KG_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
        else
            off += (size_t)w;
    }
    if (err == KG_OK && fsync(fd) != 0)
        err = kg_err_set(KG_ERR_IO, "cannot sync %s: %s", tmp, strerror(errno));
    close(fd);
    /* link(2) instead of rename(2): fails if path appeared meanwhile. */
    if (err == KG_OK && link(tmp, path) != 0)
        err = kg_err_set(errno == EEXIST ? KG_ERR_CONFLICT : KG_ERR_IO, "cannot create %s: %s", path,
                         strerror(errno));
    unlink(tmp);
    return err;
}

static kg_err write_key(const char *path, EVP_PKEY *key)
{
    BIO *mem = BIO_new(BIO_s_mem());
    if (mem == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    kg_err err = KG_OK;
    if (PEM_write_bio_PrivateKey(mem, key, NULL, NULL, 0, NULL, NULL) != 1)
        err = kg_err_set(KG_ERR_CRYPTO, "could not encode the private key");
    else
        err = write_atomic(path, mem);
    char *pem = NULL;
    long n = BIO_get_mem_data(mem, &pem);
    if (n > 0)
        OPENSSL_cleanse(pem, (size_t)n); /* the PEM held the private key */
    BIO_free(mem);
    return err;
}

static kg_err write_cert(const char *path, X509 *cert)
{
    BIO *mem = BIO_new(BIO_s_mem());
    if (mem == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    kg_err err = KG_OK;
    if (PEM_write_bio_X509(mem, cert) != 1)
        err = kg_err_set(KG_ERR_CRYPTO, "could not encode the certificate");
    else
        err = write_atomic(path, mem);
    BIO_free(mem);
    return err;
}

static X509 *read_cert(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    return x;
}

static EVP_PKEY *read_key(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    return k;
}

/* ------------------------------------------------------- party ids */

kg_err kg_mpc_net_uri_parse(uint32_t *party, const char *uri, size_t len)
{
    static const char coord[] = "kashguard:coordinator";
    static const char node[] = "kashguard:node:";
    KG_ARG_CHECK(party != NULL);
    *party = 0;
    if (uri == NULL)
        return kg_err_set(KG_ERR_BAD_INPUT, "no party URI");
    if (len == sizeof coord - 1 && memcmp(uri, coord, len) == 0)
        return KG_OK;
    size_t p = sizeof node - 1;
    if (len <= p || len > p + 5 || memcmp(uri, node, p) != 0 || uri[p] == '0')
        return kg_err_set(KG_ERR_BAD_INPUT, "certificate URI is not kashguard:node:<1..65535> "
                                            "or kashguard:coordinator");
    uint32_t v = 0;
    for (size_t i = p; i < len; i++) {
        if (uri[i] < '0' || uri[i] > '9')
            return kg_err_set(KG_ERR_BAD_INPUT, "party id in certificate URI is not decimal");
        v = v * 10 + (uint32_t)(uri[i] - '0');
    }
    if (v > KG_MPC_NET_PARTY_MAX)
        return kg_err_set(KG_ERR_BAD_INPUT, "party id %u in certificate URI is above 65535", v);
    *party = v;
    return KG_OK;
}

kg_err kg_mpc_net_x509_party(uint32_t *party, X509 *cert)
{
    KG_ARG_CHECK(party != NULL && cert != NULL);
    *party = 0;
    int crit = 0;
    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
    if (names == NULL)
        return kg_err_set(KG_ERR_BAD_INPUT, crit == -2 ? "certificate has several subjectAltName extensions"
                                                      : "certificate has no subjectAltName");
    kg_err err = KG_OK;
    if (sk_GENERAL_NAME_num(names) != 1) {
        err = kg_err_set(KG_ERR_BAD_INPUT, "certificate subjectAltName must hold exactly one kashguard URI");
    } else {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, 0);
        if (gn->type != GEN_URI)
            err = kg_err_set(KG_ERR_BAD_INPUT, "certificate subjectAltName is not a URI");
        else
            err = kg_mpc_net_uri_parse(party, (const char *)ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier),
                                       (size_t)ASN1_STRING_length(gn->d.uniformResourceIdentifier));
    }
    GENERAL_NAMES_free(names);
    return err;
}

/* ------------------------------------------------------- issuing */

static EVP_PKEY *p256_new(void)
{
    return EVP_EC_gen("P-256");
}

static bool is_p256(EVP_PKEY *k)
{
    char group[64];
    size_t len = 0;
    return EVP_PKEY_is_a(k, "EC")
        && EVP_PKEY_get_group_name(k, group, sizeof group, &len) == 1
        && strcmp(group, "prime256v1") == 0;
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext == NULL)
        return 0;
    int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

/* Fill version, serial, validity, subject, issuer name and public key. */
static int cert_base(X509 *cert, const char *cn, X509 *issuer, EVP_PKEY *pub, int days)
{
    BIGNUM *bn = BN_new();
    int ok = bn != NULL && BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1
        && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL;
    BN_free(bn);
    X509_NAME *name = X509_get_subject_name(cert);
    ok = ok && X509_set_version(cert, X509_VERSION_3) == 1
        && X509_gmtime_adj(X509_getm_notBefore(cert), -300) != NULL /* clock skew */
        && X509_time_adj_ex(X509_getm_notAfter(cert), days, 0, NULL) != NULL
        && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0) == 1
        && X509_set_issuer_name(cert, X509_get_subject_name(issuer ? issuer : cert)) == 1
        && X509_set_pubkey(cert, pub) == 1;
    return ok;
}

kg_err kg_mpc_net_ca_create(const char *ca_cert_path, const char *ca_key_path)
{
    KG_ARG_CHECK(ca_cert_path != NULL && ca_key_path != NULL);
    if (access(ca_cert_path, F_OK) == 0 || access(ca_key_path, F_OK) == 0)
        return kg_err_set(KG_ERR_CONFLICT, "CA files %s / %s already exist; refusing to replace a CA",
                          ca_cert_path, ca_key_path);
    EVP_PKEY *key = p256_new();
    X509 *cert = X509_new();
    kg_err err = KG_OK;
    if (key == NULL || cert == NULL
        || !cert_base(cert, "KashGuard MPC CA", NULL, key, CA_DAYS)
        || !add_ext(cert, cert, NID_basic_constraints, "critical,CA:TRUE,pathlen:0")
        || !add_ext(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign")
        || !add_ext(cert, cert, NID_subject_key_identifier, "hash")
        || !add_ext(cert, cert, NID_authority_key_identifier, "keyid:always")
        || X509_sign(cert, key, EVP_sha256()) <= 0)
        err = kg_err_set(KG_ERR_CRYPTO, "could not create the CA certificate");
    if (err == KG_OK)
        err = write_key(ca_key_path, key);
    if (err == KG_OK) {
        err = write_cert(ca_cert_path, cert);
        if (err != KG_OK)
            unlink(ca_key_path);
    }
    ERR_clear_error();
    X509_free(cert);
    EVP_PKEY_free(key);
    return err;
}

static kg_err party_names(char *cn, size_t cn_len, char *san, size_t san_len, uint32_t party)
{
    if (party > KG_MPC_NET_PARTY_MAX)
        return kg_err_set(KG_ERR_BAD_INPUT, "party id %u is out of range (0 = coordinator, 1..65535)", party);
    if (party == KG_MPC_NET_COORDINATOR) {
        snprintf(cn, cn_len, "kashguard-coordinator");
        snprintf(san, san_len, "URI:kashguard:coordinator");
    } else {
        snprintf(cn, cn_len, "kashguard-node-%u", party);
        snprintf(san, san_len, "URI:kashguard:node:%u", party);
    }
    return KG_OK;
}

kg_err kg_mpc_net_csr_create(const char *key_path, const char *csr_path, uint32_t party)
{
    KG_ARG_CHECK(key_path != NULL && csr_path != NULL);
    char cn[64], san[64];
    kg_err err = party_names(cn, sizeof cn, san, sizeof san, party);
    if (err != KG_OK)
        return err;
    if (access(key_path, F_OK) == 0 || access(csr_path, F_OK) == 0)
        return kg_err_set(KG_ERR_CONFLICT, "%s or %s already exists", key_path, csr_path);
    EVP_PKEY *key = p256_new();
    X509_REQ *req = X509_REQ_new();
    BIO *mem = BIO_new(BIO_s_mem());
    if (key == NULL || req == NULL || mem == NULL
        || X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN", MBSTRING_UTF8,
                                      (const unsigned char *)cn, -1, -1, 0) != 1
        || X509_REQ_set_pubkey(req, key) != 1 || X509_REQ_sign(req, key, EVP_sha256()) <= 0
        || PEM_write_bio_X509_REQ(mem, req) != 1)
        err = kg_err_set(KG_ERR_CRYPTO, "could not create the certificate request");
    if (err == KG_OK)
        err = write_key(key_path, key);
    if (err == KG_OK) {
        err = write_atomic(csr_path, mem);
        if (err != KG_OK)
            unlink(key_path);
    }
    ERR_clear_error();
    BIO_free(mem);
    X509_REQ_free(req);
    EVP_PKEY_free(key);
    return err;
}

/* The public key of the CSR at path after checking its self-signature. */
static kg_err csr_key(EVP_PKEY **out, const char *path)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return kg_err_set(KG_ERR_BAD_INPUT, "cannot read the CSR %s: %s", path, strerror(errno));
    X509_REQ *req = PEM_read_X509_REQ(f, NULL, NULL, NULL);
    fclose(f);
    EVP_PKEY *pub = req ? X509_REQ_get_pubkey(req) : NULL;
    kg_err err = KG_OK;
    if (pub == NULL || X509_REQ_verify(req, pub) != 1)
        err = kg_err_set(KG_ERR_BAD_INPUT, "%s is not a validly signed PEM certificate request", path);
    else if (!is_p256(pub))
        err = kg_err_set(KG_ERR_BAD_INPUT, "the key in %s is not a P-256 key", path);
    X509_REQ_free(req);
    if (err != KG_OK)
        EVP_PKEY_free(pub);
    else
        *out = pub;
    ERR_clear_error();
    return err;
}

static kg_err sign_leaf(X509 *cert, X509 *ca, EVP_PKEY *ca_key, EVP_PKEY *pub, uint32_t party)
{
    char cn[64], san[64];
    kg_err err = party_names(cn, sizeof cn, san, sizeof san, party);
    if (err != KG_OK)
        return err;
    if (!cert_base(cert, cn, ca, pub, LEAF_DAYS)
        || !add_ext(cert, ca, NID_basic_constraints, "critical,CA:FALSE")
        || !add_ext(cert, ca, NID_key_usage, "critical,digitalSignature")
        || !add_ext(cert, ca, NID_ext_key_usage, "clientAuth,serverAuth")
        || !add_ext(cert, ca, NID_subject_alt_name, san)
        || !add_ext(cert, ca, NID_subject_key_identifier, "hash")
        || !add_ext(cert, ca, NID_authority_key_identifier, "keyid:always")
        || X509_sign(cert, ca_key, EVP_sha256()) <= 0)
        return kg_err_set(KG_ERR_CRYPTO, "could not sign the party certificate");
    return KG_OK;
}

kg_err kg_mpc_net_cert_issue(const char *cert_path, const char *key_path, const char *ca_cert_path,
                             const char *ca_key_path, uint32_t party, const char *csr_path)
{
    KG_ARG_CHECK(cert_path != NULL && ca_cert_path != NULL && ca_key_path != NULL);
    KG_ARG_CHECK(csr_path != NULL || key_path != NULL);
    if (party > KG_MPC_NET_PARTY_MAX)
        return kg_err_set(KG_ERR_BAD_INPUT, "party id %u is out of range (0 = coordinator, 1..65535)", party);
    if (access(cert_path, F_OK) == 0 || (csr_path == NULL && access(key_path, F_OK) == 0))
        return kg_err_set(KG_ERR_CONFLICT, "%s or its key already exists", cert_path);
    X509 *ca = read_cert(ca_cert_path);
    EVP_PKEY *ca_key = read_key(ca_key_path);
    EVP_PKEY *pub = NULL;
    X509 *cert = NULL;
    kg_err err = KG_OK;
    if (ca == NULL || ca_key == NULL || X509_check_private_key(ca, ca_key) != 1)
        err = kg_err_set(KG_ERR_BAD_INPUT, "cannot use the CA %s / %s (missing, not PEM, or key mismatch)",
                         ca_cert_path, ca_key_path);
    else if (csr_path != NULL)
        err = csr_key(&pub, csr_path);
    else if ((pub = p256_new()) == NULL)
        err = kg_err_set(KG_ERR_CRYPTO, "could not generate a P-256 key");
    if (err == KG_OK && (cert = X509_new()) == NULL)
        err = kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (err == KG_OK)
        err = sign_leaf(cert, ca, ca_key, pub, party);
    bool wrote_key = false;
    if (err == KG_OK && csr_path == NULL) {
        err = write_key(key_path, pub);
        wrote_key = err == KG_OK;
    }
    if (err == KG_OK)
        err = write_cert(cert_path, cert);
    if (err != KG_OK && wrote_key)
        unlink(key_path);
    ERR_clear_error();
    X509_free(cert);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(ca_key);
    X509_free(ca);
    return err;
}

/* ------------------------------------------------------- verifying */

kg_err kg_mpc_net_cert_verify(uint32_t *party, const char *ca_cert_path, const char *cert_path)
{
    KG_ARG_CHECK(party != NULL && ca_cert_path != NULL && cert_path != NULL);
    *party = 0;
    X509 *ca = read_cert(ca_cert_path);
    X509 *cert = read_cert(cert_path);
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    kg_err err = KG_OK;
    uint32_t id = 0;
    if (ca == NULL || cert == NULL)
        err = kg_err_set(KG_ERR_BAD_INPUT, "cannot read %s as a PEM certificate",
                         ca == NULL ? ca_cert_path : cert_path);
    else if (store == NULL || ctx == NULL || X509_STORE_add_cert(store, ca) != 1
             || X509_STORE_CTX_init(ctx, store, cert, NULL) != 1)
        err = kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (err == KG_OK) {
        X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_X509_STRICT);
        X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
        if (X509_verify_cert(ctx) != 1)
            err = kg_err_set(KG_ERR_UNAUTHENTICATED, "%s does not verify against the CA %s: %s", cert_path,
                             ca_cert_path, X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
        else if (X509_check_ca(cert) != 0)
            err = kg_err_set(KG_ERR_UNAUTHENTICATED, "%s is a CA certificate, not a party's", cert_path);
    }
    if (err == KG_OK)
        err = kg_mpc_net_x509_party(&id, cert);
    if (err == KG_OK)
        *party = id;
    ERR_clear_error();
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    X509_free(cert);
    X509_free(ca);
    return err;
}
