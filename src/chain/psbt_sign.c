/* PSBT updater and signer (BIP174 "Updater", "Signer"; BIP371 for the
 * Taproot key path).
 *
 * The signer follows BIP174's pseudo-code, generalised to inputs that
 * carry both UTXO forms: the spent output comes from the witness UTXO or
 * the non-witness UTXO (whose txid must match the input's outpoint), a P2SH
 * output is replaced by its redeem script (which must hash to it), a P2WSH
 * program by its witness script (which must hash to it); a witness UTXO on
 * a script that is not a witness program is refused (the amount it states
 * cannot be trusted for a legacy sighash). These checks run for every
 * input before any signature is made, so a PSBT that fails them gets no
 * signature at all.
 *
 * Which key signs: an input's PSBT_IN_BIP32_DERIVATION (or
 * PSBT_IN_TAP_BIP32_DERIVATION for the key path) entries whose master
 * fingerprint is the signer's; the signer is asked for the key at that path
 * and it must be the key the PSBT names -- and that key must appear in the
 * script being signed. The sighash is computed by the Bitcoin code
 * (bitcoin.h) over a kg_chain_btc_tx built from the PSBT's view, whose
 * arrays are taken from the PSBT arena: no heap use on this path. */
#include "psbt_int.h"

#include <string.h>
#include <kashguard/crypto.h>
#include <kashguard/chain/bitcoin.h>

/* ------------------------------------------------------------- updater */

static kg_chain_psbt_map *map_of(kg_chain_psbt *p, bool is_output, size_t i)
{
    if (is_output)
        return i < p->n_out ? &p->out[i] : NULL;
    return i < p->n_in ? &p->in[i] : NULL;
}

static kg_err no_map(const kg_chain_psbt *p, bool is_output, size_t i)
{
    return kg_err_set(KG_ERR_BAD_INPUT, "the PSBT has no %s %zu (it has %zu)", is_output ? "output" : "input", i,
                      is_output ? p->n_out : p->n_in);
}

kg_err kg_chain_psbt_set_non_witness_utxo(kg_chain_psbt *p, size_t i, const uint8_t *prev_tx, size_t prev_tx_len)
{
    kg_chain_psbt_in in;
    uint8_t txid[32];
    kg_err e = kg_chain_psbt_tx_input(&in, p, i);
    if (e == KG_OK)
        e = kg_psbt_txid(txid, prev_tx, prev_tx_len);
    if (e != KG_OK)
        return e;
    if (memcmp(txid, in.txid, 32) != 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "the previous transaction given for PSBT input %zu is not the one "
                          "it spends (txid differs)", i);
    return kg_psbt_put(p, &p->in[i], KG_PSBT_IN_NON_WITNESS_UTXO, NULL, 0, prev_tx, prev_tx_len);
}

kg_err kg_chain_psbt_set_witness_utxo(kg_chain_psbt *p, size_t i, uint64_t amount, const uint8_t *spk, size_t spk_len)
{
    uint8_t buf[8 + 9 + KG_CHAIN_BTC_SCRIPT_MAX_BYTES];
    if (i >= p->n_in)
        return no_map(p, false, i);
    if (spk_len > KG_CHAIN_BTC_SCRIPT_MAX_BYTES)
        return kg_err_set(KG_ERR_BAD_INPUT, "scriptPubKey too long (%zu bytes)", spk_len);
    kg_psbt_wr w = { buf, sizeof buf, 0 };
    kg_psbt_wr_u64(&w, amount);
    kg_psbt_wr_cs(&w, spk_len);
    kg_psbt_wr_bytes(&w, spk, spk_len);
    return kg_psbt_put(p, &p->in[i], KG_PSBT_IN_WITNESS_UTXO, NULL, 0, buf, w.len);
}

static kg_err set_script(kg_chain_psbt *p, bool is_output, size_t i, uint8_t in_type, uint8_t out_type,
                         const uint8_t *script, size_t script_len)
{
    kg_chain_psbt_map *m = map_of(p, is_output, i);
    if (m == NULL)
        return no_map(p, is_output, i);
    return kg_psbt_put(p, m, is_output ? out_type : in_type, NULL, 0, script, script_len);
}

kg_err kg_chain_psbt_set_redeem_script(kg_chain_psbt *p, bool is_output, size_t i, const uint8_t *script,
                                       size_t script_len)
{
    return set_script(p, is_output, i, KG_PSBT_IN_REDEEM_SCRIPT, KG_PSBT_OUT_REDEEM_SCRIPT, script, script_len);
}

kg_err kg_chain_psbt_set_witness_script(kg_chain_psbt *p, bool is_output, size_t i, const uint8_t *script,
                                        size_t script_len)
{
    return set_script(p, is_output, i, KG_PSBT_IN_WITNESS_SCRIPT, KG_PSBT_OUT_WITNESS_SCRIPT, script, script_len);
}

kg_err kg_chain_psbt_set_sighash(kg_chain_psbt *p, size_t i, uint32_t sighash)
{
    uint8_t b[4];
    kg_psbt_wr w = { b, 4, 0 };
    if (i >= p->n_in)
        return no_map(p, false, i);
    kg_psbt_wr_u32(&w, sighash);
    return kg_psbt_put(p, &p->in[i], KG_PSBT_IN_SIGHASH_TYPE, NULL, 0, b, 4);
}

/* Value of a derivation: [count of leaf hashes (tap)] fingerprint path. */
static kg_err put_deriv(kg_chain_psbt *p, kg_chain_psbt_map *m, uint8_t type, const uint8_t *key, size_t key_len,
                        bool tap, const uint8_t fp[static 4], const uint32_t *path, size_t path_len)
{
    uint8_t buf[1 + 4 + 4 * KG_PATH_MAX];
    if (path_len > KG_PATH_MAX || (path_len > 0 && path == NULL))
        return kg_err_set(KG_ERR_BAD_INPUT, "derivation path longer than %d steps", KG_PATH_MAX);
    kg_psbt_wr w = { buf, sizeof buf, 0 };
    if (tap)
        kg_psbt_wr_cs(&w, 0);
    kg_psbt_wr_bytes(&w, fp, 4);
    for (size_t k = 0; k < path_len; k++)
        kg_psbt_wr_u32(&w, path[k]);
    return kg_psbt_put(p, m, type, key, key_len, buf, w.len);
}

kg_err kg_chain_psbt_add_bip32(kg_chain_psbt *p, bool is_output, size_t i, const uint8_t pub33[static 33],
                               const uint8_t fingerprint[static 4], const uint32_t *path, size_t path_len)
{
    uint8_t chk[33];
    kg_chain_psbt_map *m = map_of(p, is_output, i);
    if (m == NULL)
        return no_map(p, is_output, i);
    if (kg_crypto_k1_pubkey_convert(chk, 33, pub33, 33) != KG_OK)
        return kg_err_set(KG_ERR_BAD_INPUT, "BIP32 derivation: the public key is not a valid compressed key");
    return put_deriv(p, m, is_output ? KG_PSBT_OUT_BIP32_DERIVATION : KG_PSBT_IN_BIP32_DERIVATION, pub33, 33, false,
                     fingerprint, path, path_len);
}

kg_err kg_chain_psbt_set_tap_internal_key(kg_chain_psbt *p, bool is_output, size_t i, const uint8_t xonly[static 32])
{
    kg_chain_psbt_map *m = map_of(p, is_output, i);
    if (m == NULL)
        return no_map(p, is_output, i);
    return kg_psbt_put(p, m, is_output ? KG_PSBT_OUT_TAP_INTERNAL_KEY : KG_PSBT_IN_TAP_INTERNAL_KEY, NULL, 0,
                       xonly, 32);
}

kg_err kg_chain_psbt_add_tap_bip32(kg_chain_psbt *p, bool is_output, size_t i, const uint8_t xonly[static 32],
                                   const uint8_t fingerprint[static 4], const uint32_t *path, size_t path_len)
{
    kg_chain_psbt_map *m = map_of(p, is_output, i);
    if (m == NULL)
        return no_map(p, is_output, i);
    return put_deriv(p, m, is_output ? KG_PSBT_OUT_TAP_BIP32_DERIVATION : KG_PSBT_IN_TAP_BIP32_DERIVATION, xonly,
                     32, true, fingerprint, path, path_len);
}

/* ------------------------------------------------- what an input spends */

kg_err kg_psbt_spent_output(uint64_t *amount, const uint8_t **spk, size_t *spk_len, bool *from_witness_utxo,
                            const kg_chain_psbt *p, size_t i)
{
    *amount = 0;
    *spk = NULL;
    *spk_len = 0;
    *from_witness_utxo = false;
    const kg_chain_psbt_kv *wu = kg_psbt_get(&p->in[i], KG_PSBT_IN_WITNESS_UTXO, NULL, 0);
    const kg_chain_psbt_kv *nw = kg_psbt_get(&p->in[i], KG_PSBT_IN_NON_WITNESS_UTXO, NULL, 0);
    kg_chain_psbt_in in;
    kg_err e = kg_chain_psbt_tx_input(&in, p, i);
    if (e != KG_OK)
        return e;
    if (nw != NULL) {
        uint8_t txid[32];
        kg_psbt_txinfo ti;
        bool wit = false;
        kg_chain_psbt_out o;
        e = kg_psbt_txid(txid, nw->val, nw->val_len);
        if (e == KG_OK && memcmp(txid, in.txid, 32) != 0)
            e = kg_err_set(KG_ERR_BAD_INPUT, "PSBT input %zu: its non-witness UTXO is not the transaction it "
                           "spends (txid differs)", i);
        if (e == KG_OK)
            e = kg_psbt_tx_scan(&ti, nw->val, nw->val_len, true, &wit);
        if (e == KG_OK && !kg_psbt_tx_out_at(&o, nw->val, nw->val_len, &ti, in.vout))
            e = kg_err_set(KG_ERR_BAD_INPUT, "PSBT input %zu spends output %u, which its non-witness UTXO "
                           "does not have", i, (unsigned)in.vout);
        if (e != KG_OK)
            return e;
        *amount = o.amount;
        *spk = o.script;
        *spk_len = o.script_len;
    }
    if (wu != NULL) {
        kg_psbt_rd r = { wu->val, wu->val_len, 0 };
        uint64_t a = 0, len = 0;
        const uint8_t *s = NULL;
        if (!kg_psbt_rd_u64(&r, &a) || !kg_psbt_rd_cs(&r, &len) || len > wu->val_len ||
            !kg_psbt_rd_bytes(&r, &s, (size_t)len))
            return kg_err_set(KG_ERR_BAD_INPUT, "PSBT input %zu: malformed witness UTXO", i);
        if (nw != NULL && (a != *amount || len != *spk_len || memcmp(s, *spk, *spk_len) != 0))
            return kg_err_set(KG_ERR_BAD_INPUT, "PSBT input %zu: its witness UTXO and non-witness UTXO disagree",
                              i);
        *amount = a;
        *spk = s;
        *spk_len = (size_t)len;
        *from_witness_utxo = nw == NULL;
    }
    if (wu == NULL && nw == NULL)
        return kg_err_set(KG_ERR_NOT_FOUND, "PSBT input %zu has no UTXO; add it with the updater", i);
    return KG_OK;
}

bool kg_psbt_input_final(const kg_chain_psbt *p, size_t i)
{
    return kg_psbt_get(&p->in[i], KG_PSBT_IN_FINAL_SCRIPTSIG, NULL, 0) != NULL ||
           kg_psbt_get(&p->in[i], KG_PSBT_IN_FINAL_SCRIPTWITNESS, NULL, 0) != NULL;
}

static const uint8_t *field(size_t *len, const kg_chain_psbt *p, size_t i, uint8_t type)
{
    const kg_chain_psbt_kv *e = kg_psbt_get(&p->in[i], type, NULL, 0);
    *len = e ? e->val_len : 0;
    return e ? e->val : NULL;
}

/* The witness program inside spk (or the redeem script), after the P2SH
 * and P2WSH checks of BIP174's signer. */
static kg_err plan_witness(kg_psbt_plan *pl, kg_chain_btc_script_type t, size_t i)
{
    if (t == KG_CHAIN_BTC_P2WPKH) {
        pl->kind = KG_PSBT_WPKH;
        kg_chain_btc_spk s;
        kg_chain_btc_spk_p2pkh(&s, pl->prog);
        memcpy(pl->sc_buf, s.data, 25);
        pl->script_code = pl->sc_buf;
        pl->script_code_len = 25;
        return KG_OK;
    }
    if (t == KG_CHAIN_BTC_P2WSH) {
        uint8_t h[32];
        if (pl->wscript == NULL)
            return kg_err_set(KG_ERR_NOT_FOUND, "PSBT input %zu is P2WSH but has no witness script", i);
        kg_crypto_sha256(h, pl->wscript, pl->wscript_len);
        if (memcmp(h, pl->prog, 32) != 0)
            return kg_err_set(KG_ERR_BAD_INPUT, "PSBT input %zu: the witness script does not hash to the P2WSH "
                              "program it spends (%s); refusing to sign", i,
                              pl->p2sh ? "in the redeem script" : "in the witness UTXO");
        pl->kind = KG_PSBT_WSH;
        pl->script_code = pl->wscript;
        pl->script_code_len = pl->wscript_len;
        return KG_OK;
    }
    pl->kind = KG_PSBT_TR;
    if (pl->p2sh)
        return kg_err_set(KG_ERR_NOT_FOUND, "PSBT input %zu: P2SH-wrapped Taproot cannot be spent", i);
    return KG_OK;
}

kg_err kg_psbt_plan_input(kg_psbt_plan *pl, const kg_chain_psbt *p, size_t i)
{
    memset(pl, 0, sizeof *pl);
    kg_err e = kg_psbt_spent_output(&pl->amount, &pl->spk, &pl->spk_len, &pl->from_witness_utxo, p, i);
    if (e != KG_OK)
        return e;
    pl->redeem = field(&pl->redeem_len, p, i, KG_PSBT_IN_REDEEM_SCRIPT);
    pl->wscript = field(&pl->wscript_len, p, i, KG_PSBT_IN_WITNESS_SCRIPT);
    const uint8_t *inner = pl->spk;
    size_t inner_len = pl->spk_len;
    kg_chain_btc_script_type t = kg_chain_btc_spk_classify(pl->prog, &pl->prog_len, pl->spk, pl->spk_len);
    if (t == KG_CHAIN_BTC_P2SH) {
        uint8_t h[20];
        if (pl->redeem == NULL)
            return kg_err_set(KG_ERR_NOT_FOUND, "PSBT input %zu is P2SH but has no redeem script", i);
        kg_crypto_hash160(h, pl->redeem, pl->redeem_len);
        if (memcmp(h, pl->prog, 20) != 0)
            return kg_err_set(KG_ERR_BAD_INPUT, "PSBT input %zu: the redeem script does not hash to the P2SH "
                              "scriptPubKey of its %s UTXO; refusing to sign", i,
                              pl->from_witness_utxo ? "witness" : "non-witness");
        pl->p2sh = true;
        inner = pl->redeem;
        inner_len = pl->redeem_len;
        t = kg_chain_btc_spk_classify(pl->prog, &pl->prog_len, inner, inner_len);
    }
    if (t == KG_CHAIN_BTC_P2WPKH || t == KG_CHAIN_BTC_P2WSH || t == KG_CHAIN_BTC_P2TR)
        return plan_witness(pl, t, i);
    if (t == KG_CHAIN_BTC_WITNESS_UNKNOWN)
        return kg_err_set(KG_ERR_NOT_FOUND, "PSBT input %zu spends an unknown witness version", i);
    if (pl->from_witness_utxo)
        return kg_err_set(KG_ERR_BAD_INPUT, "PSBT input %zu: a witness UTXO is given for a non-witness script; "
                          "a legacy input needs its full previous transaction (PSBT_IN_NON_WITNESS_UTXO)", i);
    pl->kind = t == KG_CHAIN_BTC_P2PKH ? KG_PSBT_PKH : KG_PSBT_SCRIPT;
    pl->script_code = inner;
    pl->script_code_len = inner_len;
    return KG_OK;
}

/* ---------------------------------------------------------------- signer */

typedef struct {
    kg_chain_btc_tx tx;
    kg_chain_btc_txout *spent;   /* every input's coin (taproot), or NULL */
} sign_ctx;

/* A kg_chain_btc_tx of the PSBT's view, with arrays from the PSBT arena
 * (about 120 bytes per input and 40 per output, per signing call; the
 * signatures are allocated after them, so the space is not given back). */
static kg_err build_tx(sign_ctx *c, kg_chain_psbt *p)
{
    kg_chain_btc_txin *ins = kg_psbt_arena(p, (p->n_in + 1) * sizeof *ins);
    kg_chain_btc_txout *outs = kg_psbt_arena(p, (p->n_out + 1) * sizeof *outs);
    c->spent = kg_psbt_arena(p, (p->n_in + 1) * sizeof *c->spent);
    if (ins == NULL || outs == NULL || c->spent == NULL)
        return kg_err_set(KG_ERR_TOO_LARGE, "the PSBT arena is too small to sign; give it a larger arena");
    kg_chain_btc_tx_init(&c->tx, ins, p->n_in, outs, p->n_out, NULL, 0, NULL, 0);
    kg_err e = kg_chain_psbt_tx_version(&c->tx.version, p);
    if (e == KG_OK)
        e = kg_chain_psbt_tx_locktime(&c->tx.locktime, p);
    for (size_t i = 0; i < p->n_in && e == KG_OK; i++) {
        kg_chain_psbt_in in;
        e = kg_chain_psbt_tx_input(&in, p, i);
        if (e == KG_OK)
            e = kg_chain_btc_tx_add_input(&c->tx, in.txid, in.vout, in.sequence);
        uint64_t a = 0;
        const uint8_t *s = NULL;
        size_t sl = 0;
        bool fw = false;
        if (e == KG_OK && kg_psbt_spent_output(&a, &s, &sl, &fw, p, i) == KG_OK)
            c->spent[i] = (kg_chain_btc_txout){ a, { s, sl } };
        else
            c->spent[i] = (kg_chain_btc_txout){ 0, { NULL, 0 } };
    }
    for (size_t i = 0; i < p->n_out && e == KG_OK; i++) {
        kg_chain_psbt_out o;
        e = kg_chain_psbt_tx_output(&o, p, i);
        if (e == KG_OK)
            e = kg_chain_btc_tx_add_output(&c->tx, o.amount, o.script, o.script_len);
    }
    kg_err_clear();
    return e;
}

static bool path_of(kg_key_ref *ref, const uint8_t *val, size_t val_len, const uint8_t fp[static 4])
{
    if (val_len < 4 || (val_len - 4) / 4 > KG_PATH_MAX || memcmp(val, fp, 4) != 0)
        return false;
    ref->path_len = (val_len - 4) / 4;
    for (size_t k = 0; k < ref->path_len; k++) {
        const uint8_t *b = val + 4 + 4 * k;
        ref->path[k] = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    }
    return true;
}

static bool contains(const uint8_t *hay, size_t hay_len, const uint8_t *needle, size_t n)
{
    for (size_t k = 0; n <= hay_len && k <= hay_len - n; k++)
        if (memcmp(hay + k, needle, n) == 0)
            return true;
    return false;
}

static uint32_t sighash_of(const kg_chain_psbt *p, size_t i, uint32_t dflt)
{
    size_t n = 0;
    const uint8_t *v = field(&n, p, i, KG_PSBT_IN_SIGHASH_TYPE);
    if (v == NULL || n != 4)
        return dflt;
    return (uint32_t)v[0] | (uint32_t)v[1] << 8 | (uint32_t)v[2] << 16 | (uint32_t)v[3] << 24;
}

/* ECDSA: every BIP32 derivation of ours whose key is in the script. */
static kg_err sign_ecdsa(kg_chain_psbt *p, size_t *n_signed, sign_ctx *c, const kg_psbt_plan *pl, size_t i,
                         kg_signer *signer, kg_key_ref *ref, const uint8_t fp[static 4])
{
    uint32_t ht = sighash_of(p, i, KG_CHAIN_BTC_SIGHASH_ALL);
    for (const kg_chain_psbt_kv *d = p->in[i].head; d != NULL; d = d->next) {
        const uint8_t *pub = d->key + 1;
        size_t pub_len = d->key_len - 1;
        uint8_t h160[20], digest[32], der[KG_CHAIN_BTC_DER_SIG_MAX];
        size_t der_len = 0;
        if (d->key[0] != KG_PSBT_IN_BIP32_DERIVATION || !path_of(ref, d->val, d->val_len, fp) ||
            kg_psbt_get(&p->in[i], KG_PSBT_IN_PARTIAL_SIG, pub, pub_len) != NULL)
            continue;
        kg_crypto_hash160(h160, pub, pub_len);
        bool in_script = (pl->kind == KG_PSBT_PKH || pl->kind == KG_PSBT_WPKH)
                             ? memcmp(h160, pl->prog, 20) == 0
                             : contains(pl->script_code, pl->script_code_len, pub, pub_len);
        kg_pubkey mine;
        if (!in_script || kg_signer_public_key(signer, &mine, ref, KG_SIG_ECDSA_SECP256K1) != KG_OK ||
            mine.len != pub_len || memcmp(mine.data, pub, pub_len) != 0) {
            kg_err_clear();
            continue;
        }
        kg_err e = pl->kind == KG_PSBT_WPKH || pl->kind == KG_PSBT_WSH
                       ? kg_chain_btc_sighash_segwit_v0(digest, &c->tx, i, pl->script_code, pl->script_code_len,
                                                        pl->amount, ht)
                       : kg_chain_btc_sighash_legacy(digest, &c->tx, i, pl->script_code, pl->script_code_len, ht);
        kg_signature sig;
        if (e == KG_OK)
            e = kg_signer_sign(signer, &sig, ref, KG_SIG_ECDSA_SECP256K1, digest, 32);
        if (e == KG_OK && sig.len != 64)
            e = kg_err_set(KG_ERR_CRYPTO, "the signer returned a %zu-byte ECDSA signature, not 64", sig.len);
        if (e != KG_OK)
            return e;
        kg_chain_btc_sig_der_encode(der, &der_len, sig.data, (uint8_t)ht);
        e = kg_psbt_put(p, &p->in[i], KG_PSBT_IN_PARTIAL_SIG, pub, pub_len, der, der_len);
        if (e != KG_OK)
            return e;
        ++*n_signed;
    }
    return KG_OK;
}

/* BIP371 key path: a TAP_BIP32_DERIVATION of ours without leaf hashes. */
static kg_err sign_taproot(kg_chain_psbt *p, size_t *n_signed, sign_ctx *c, const kg_psbt_plan *pl, size_t i,
                           kg_signer *signer, kg_key_ref *ref, const uint8_t fp[static 4])
{
    size_t mr_len = 0, ik_len = 0;
    const uint8_t *mr = field(&mr_len, p, i, KG_PSBT_IN_TAP_MERKLE_ROOT);
    const uint8_t *ik = field(&ik_len, p, i, KG_PSBT_IN_TAP_INTERNAL_KEY);
    uint32_t ht = sighash_of(p, i, KG_CHAIN_BTC_SIGHASH_DEFAULT);
    if (kg_psbt_get(&p->in[i], KG_PSBT_IN_TAP_KEY_SIG, NULL, 0) != NULL || ik == NULL || ht > 0xff)
        return KG_OK;
    for (const kg_chain_psbt_kv *d = p->in[i].head; d != NULL; d = d->next) {
        if (d->key[0] != KG_PSBT_IN_TAP_BIP32_DERIVATION || d->key_len != 33 || memcmp(d->key + 1, ik, 32) != 0 ||
            d->val_len < 1 || d->val[0] != 0 || !path_of(ref, d->val + 1, d->val_len - 1, fp))
            continue;
        ref->taproot = true;
        ref->merkle_root = mr;
        kg_pubkey out;
        if (kg_signer_public_key(signer, &out, ref, KG_SIG_BIP340) != KG_OK || out.len != 32 ||
            memcmp(out.data, pl->prog, 32) != 0) {
            kg_err_clear();
            continue;
        }
        for (size_t k = 0; k < p->n_in; k++)
            if (c->spent[k].script.data == NULL)
                return kg_err_set(KG_ERR_NOT_FOUND, "signing Taproot input %zu needs the UTXO of every input; "
                                  "input %zu has none", i, k);
        uint8_t digest[32], sig65[65];
        kg_signature sig;
        kg_err e = kg_chain_btc_sighash_taproot(digest, &c->tx, i, c->spent, p->n_in, (uint8_t)ht);
        if (e == KG_OK)
            e = kg_signer_sign(signer, &sig, ref, KG_SIG_BIP340, digest, 32);
        if (e == KG_OK && sig.len != 64)
            e = kg_err_set(KG_ERR_CRYPTO, "the signer returned a %zu-byte Schnorr signature, not 64", sig.len);
        if (e != KG_OK)
            return e;
        memcpy(sig65, sig.data, 64);
        sig65[64] = (uint8_t)ht;
        e = kg_psbt_put(p, &p->in[i], KG_PSBT_IN_TAP_KEY_SIG, NULL, 0, sig65, ht == 0 ? 64 : 65);
        if (e == KG_OK)
            ++*n_signed;
        return e;
    }
    return KG_OK;
}

kg_err kg_chain_psbt_sign(kg_chain_psbt *p, size_t *n_signed, kg_signer *signer, const char *key_name,
                          const uint8_t fingerprint[static 4])
{
    size_t count = 0;
    if (n_signed != NULL)
        *n_signed = 0;
    /* Pass 1: the signer checks of BIP174 on every input, before any signature. */
    for (size_t i = 0; i < p->n_in; i++) {
        kg_psbt_plan pl;
        if (kg_psbt_input_final(p, i))
            continue;
        kg_err e = kg_psbt_plan_input(&pl, p, i);
        if (e != KG_OK && e != KG_ERR_NOT_FOUND)
            return e;
    }
    kg_err_clear();
    sign_ctx c;
    kg_err e = build_tx(&c, p);
    for (size_t i = 0; i < p->n_in && e == KG_OK; i++) {
        kg_psbt_plan pl;
        kg_key_ref ref;
        memset(&ref, 0, sizeof ref);
        ref.key = key_name;
        if (kg_psbt_input_final(p, i) || kg_psbt_plan_input(&pl, p, i) != KG_OK)
            continue;
        if (pl.kind == KG_PSBT_TR)
            e = sign_taproot(p, &count, &c, &pl, i, signer, &ref, fingerprint);
        else
            e = sign_ecdsa(p, &count, &c, &pl, i, signer, &ref, fingerprint);
    }
    kg_wipe(&c, sizeof c);
    if (n_signed != NULL)
        *n_signed = count;
    if (e == KG_OK && count == 0)
        e = kg_err_set(KG_ERR_NOT_FOUND, "no input of the PSBT has a key of the signer (master fingerprint "
                       "%02x%02x%02x%02x) that it can sign", fingerprint[0], fingerprint[1], fingerprint[2],
                       fingerprint[3]);
    return e;
}
