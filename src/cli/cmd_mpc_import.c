/* `kashguard mpc import`: bring an existing private key into a t-of-n FROST
 * group of MPC nodes. This command is the trusted dealer of RFC 9591
 * Appendix C: it reads the key (PEM or DER: PKCS#8 as `openssl genpkey`
 * writes, or SEC1 "EC PRIVATE KEY" as `openssl ecparam -genkey` does),
 * splits it, seals every share to its node's X25519 envelope key
 * (kg_mpc_import_deal) and wipes the key and the shares. The coordinator
 * (this process with --ca-dir, else the server through POST
 * /v1/mpc/keys/import) only relays sealed shares and public commitments.
 *
 * Keys: Ed25519 (frost-ed25519): the FROST secret is the RFC 8032 signing
 * scalar s = clamp(SHA-512(seed)[0..32]) mod L, so s*B is the original
 * public key and FROST(Ed25519, SHA-512) signatures verify under it
 * unchanged. secp256k1 (frost-secp256k1, frost-secp256k1-tr) and P-256
 * (frost-p256): the scalar itself. For frost-secp256k1-tr the key is kept
 * as it is: BIP 445 signing handles an odd-y group key (it negates the
 * shares when signing), and the key's x-only form is the original's.
 * After the import the group key is compared with the original public key
 * (computed by OpenSSL), so a coordinator that swapped the dealer key or
 * the shares cannot go unnoticed. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include "kashguard/crypto.h"
#include "kashguard/mpc.h"
#include "cli_int.h"

#define MAXP KG_MPC_FROST_MAX_PARTICIPANTS
#define OPT_END {NULL, 0, NULL, false, NULL}

const kg_cli_opt kg_opts_mpc_import[] = {
    {"ca-dir", KG_OPT_STR, "<dir>", false,
     "Standalone: the coordinator directory made by `mpc ca-init`. Without it the server is asked."},
    {"key-file", KG_OPT_STR, "<file>", true, "The private key, PEM or DER (PKCS#8, or SEC1 for EC keys)."},
    {"parties", KG_OPT_STR, "<id,id,...>", true, "The node ids that get a share, e.g. 1,2,3."},
    {"threshold", KG_OPT_STR, "<t>", true, "How many nodes must take part in a signature (2..parties)."},
    {"scheme", KG_OPT_STR, "<name>", false,
     "frost-ed25519 (the default), frost-secp256k1, frost-secp256k1-tr or frost-p256."},
    {"nodes", KG_OPT_STR, "<id@host:port,...>", false, "With --ca-dir: new node addresses (saved)."},
    {"request-out", KG_OPT_STR, "<file>", false,
     "Without --ca-dir: write the POST /v1/mpc/keys/import body (sealed shares, no secret) to <file> instead of "
     "sending it."},
    {"json", KG_OPT_BOOL, NULL, false, "Print a JSON object."},
    OPT_END,
};

static int no_pass(char *buf, int size, int rw, void *u)
{
    (void)buf, (void)size, (void)rw, (void)u;
    return -1; /* encrypted keys are not supported: decrypt with openssl first */
}

static EVP_PKEY *parse_key(const kg_bytes *b)
{
    BIO *bio = BIO_new_mem_buf(b->data, (int)b->len);
    EVP_PKEY *pk = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_pass, NULL) : NULL;
    BIO_free(bio);
    if (!pk) {
        const unsigned char *p = b->data;
        pk = d2i_AutoPrivateKey(NULL, &p, (long)b->len);
    }
    ERR_clear_error();
    return pk;
}

/* Ed25519: the RFC 8032 signing scalar of the seed; pub = the raw public key. */
static kg_err ed25519_secret(kg_mpc_scalar *out, uint8_t *pub, size_t *pub_len, EVP_PKEY *pk)
{
    uint8_t seed[32], h[KG_SHA512_BYTES];
    size_t sl = sizeof seed, pl = 32;
    kg_err err = KG_OK;
    if (EVP_PKEY_get_raw_private_key(pk, seed, &sl) != 1 || sl != 32 || EVP_PKEY_get_raw_public_key(pk, pub, &pl) != 1)
        err = kg_err_set(KG_ERR_BAD_INPUT, "cannot read the Ed25519 key");
    if (!err) {
        kg_crypto_sha512(h, seed, sizeof seed);
        h[0] &= 248, h[31] &= 127, h[31] |= 64; /* RFC 8032 §5.1.5 */
        kg_mpc_scalar_reduce(KG_MPC_GROUP_ED25519, out, h, 32);
        *pub_len = 32;
    }
    kg_wipe(seed, sizeof seed);
    kg_wipe(h, sizeof h);
    ERR_clear_error();
    return err;
}

/* EC: the scalar, and the compressed SEC1 public key from OpenSSL. */
static kg_err ec_secret(kg_mpc_scalar *out, uint8_t *pub, size_t *pub_len, EVP_PKEY *pk, kg_mpc_group_id g)
{
    char name[64] = "";
    size_t nl = 0;
    BIGNUM *bn = NULL;
    uint8_t d[32];
    kg_err err = KG_OK;
    const char *want = g == KG_MPC_GROUP_SECP256K1 ? "secp256k1" : "prime256v1";
    if (EVP_PKEY_get_group_name(pk, name, sizeof name, &nl) != 1 || strcmp(name, want))
        err = kg_err_set(KG_ERR_BAD_INPUT, "the key is on curve '%s'; this scheme needs %s", name, want);
    if (!err && (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_PRIV_KEY, &bn) != 1 || BN_bn2binpad(bn, d, 32) != 32))
        err = kg_err_set(KG_ERR_BAD_INPUT, "cannot read the EC private key");
    BN_clear_free(bn);
    if (!err && kg_mpc_scalar_from_bytes(g, out, d, sizeof d))
        err = kg_err_set(KG_ERR_BAD_INPUT, "the EC private key is out of range");
    uint8_t raw[65];
    size_t rl = 0;
    if (!err && (EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, raw, sizeof raw, &rl) != 1 ||
                 !((rl == 65 && raw[0] == 4) || (rl == 33 && (raw[0] == 2 || raw[0] == 3)))))
        err = kg_err_set(KG_ERR_BAD_INPUT, "the EC key file has no public key (add it with `openssl ec`)");
    if (!err) { /* SEC1 compressed: 02/03 by the parity of y, then x */
        pub[0] = rl == 65 ? (uint8_t)(2 | (raw[64] & 1)) : raw[0];
        memcpy(pub + 1, raw + 1, 32);
        *pub_len = 33;
    }
    kg_wipe(d, sizeof d);
    ERR_clear_error();
    return err;
}

/* The FROST secret of --key-file for group g and the public key the
 * imported group must have (as kg_mpc_key_public shows it). */
static kg_err read_secret(kg_mpc_scalar *out, uint8_t *pub, size_t *pub_len, kg_mpc_group_id g, bool taproot,
                          const char *path)
{
    kg_bytes b = {0};
    kg_err err = kg_cli_read_file(&b, path, 64 * 1024);
    if (err) return err;
    EVP_PKEY *pk = parse_key(&b);
    kg_wipe(b.data, b.len);
    kg_bytes_free(&b);
    if (!pk) return kg_err_set(KG_ERR_BAD_INPUT, "%s is not an unencrypted private key in PEM or DER", path);
    int id = EVP_PKEY_get_base_id(pk);
    if (g == KG_MPC_GROUP_ED25519 && id == EVP_PKEY_ED25519) err = ed25519_secret(out, pub, pub_len, pk);
    else if ((g == KG_MPC_GROUP_SECP256K1 || g == KG_MPC_GROUP_P256) && id == EVP_PKEY_EC) err = ec_secret(out, pub, pub_len, pk, g);
    else err = kg_err_set(KG_ERR_BAD_INPUT, "%s is not a key of this scheme (Ed25519 for frost-ed25519, EC secp256k1 "
                          "for frost-secp256k1[-tr], EC P-256 for frost-p256)", path);
    EVP_PKEY_free(pk);
    if (!err && taproot) { /* x-only */
        memmove(pub, pub + 1, 32);
        *pub_len = 32;
    }
    if (err) kg_wipe(out, sizeof *out);
    return err;
}

static int cmp_u16(const void *a, const void *b)
{
    return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

/* --parties "1,2,3" -> ascending distinct ids 1..255. */
static int parse_parties(kg_cli *cli, uint16_t *ids, size_t *n, const char *spec)
{
    *n = 0;
    for (const char *p = spec; *p;) {
        char *end = NULL;
        unsigned long v = strtoul(p, &end, 10);
        if (end == p || v == 0 || v > MAXP || *n >= MAXP || (*end && *end != ','))
            return kg_cli_usage_error(cli, "--parties must be node ids 1..255 separated by commas, not '%s'", spec);
        ids[(*n)++] = (uint16_t)v;
        p = *end ? end + 1 : end;
    }
    qsort(ids, *n, sizeof *ids, cmp_u16);
    for (size_t i = 1; i < *n; i++)
        if (ids[i] == ids[i - 1]) return kg_cli_usage_error(cli, "--parties names node %u twice", ids[i]);
    return *n >= 2 ? KG_CLI_OK : kg_cli_usage_error(cli, "--parties needs at least 2 node ids");
}

typedef struct {
    kg_mpc_group_id g;
    bool taproot;
    unsigned t;
    uint16_t ids[MAXP];
    size_t n;
    kg_mpc_net_pubkeys keys[MAXP];
    kg_bytes sealed[MAXP];
    kg_mpc_point vss[MAXP];
    uint8_t dealer_box[32];
    uint8_t want[KG_MPC_POINT_MAX_BYTES];
    size_t want_len;
} import_job;

/* Envelope keys of the parties from GET /v1/mpc/nodes. */
static int rest_keys(kg_cli *cli, import_job *j)
{
    json_t *resp = NULL;
    int rc = kg_cli_call(cli, &resp, NULL, "GET", "/v1/mpc/nodes", NULL);
    if (rc) return rc;
    const json_t *arr = json_object_get(resp, "nodes");
    for (size_t i = 0; i < j->n && rc == KG_CLI_OK; i++) {
        kg_bytes b = {0};
        const char *ep = NULL;
        for (size_t k = 0; k < json_array_size(arr); k++) {
            const json_t *e = json_array_get(arr, k);
            if (json_integer_value(json_object_get(e, "id")) == j->ids[i]) ep = json_string_value(json_object_get(e, "envelope_public"));
        }
        if (!ep || kg_b64_decode(&b, ep) || b.len != 64)
            rc = kg_cli_usage_error(cli, "node %u is not a node of this server (or the server does not publish its "
                                    "envelope key); see `kashguard mpc status`", j->ids[i]);
        else memcpy(j->keys[i].box, b.data, 32), memcpy(j->keys[i].sign, b.data + 32, 32);
        kg_bytes_free(&b);
    }
    json_decref(resp);
    return rc;
}

static json_t *b64_json(const uint8_t *p, size_t len)
{
    char *s = malloc(kg_b64_encoded_len(len));
    if (!s) return NULL;
    kg_b64_encode(s, p, len);
    json_t *o = json_string(s);
    free(s);
    return o;
}

/* POST /v1/mpc/keys/import; *resp is the key document. */
static int rest_import(kg_cli *cli, json_t **resp, const import_job *j, const char *scheme)
{
    json_t *parties = json_array(), *com = json_array(), *shares = json_object();
    uint8_t pt[KG_MPC_POINT_MAX_BYTES];
    for (size_t i = 0; parties && shares && i < j->n; i++) {
        char id[8];
        snprintf(id, sizeof id, "%u", j->ids[i]);
        json_array_append_new(parties, json_integer(j->ids[i]));
        json_object_set_new(shares, id, b64_json(j->sealed[i].data, j->sealed[i].len));
    }
    for (unsigned k = 0; com && k < j->t; k++)
        if (kg_mpc_point_serialize(j->g, pt, &j->vss[k]) == KG_OK)
            json_array_append_new(com, b64_json(pt, kg_mpc_group_point_len(j->g)));
    json_t *body = parties && com && shares
                       ? json_pack("{s:s, s:i, s:o, s:o, s:o, s:o}", "scheme", scheme, "threshold", (int)j->t, "parties",
                                   parties, "commitments", com, "dealer_public", b64_json(j->dealer_box, 32), "shares", shares)
                       : NULL;
    if (!body) return kg_cli_usage_error(cli, "out of memory");
    const char *req_out = kg_cli_str(cli, "request-out");
    if (req_out) {
        int bad = json_dump_file(body, req_out, JSON_COMPACT);
        json_decref(body);
        if (bad) return kg_cli_usage_error(cli, "cannot write %s", req_out);
        fprintf(cli->out, "request written to %s\n", req_out);
        return KG_CLI_OK;
    }
    int rc = kg_cli_call(cli, resp, NULL, "POST", "/v1/mpc/keys/import", body);
    json_decref(body);
    return rc;
}

static int print_result(kg_cli *cli, const char *key_id, const import_job *j, const char *scheme)
{
    char b64[64];
    kg_b64_encode(b64, j->want, j->want_len);
    if (kg_cli_bool(cli, "json") || cli->json) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:i, s:i}", "key_id", key_id, "public_key", b64, "scheme", scheme,
                              "threshold", (int)j->t, "n", (int)j->n, "epoch", 0);
        kg_cli_print_json(cli->out, o);
        json_decref(o);
    } else {
        fprintf(cli->out, "key_id      %s\npublic_key  %s\n", key_id, b64);
    }
    return KG_CLI_OK;
}

/* Standalone: this process relays (kg_mpc_coordinator_import) and keeps the record. */
static int local_import(kg_cli *cli, import_job *j, kg_mpc_coordinator *co, const char *scheme)
{
    kg_mpc_key *k = calloc(1, sizeof *k);
    uint8_t pub[KG_MPC_POINT_MAX_BYTES];
    size_t pub_len = 0;
    kg_err err = k ? kg_mpc_coordinator_import(co, k, j->g, j->taproot, j->t, j->ids, j->n, j->vss, j->dealer_box, j->sealed)
                   : kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (!err) err = kg_mpc_key_public(pub, &pub_len, k);
    if (!err && (pub_len != j->want_len || memcmp(pub, j->want, pub_len)))
        err = kg_err_set(KG_ERR_VERIFY, "the imported group key differs from the key file's public key");
    if (!err) err = kg_mpc_key_file_save(kg_cli_str(cli, "ca-dir"), k);
    int rc = err ? kg_cli_local_error(cli, err) : print_result(cli, k->key_id, j, scheme);
    free(k);
    return rc;
}

int kg_cmd_mpc_import(kg_cli *cli)
{
    const char *scheme = kg_cli_str(cli, "scheme") ? kg_cli_str(cli, "scheme") : "frost-ed25519";
    unsigned long t = 0;
    kg_mpc_coordinator *co = NULL;
    uint16_t tmp[MAXP];
    size_t tn = 0;
    signal(SIGPIPE, SIG_IGN);
    import_job *j = calloc(1, sizeof *j);
    if (!j) return kg_cli_usage_error(cli, "out of memory");
    kg_err err = kg_mpc_key_scheme_parse(&j->g, &j->taproot, scheme);
    int rc = err ? kg_cli_local_error(cli, err) : KG_CLI_OK;
    if (!rc && j->g == KG_MPC_GROUP_RISTRETTO255) rc = kg_cli_usage_error(cli, "frost-ristretto255 keys have no file format to import");
    if (!rc) rc = parse_parties(cli, j->ids, &j->n, kg_cli_str(cli, "parties"));
    if (!rc) rc = kg_cli_uint(cli, &t, "threshold", 0, 2, MAXP);
    if (!rc && t > j->n) rc = kg_cli_usage_error(cli, "--threshold %lu is more than the %zu parties", t, j->n);
    if (!rc && kg_cli_str(cli, "nodes") && !kg_cli_str(cli, "ca-dir")) rc = kg_cli_usage_error(cli, "--nodes needs --ca-dir");
    j->t = (unsigned)t;
    if (!rc && kg_cli_str(cli, "ca-dir")) rc = local_coordinator(cli, &co, tmp, &tn);
    for (size_t i = 0; !rc && co && i < j->n; i++)
        if ((err = kg_mpc_coordinator_node_keys(&j->keys[i], co, j->ids[i]))) rc = kg_cli_local_error(cli, err);
    if (!rc && !co) rc = rest_keys(cli, j);
    kg_mpc_scalar *sk = NULL;
    kg_secret *ss = rc ? NULL : kg_secret_new(sizeof *sk);
    if (!rc && !ss) rc = kg_cli_usage_error(cli, "out of memory");
    if (!rc) sk = (kg_mpc_scalar *)kg_secret_data(ss);
    if (!rc && (err = read_secret(sk, j->want, &j->want_len, j->g, j->taproot, kg_cli_str(cli, "key-file"))))
        rc = kg_cli_local_error(cli, err);
    if (!rc && (err = kg_mpc_import_deal(j->sealed, j->vss, j->dealer_box, j->g, j->t, j->ids, j->n, j->keys, sk)))
        rc = kg_cli_local_error(cli, err);
    kg_secret_free(ss); /* the key and the shares are gone from here on */
    if (!rc && co) rc = local_import(cli, j, co, scheme);
    else if (!rc) {
        json_t *resp = NULL;
        rc = rest_import(cli, &resp, j, scheme);
        if (!rc && !resp) goto done; /* --request-out */
        const char *pk = rc ? NULL : kg_cli_field(resp, "public_key");
        kg_bytes got = {0};
        if (!rc && (!pk || kg_b64_decode(&got, pk) || got.len != j->want_len || memcmp(got.data, j->want, got.len)))
            rc = kg_cli_usage_error(cli, "the server's imported key %s has another public key than the key file: do "
                                    "not use it", kg_cli_field(resp, "key_id"));
        if (!rc) rc = print_result(cli, kg_cli_field(resp, "key_id"), j, scheme);
        kg_bytes_free(&got);
        json_decref(resp);
    }
done:
    for (size_t i = 0; i < j->n; i++) kg_bytes_free(&j->sealed[i]);
    kg_mpc_coordinator_free(co);
    free(j);
    return rc;
}
