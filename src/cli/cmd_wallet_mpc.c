/* `kashguard wallet address|balance|send|sign-tx|sign-message|
 * sign-typed-data ... --mpc-key KEY`: the self-custody wallet commands
 * signing with a 2-of-3 (t-of-n) CGGMP21 threshold ECDSA key instead of a
 * wallet file. The chain code (eth, btc, cosmos) signs through the kg_signer
 * seam (signer.h) and never learns which signer it has.
 *
 * Two signers:
 *   --ca-dir DIR  standalone: this process coordinates the key's
 *                 `kashguard mpc-node`s from an `mpc ca-init` directory (the
 *                 key record DIR/keys/<id>.json and the address book DIR/nodes,
 *                 as `mpc sign --ca-dir` does) through
 *                 kg_mpc_coordinator_ecdsa_signer_new (src/mpc/coord_signer_ecdsa.c);
 *   (no --ca-dir) the KashGuard server coordinates: GET /v1/mpc/keys/{id}
 *                 gives the public key and its BIP32 chain code, each digest
 *                 is POST /v1/mpc/keys/{id}/sign {"digest","path"} (--addr /
 *                 KASHGUARD_ADDR, KASHGUARD_TOKEN).
 *
 * Paths: no party holds the private key, so only non-hardened BIP32 children
 * exist (CKDpub). The account of --index N is m/0/N on every chain (btc:
 * receive m/0/N, change m/1/N); --path takes any non-hardened path and a
 * hardened level is refused before anything is signed. The public key of a
 * path is derived from public values only: the key's point and chain code.
 *
 * Keys: cggmp21-secp256k1 only (eth, btc P2WPKH/P2SH-P2WPKH/P2PKH, cosmos
 * all use secp256k1 ECDSA). A cggmp21-p256 key, a FROST key, p2tr (BIP340
 * Schnorr) and solana (Ed25519) are refused with what to use instead. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include "cli_int.h"
#include "kashguard/mpc.h"
#include "kashguard/wallet/hd.h"

bool kg_cli_wallet_is_mpc(const kg_cli *cli)
{
    return kg_cli_str(cli, "mpc-key") != NULL;
}

/* A placeholder "wallet" for the chain code: the key id as its name. */
int kg_cli_wallet_mpc_open(kg_cli *cli, kg_wallet_unlocked **w)
{
    const char *key = kg_cli_str(cli, "mpc-key");
    kg_err e;
    *w = NULL;
    if (kg_cli_str(cli, "name"))
        return kg_cli_usage_error(cli, "give --name (a wallet file) or --mpc-key (an MPC key), not both");
    if ((e = kg_mpc_node_key_id_check((const uint8_t *)key, strlen(key))) != KG_OK)
        return kg_cli_usage_error(cli, "--mpc-key: %s", kg_err_detail(e));
    if (!(*w = calloc(1, sizeof **w))) return kg_cli_usage_error(cli, "out of memory");
    (*w)->kind = KG_WALLET_KIND_SEED; /* HD-like for the chain code; no seed: every key use goes to the signer */
    snprintf((*w)->name, sizeof (*w)->name, "%s", key);
    return KG_CLI_OK;
}

/* ------------------------------------------- standalone (--ca-dir) */

/* The coordinator's signer borrows the coordinator: this wrapper owns both. */
typedef struct {
    kg_mpc_coordinator *co;
    kg_signer *inner;
} owner;

static kg_err owner_public(kg_signer *s, kg_pubkey *out, const kg_key_ref *ref, kg_sig_scheme scheme)
{
    owner *o = s->impl;
    return kg_signer_public_key(o->inner, out, ref, scheme);
}

static kg_err owner_sign(kg_signer *s, kg_signature *out, const kg_key_ref *ref, kg_sig_scheme scheme,
                         const uint8_t *msg, size_t msg_len)
{
    owner *o = s->impl;
    return kg_signer_sign(o->inner, out, ref, scheme, msg, msg_len);
}

static void owner_close(kg_signer *s)
{
    owner *o = s->impl;
    kg_signer_close(o->inner);
    kg_mpc_coordinator_free(o->co);
    free(o);
    free(s);
}

static const kg_signer_ops owner_ops = {owner_public, owner_sign, owner_close};

/* cggmp21-secp256k1 or a clear refusal naming what the key is. */
static int scheme_check(kg_cli *cli, const char *key, const char *scheme)
{
    if (!strcmp(scheme, "cggmp21-secp256k1")) return KG_CLI_OK;
    if (!strcmp(scheme, "cggmp21-p256"))
        return kg_cli_usage_error(cli, "MPC key %s is cggmp21-p256 (ECDSA on P-256); the wallet's chains (eth, btc, "
                                  "cosmos) sign with secp256k1: use a cggmp21-secp256k1 key (`kashguard mpc keygen "
                                  "--scheme cggmp21-secp256k1`); nothing was signed", key);
    return kg_cli_usage_error(cli, "MPC key %s is %s (FROST); `wallet --mpc-key` signs with threshold ECDSA keys "
                              "(cggmp21-secp256k1); for FROST keys use `kashguard mpc address|send|psbt`", key, scheme);
}

static int signer_local(kg_cli *cli, kg_signer **out)
{
    uint16_t ids[KG_MPC_FROST_MAX_PARTICIPANTS];
    size_t n = 0;
    kg_mpc_coordinator *co = NULL;
    kg_signer *inner = NULL;
    kg_mpc_key *k = calloc(1, sizeof *k);
    owner *o = calloc(1, sizeof *o);
    kg_signer *s = calloc(1, sizeof *s);
    int rc = KG_CLI_OK;
    kg_err e;
    if (!k || !o || !s) { rc = kg_cli_usage_error(cli, "out of memory"); goto fail; }
    e = kg_mpc_key_file_load(k, kg_cli_str(cli, "ca-dir"), kg_cli_str(cli, "mpc-key"));
    if (e != KG_OK) { rc = kg_cli_local_error(cli, e); goto fail; }
    if ((rc = scheme_check(cli, k->key_id, kg_mpc_key_scheme(k))) != KG_CLI_OK) goto fail;
    if ((rc = local_coordinator(cli, &co, ids, &n)) != KG_CLI_OK) goto fail;
    if ((e = kg_mpc_coordinator_ecdsa_signer_new(&inner, co, k)) != KG_OK) { rc = kg_cli_local_error(cli, e); goto fail; }
    o->co = co;
    o->inner = inner;
    s->ops = &owner_ops;
    s->impl = o;
    *out = s;
    free(k);
    return KG_CLI_OK;
fail:
    kg_signer_close(inner);
    kg_mpc_coordinator_free(co);
    free(k);
    free(o);
    free(s);
    return rc;
}

/* ------------------------------------------------ the server signs */

typedef struct {
    kg_cli *cli;
    char key[KG_MPC_NODE_KEY_ID_MAX + 1];
    kg_wallet_hdkey root; /* public: the group key and its chain code */
} remote;

/* The public BIP32 child of ref (non-hardened: kg_cli_wallet_ref checked). */
static kg_err remote_child(const remote *r, kg_wallet_hdkey *child, const kg_key_ref *ref, kg_sig_scheme scheme)
{
    if (scheme != KG_SIG_ECDSA_SECP256K1)
        return kg_err_set(KG_ERR_WRONG_KEY_USAGE, "MPC key %s signs ECDSA on secp256k1 only", r->key);
    if (ref->taproot)
        return kg_err_set(KG_ERR_BAD_INPUT, "MPC key %s is an ECDSA key: it cannot sign for a Taproot output", r->key);
    return kg_wallet_hd_derive_path(child, &r->root, ref->path, ref->path_len);
}

static kg_err remote_public(kg_signer *s, kg_pubkey *out, const kg_key_ref *ref, kg_sig_scheme scheme)
{
    kg_wallet_hdkey c;
    memset(out, 0, sizeof *out);
    kg_err e = remote_child(s->impl, &c, ref, scheme);
    if (e != KG_OK) return e;
    memcpy(out->data, c.pub, 33);
    out->len = 33;
    return KG_OK;
}

/* {"signature","recovery_id","public_key"} of the server into out; the key must be ours. */
static kg_err remote_answer(const remote *r, kg_signature *out, const json_t *resp, const uint8_t pub[33])
{
    kg_bytes sig = {0}, pk = {0};
    const char *s64 = json_string_value(json_object_get(resp, "signature"));
    const char *p64 = json_string_value(json_object_get(resp, "public_key"));
    json_t *recid = json_object_get(resp, "recovery_id");
    kg_err e = KG_OK;
    if (!s64 || !p64 || !json_is_integer(recid) || kg_b64_decode(&sig, s64) != KG_OK ||
        kg_b64_decode(&pk, p64) != KG_OK || sig.len != 64 || pk.len != 33 || json_integer_value(recid) < 0 ||
        json_integer_value(recid) > 3)
        e = kg_err_set(KG_ERR_BAD_JSON, "the server's answer for MPC key %s is not a 64-byte signature with a "
                       "recovery id and a 33-byte public key", r->key);
    else if (memcmp(pk.data, pub, 33) != 0)
        e = kg_err_set(KG_ERR_VERIFY, "the server signed MPC key %s with another public key than the path's; "
                       "nothing was sent", r->key);
    if (e == KG_OK) {
        memcpy(out->data, sig.data, 64);
        out->len = 64;
        out->recid = (int)json_integer_value(recid);
    }
    kg_bytes_free(&sig);
    kg_bytes_free(&pk);
    return e;
}

static kg_err remote_sign(kg_signer *s, kg_signature *out, const kg_key_ref *ref, kg_sig_scheme scheme,
                          const uint8_t *msg, size_t msg_len)
{
    remote *r = s->impl;
    kg_wallet_hdkey c;
    char d64[64], path[KG_WALLET_PATH_MAX_BYTES] = "m";
    json_t *resp = NULL;
    memset(out, 0, sizeof *out);
    out->recid = -1;
    kg_err e = remote_child(r, &c, ref, scheme);
    if (e != KG_OK) return e;
    if (!msg || msg_len != 32) return kg_err_set(KG_ERR_BAD_INPUT, "ECDSA signs a 32-byte digest");
    if (ref->path_len && kg_wallet_path_format(path, sizeof path, ref->path, ref->path_len, true) != KG_OK)
        return kg_err_set(KG_ERR_BAD_INPUT, "the derivation path is too long");
    kg_b64_encode(d64, msg, 32);
    json_t *body = json_pack("{s:s,s:s}", "digest", d64, "path", path);
    char *p = kg_cli_path("/v1/mpc/keys/", r->key, "/sign");
    int rc = body && p ? kg_cli_call(r->cli, &resp, NULL, "POST", p, body) : KG_CLI_LOCAL;
    json_decref(body);
    free(p);
    if (rc == KG_CLI_OK && resp) e = remote_answer(r, out, resp, c.pub);
    else if (rc == KG_CLI_OK) e = kg_err_set(KG_ERR_BAD_INPUT, "--curl shows one request; the wallet needs its answer");
    else e = kg_err_set(KG_ERR_NETWORK, "the server did not sign with MPC key %s (see above); nothing was sent", r->key);
    json_decref(resp);
    if (e != KG_OK) memset(out, 0, sizeof *out), out->recid = -1;
    return e;
}

static void remote_close(kg_signer *s)
{
    free(s->impl);
    free(s);
}

static const kg_signer_ops remote_ops = {remote_public, remote_sign, remote_close};

/* GET the key document: scheme, public key, chain code. */
static int remote_load(kg_cli *cli, remote *r)
{
    json_t *resp = NULL;
    kg_bytes pub = {0}, cc = {0};
    char *p = kg_cli_path("/v1/mpc/keys/", r->key, "");
    int rc = p ? kg_cli_call(cli, &resp, NULL, "GET", p, NULL) : kg_cli_usage_error(cli, "out of memory");
    free(p);
    if (rc != KG_CLI_OK || !resp) {
        json_decref(resp);
        return rc != KG_CLI_OK ? rc : kg_cli_usage_error(cli, "--curl shows one request; the wallet needs its answer");
    }
    const char *scheme = kg_cli_field(resp, "scheme");
    if ((rc = scheme_check(cli, r->key, scheme)) == KG_CLI_OK) {
        if (kg_b64_decode(&pub, kg_cli_field(resp, "public_key")) != KG_OK || pub.len != 33 ||
            kg_b64_decode(&cc, kg_cli_field(resp, "chain_code")) != KG_OK || cc.len != 32) {
            fprintf(cli->err, "Error: the server's document of MPC key %s has no 33-byte public_key and 32-byte "
                    "chain_code\n", r->key);
            rc = KG_CLI_REMOTE;
        } else {
            r->root.curve = KG_WALLET_CURVE_SECP256K1;
            memcpy(r->root.pub, pub.data, 33);
            memcpy(r->root.chain_code, cc.data, 32);
        }
    }
    kg_bytes_free(&pub);
    kg_bytes_free(&cc);
    json_decref(resp);
    return rc;
}

static int signer_remote(kg_cli *cli, kg_signer **out)
{
    remote *r = calloc(1, sizeof *r);
    kg_signer *s = calloc(1, sizeof *s);
    int rc;
    if (!r || !s) { free(r), free(s); return kg_cli_usage_error(cli, "out of memory"); }
    r->cli = cli;
    snprintf(r->key, sizeof r->key, "%s", kg_cli_str(cli, "mpc-key"));
    if ((rc = remote_load(cli, r)) != KG_CLI_OK) { free(r), free(s); return rc; }
    s->ops = &remote_ops;
    s->impl = r;
    *out = s;
    return KG_CLI_OK;
}

int kg_cli_wallet_mpc_signer(kg_cli *cli, kg_signer **s)
{
    *s = NULL;
    if (!kg_cli_str(cli, "ca-dir")) return signer_remote(cli, s);
    signal(SIGPIPE, SIG_IGN); /* a node that drops a connection is an error, not the end of this process */
    return signer_local(cli, s);
}

/* ------------------------------------------------------------ paths */

int kg_cli_wallet_mpc_ref(kg_cli *cli, kg_key_ref *ref, kg_cli_chain chain, uint32_t purpose)
{
    const char *path = kg_cli_str(cli, "path"), *key = kg_cli_str(cli, "mpc-key");
    unsigned long index = 0;
    memset(ref, 0, sizeof *ref);
    if (chain == KG_CLI_CHAIN_SOLANA)
        return kg_cli_usage_error(cli, "MPC key %s is a threshold ECDSA key; solana signs with Ed25519: use a "
                                  "frost-ed25519 key with `kashguard mpc address|send`", key);
    if (chain == KG_CLI_CHAIN_BTC && purpose == KG_WALLET_PURPOSE_BIP86)
        return kg_cli_usage_error(cli, "MPC key %s is a threshold ECDSA key; p2tr needs BIP340 Schnorr: use "
                                  "--type p2wpkh, or a frost-secp256k1-tr key with `kashguard mpc`", key);
    if (path && kg_cli_str(cli, "index")) return kg_cli_usage_error(cli, "give --index or --path, not both");
    if (kg_cli_uint(cli, &index, "index", 0, 0, KG_HARDENED - 1)) return KG_CLI_LOCAL;
    if (!path) { /* m/0/N */
        ref->path[0] = 0;
        ref->path[1] = (uint32_t)index;
        ref->path_len = 2;
        return KG_CLI_OK;
    }
    kg_err e = kg_wallet_path_parse(ref->path, KG_PATH_MAX, &ref->path_len, path);
    if (e != KG_OK) { memset(ref, 0, sizeof *ref); return kg_cli_usage_error(cli, "--path: %s", kg_err_detail(e)); }
    for (size_t i = 0; i < ref->path_len; i++)
        if (ref->path[i] & KG_HARDENED) {
            memset(ref, 0, sizeof *ref);
            return kg_cli_usage_error(cli, "--path '%.80s': level %zu is hardened; an MPC key derives only "
                                      "non-hardened children (no party holds the private key), e.g. m/0/5; "
                                      "nothing was signed", path, i + 1);
        }
    return KG_CLI_OK;
}

int kg_cli_wallet_sign_error(kg_cli *cli, kg_err e)
{
    if (!kg_cli_wallet_is_mpc(cli) || e == KG_ERR_NOMEM || e == KG_ERR_ARG ||
        ((e == KG_ERR_BAD_INPUT || e == KG_ERR_WRONG_KEY_USAGE) && kg_cli_str(cli, "ca-dir")))
        return kg_cli_local_error(cli, e);
    fprintf(cli->err, "Error: %s\n", kg_err_detail(e)); /* the nodes or the server failed: exit 2 */
    return KG_CLI_REMOTE;
}
