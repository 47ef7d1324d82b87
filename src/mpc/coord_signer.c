/* The signer seam (signer.h) for a FROST key whose shares live on
 * `kashguard mpc-node` processes: the networked twin of frost_signer.c.
 * Every sign is one kg_mpc_coordinator_sign session (two rounds across
 * the key's nodes, every share checked by the coordinator), so wallet code
 * (kg_chain_btc_tx_sign, kg_chain_psbt_sign, Solana transfers) signs with a
 * threshold group without knowing it.
 *
 * Schemes:
 *   KG_SIG_ED25519 with a frost-ed25519 key: RFC 9591 §5, a plain RFC 8032
 *     signature of the message under the 32-byte group key (Solana).
 *   KG_SIG_BIP340 with a frost-secp256k1-tr key: BIP 445, a BIP340
 *     signature of the 32-byte digest under the x-only group key, or under
 *     the BIP341 output key when ref->taproot (merkle_root, or BIP86 when
 *     NULL): the Taproot key path.
 *   Every other pair is KG_ERR_WRONG_KEY_USAGE (no FROST suite makes ECDSA;
 *   RFC 9591 secp256k1/P-256 signatures are no chain's format).
 * Derivation paths are refused: the group key is not derived. ref->key is
 * ignored (the signer holds one key, as frost_signer.c). The signer keeps a copy of the key record
 * (public values only) and borrows co, which must outlive it. */
#include <stdlib.h>
#include <string.h>
#include "kashguard/mpc/frost_tr.h"
#include "kashguard/signer.h"
#include "node_int.h"

typedef struct {
    kg_mpc_coordinator *co;
    kg_mpc_key k;
} co_signer;

static kg_err ref_check(const co_signer *cs, const kg_key_ref *ref, kg_sig_scheme scheme)
{
    const kg_mpc_key *k = &cs->k;
    if (ref && ref->path_len)
        return kg_err_set(KG_ERR_BAD_INPUT, "an MPC group key has no derivation path; use an empty path");
    if (scheme == KG_SIG_ED25519 && k->g == KG_MPC_GROUP_ED25519) {
        if (ref && ref->taproot)
            return kg_err_set(KG_ERR_BAD_INPUT, "a Taproot tweak applies only to BIP340 keys");
        return KG_OK;
    }
    if (scheme == KG_SIG_BIP340 && k->taproot) return KG_OK;
    if (scheme == KG_SIG_BIP340)
        return kg_err_set(KG_ERR_WRONG_KEY_USAGE, "MPC key %s (%s) does not make BIP340 signatures; "
                          "use a frost-secp256k1-tr key", k->key_id, kg_mpc_key_scheme(k));
    return kg_err_set(KG_ERR_WRONG_KEY_USAGE, "MPC key %s (%s) signs only %s", k->key_id, kg_mpc_key_scheme(k),
                      k->g == KG_MPC_GROUP_ED25519 ? "Ed25519 (KG_SIG_ED25519)" :
                      k->taproot ? "BIP340 (KG_SIG_BIP340)" :
                      "with its own RFC 9591 signature format, which no chain scheme uses");
}

static void opts_of(kg_mpc_sign_opts *o, const kg_key_ref *ref)
{
    memset(o, 0, sizeof *o);
    if (!ref || !ref->taproot) return;
    o->taproot_tweak = true;
    if (ref->merkle_root) {
        o->has_merkle_root = true;
        memcpy(o->merkle_root, ref->merkle_root, 32);
    }
}

static kg_err cs_public_key(kg_signer *s, kg_pubkey *out, const kg_key_ref *ref, kg_sig_scheme scheme)
{
    const co_signer *cs = s->impl;
    memset(out, 0, sizeof *out);
    kg_err err = ref_check(cs, ref, scheme);
    if (err) return err;
    if (scheme == KG_SIG_ED25519) {
        memcpy(out->data, cs->k.group_public.b, 32);
        out->len = 32;
        return KG_OK;
    }
    kg_mpc_frost_tr_tweak_ctx tc;
    uint8_t tweak[KG_MPC_FROST_TR_TWEAK_BYTES];
    err = kg_mpc_frost_tr_tweak_init(&tc, cs->k.group_public.b);
    if (!err && ref && ref->taproot) err = kg_mpc_frost_tr_tweak_taproot(tweak, &tc, ref->merkle_root);
    if (!err && ref && ref->taproot) err = kg_mpc_frost_tr_tweak_apply(&tc, tweak, true);
    if (!err) {
        kg_mpc_frost_tr_tweak_xonly(out->data, &tc);
        out->len = KG_MPC_FROST_TR_XONLY_BYTES;
    }
    return err;
}

static kg_err cs_sign(kg_signer *s, kg_signature *out, const kg_key_ref *ref, kg_sig_scheme scheme,
                      const uint8_t *msg, size_t msg_len)
{
    co_signer *cs = s->impl;
    memset(out, 0, sizeof *out);
    out->recid = -1;
    kg_err err = ref_check(cs, ref, scheme);
    if (err) return err;
    if (!msg && msg_len) return kg_err_set(KG_ERR_BAD_INPUT, "no message to sign");
    if (scheme == KG_SIG_BIP340 && msg_len != 32)
        return kg_err_set(KG_ERR_BAD_INPUT, "BIP340 signs a 32-byte digest, not %zu bytes", msg_len);
    kg_mpc_sign_opts o;
    opts_of(&o, ref);
    uint8_t sig[KG_MPC_FROST_SIG_MAX_BYTES];
    size_t len = 0;
    err = kg_mpc_coordinator_sign(cs->co, sig, &len, &cs->k, msg ? msg : (const uint8_t *)"", msg_len, &o);
    if (!err && len != 64)
        err = kg_err_set(KG_ERR_INTERNAL, "MPC key %s produced a %zu-byte signature, not 64", cs->k.key_id, len);
    if (err) return err;
    memcpy(out->data, sig, 64);
    out->len = 64;
    return KG_OK;
}

static void cs_close(kg_signer *s)
{
    free(s->impl);
    free(s);
}

static const kg_signer_ops co_signer_ops = {cs_public_key, cs_sign, cs_close};

kg_err kg_mpc_coordinator_signer_new(kg_signer **out, kg_mpc_coordinator *co, const kg_mpc_key *k)
{
    *out = NULL;
    if (!co || !k || !kg_mpc_group_valid(k->g) || k->t < 2 || k->t > k->n || k->n > KG_MPC_FROST_MAX_PARTICIPANTS ||
        (k->taproot && k->g != KG_MPC_GROUP_SECP256K1))
        return kg_err_set(KG_ERR_BAD_INPUT, "an MPC signer needs a coordinator and a valid key record");
    kg_signer *s = calloc(1, sizeof *s);
    co_signer *cs = calloc(1, sizeof *cs);
    if (!s || !cs) {
        free(s), free(cs);
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
    cs->co = co;
    cs->k = *k;
    s->ops = &co_signer_ops;
    s->impl = cs;
    *out = s;
    return KG_OK;
}
