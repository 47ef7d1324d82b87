/* The signer seam (signer.h) for a CGGMP21 threshold ECDSA key whose shares
 * live on `kashguard mpc-node` processes: every sign is one
 * kg_mpc_coordinator_cggmp_sign (a stored presignature and one round trip,
 * or a presign first), so the chain code that signs with a local key
 * (kg_chain_eth_tx_sign, kg_chain_psbt_sign for P2WPKH, kg_chain_btc_tx_sign)
 * signs with a t-of-n group without knowing it.
 *
 * Schemes: KG_SIG_ECDSA_SECP256K1 with a cggmp21-secp256k1 key and
 * KG_SIG_ECDSA_P256 with a cggmp21-p256 key (32-byte digest -> r || s,
 * low-S; the recovery id for secp256k1, -1 for P-256 as signer.h says).
 * Anything else is KG_ERR_WRONG_KEY_USAGE; a Taproot tweak is refused.
 *
 * ref->path is a BIP32 path below the group key (CGGMP21 keys carry a chain
 * code agreed at keygen): non-hardened indexes only, because a hardened
 * child needs the private key, which no party has (BIP32 CKDpub; SLIP-10 for
 * P-256). The public key of a path is derived here from public values
 * (kg_mpc_cggmp_hd_derive), the signature by the nodes with the same tweak;
 * the coordinator checks the signature against that child key. ref->key is
 * ignored (one key per signer). The signer copies the key record (public
 * values) and borrows co, which must outlive it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kashguard/mpc/cggmp.h"
#include "kashguard/signer.h"
#include "node_int.h"

typedef struct {
    kg_mpc_coordinator *co;
    kg_mpc_key k;
} ecdsa_signer;

static kg_err ref_check(const ecdsa_signer *es, const kg_key_ref *ref, kg_sig_scheme scheme)
{
    const kg_mpc_key *k = &es->k;
    kg_sig_scheme want = k->g == KG_MPC_GROUP_P256 ? KG_SIG_ECDSA_P256 : KG_SIG_ECDSA_SECP256K1;
    if (scheme != want)
        return kg_err_set(KG_ERR_WRONG_KEY_USAGE, "MPC key %s (%s) signs only %s", k->key_id, kg_mpc_key_scheme(k),
                          want == KG_SIG_ECDSA_P256 ? "ECDSA on P-256 (KG_SIG_ECDSA_P256)"
                                                    : "ECDSA on secp256k1 (KG_SIG_ECDSA_SECP256K1)");
    if (!ref) return KG_OK;
    if (ref->taproot)
        return kg_err_set(KG_ERR_BAD_INPUT, "MPC key %s is an ECDSA key: a Taproot tweak needs a frost-secp256k1-tr "
                          "key", k->key_id);
    if (ref->path_len > KG_PATH_MAX)
        return kg_err_set(KG_ERR_BAD_INPUT, "a derivation path has at most %d levels", KG_PATH_MAX);
    for (size_t i = 0; i < ref->path_len; i++)
        if (ref->path[i] & KG_HARDENED)
            return kg_err_set(KG_ERR_BAD_INPUT, "MPC key %s: level %zu of the path is hardened; an MPC key derives "
                              "only non-hardened children (no party holds the private key)", k->key_id, i + 1);
    return KG_OK;
}

/* The (child) public key of ref, compressed SEC1. */
static kg_err child_pub(const ecdsa_signer *es, const kg_key_ref *ref, kg_pubkey *out)
{
    kg_mpc_point pub = es->k.group_public;
    kg_mpc_scalar tweak;
    uint8_t cc[32];
    kg_err err = KG_OK;
    if (ref && ref->path_len)
        err = kg_mpc_cggmp_hd_derive(es->k.g, &es->k.group_public, es->k.chain_code, ref->path, ref->path_len,
                                     &tweak, &pub, cc);
    if (!err) err = kg_mpc_point_serialize(es->k.g, out->data, &pub);
    if (!err) out->len = 33;
    kg_wipe(&tweak, sizeof tweak);
    return err;
}

/* "m/0/5" of ref (ref_check passed). */
static void path_text(char *out, size_t cap, const kg_key_ref *ref)
{
    size_t n = (size_t)snprintf(out, cap, "m");
    for (size_t i = 0; ref && i < ref->path_len && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "/%u", (unsigned)ref->path[i]);
}

static kg_err es_public_key(kg_signer *s, kg_pubkey *out, const kg_key_ref *ref, kg_sig_scheme scheme)
{
    const ecdsa_signer *es = s->impl;
    memset(out, 0, sizeof *out);
    kg_err err = ref_check(es, ref, scheme);
    if (!err) err = child_pub(es, ref, out);
    if (err) memset(out, 0, sizeof *out);
    return err;
}

static kg_err es_sign(kg_signer *s, kg_signature *out, const kg_key_ref *ref, kg_sig_scheme scheme,
                      const uint8_t *msg, size_t msg_len)
{
    ecdsa_signer *es = s->impl;
    char path[KG_PATH_MAX * 12 + 4];
    uint8_t sig[64];
    int recid = -1;
    memset(out, 0, sizeof *out);
    out->recid = -1;
    kg_err err = ref_check(es, ref, scheme);
    if (err) return err;
    if (!msg || msg_len != 32)
        return kg_err_set(KG_ERR_BAD_INPUT, "ECDSA signs a 32-byte digest, not %zu bytes", msg ? msg_len : 0);
    path_text(path, sizeof path, ref);
    err = kg_mpc_coordinator_cggmp_sign(es->co, &es->k, msg, path, sig, &recid, NULL);
    if (err) return err;
    memcpy(out->data, sig, 64);
    out->len = 64;
    out->recid = scheme == KG_SIG_ECDSA_SECP256K1 ? recid : -1;
    return KG_OK;
}

static void es_close(kg_signer *s)
{
    free(s->impl);
    free(s);
}

static const kg_signer_ops ecdsa_signer_ops = {es_public_key, es_sign, es_close};

kg_err kg_mpc_coordinator_ecdsa_signer_new(struct kg_signer **out, kg_mpc_coordinator *co, const kg_mpc_key *k)
{
    *out = NULL;
    if (!co || !k || !k->ecdsa || (k->g != KG_MPC_GROUP_SECP256K1 && k->g != KG_MPC_GROUP_P256) || k->t < 2 ||
        k->t > k->n || k->n > KG_CGGMP_MAX_PARTIES)
        return kg_err_set(KG_ERR_BAD_INPUT, "an MPC ECDSA signer needs a coordinator and a valid CGGMP21 key record");
    kg_signer *s = calloc(1, sizeof *s);
    ecdsa_signer *es = calloc(1, sizeof *es);
    if (!s || !es) {
        free(s), free(es);
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
    es->co = co;
    es->k = *k;
    s->ops = &ecdsa_signer_ops;
    s->impl = es;
    *out = s;
    return KG_OK;
}
