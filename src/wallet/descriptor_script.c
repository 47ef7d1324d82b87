/* Output script descriptors, second half: writing a parsed descriptor back
 * (with its BIP380 checksum) and deriving the scriptPubKey of one position.
 *
 * Derivation (BIP380 "Key Expressions"): an extended key is derived along
 * its written steps, then the wildcard becomes the index (hardened for
 * "/ *'"), privately when the descriptor holds the xprv. The scripts are
 * those of BIP381 (pkh: P2PKH), BIP382 (wpkh: P2WPKH; sh(wpkh): P2SH of
 * it), BIP383 (multi: OP_k <keys> OP_n OP_CHECKMULTISIG, sortedmulti with
 * the keys sorted by their serialization, wrapped in P2SH, P2WSH or
 * P2SH-P2WSH) and BIP386 (tr(KEY): the BIP86 output key, no script tree).
 * Templates and hashes come from the chain layer's Bitcoin helpers
 * (include/kashguard/chain/bitcoin.h), so script rules live in one place. */
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

#include "kashguard/chain/bitcoin.h"
#include "hd_int.h"

#define MULTI_SCRIPT_MAX (3 + 3 + KG_WALLET_DESC_MAX_KEYS * 66)

/* --------------------------------------------------------------- format */

typedef struct {
    char *out;
    size_t cap, len;
    bool overflow;
} sbuf;

static void put(sbuf *b, const char *s)
{
    size_t n = strlen(s);
    if (b->len + n + 1 > b->cap) { b->overflow = true; return; }
    memcpy(b->out + b->len, s, n);
    b->len += n;
    b->out[b->len] = '\0';
}

static void put_steps(sbuf *b, const uint32_t *path, size_t n)
{
    char p[KG_WALLET_PATH_MAX_BYTES];
    if (n == 0) return;
    if (kg_wallet_path_format(p, sizeof p, path, n, false) != KG_OK) { b->overflow = true; return; }
    put(b, "/");
    put(b, p);
}

static void put_key(sbuf *b, const kg_wallet_dkey *k, bool private_, bool xonly)
{
    char tmp[KG_WALLET_XKEY_MAX_BYTES + 140];
    if (k->has_origin) {
        char fp[9];
        kg_hex_encode(fp, k->origin_fp, 4);
        put(b, "[");
        put(b, fp);
        put_steps(b, k->origin, k->origin_len);
        put(b, "]");
    }
    if (k->form == KG_WALLET_DKEY_XKEY) {
        if (kg_wallet_xkey_serialize(tmp, sizeof tmp, &k->xkey, k->xkind, private_ && k->xkey.has_priv) != KG_OK)
            b->overflow = true;
        else put(b, tmp);
        put_steps(b, k->deriv, k->deriv_len);
        if (k->ranged) put(b, k->ranged_hardened ? "/*'" : "/*");
    } else if (k->form == KG_WALLET_DKEY_WIF && private_) {
        uint8_t w[34];
        w[0] = k->wif_testnet ? 0xef : 0x80;
        memcpy(w + 1, k->xkey.priv, 32);
        w[33] = 0x01;
        if (kg_chain_base58check_encode(tmp, sizeof tmp, w, k->pub_len == 33 ? 34 : 33) != KG_OK) b->overflow = true;
        else put(b, tmp);
        kg_wipe(w, sizeof w);
    } else if (k->pub_len == 32 || (xonly && k->form == KG_WALLET_DKEY_WIF)) {
        kg_hex_encode(tmp, k->pub_len == 32 ? k->pub65 : k->pub65 + 1, 32);
        put(b, tmp);
    } else {
        kg_hex_encode(tmp, k->pub65, k->pub_len);
        put(b, tmp);
    }
    kg_wipe(tmp, sizeof tmp);
}

static void put_multi(sbuf *b, const kg_wallet_desc *d, bool private_)
{
    char k[16];
    snprintf(k, sizeof k, "%u", d->threshold);
    put(b, d->sorted ? "sortedmulti(" : "multi(");
    put(b, k);
    for (size_t i = 0; i < d->nkeys; i++) {
        put(b, ",");
        put_key(b, &d->keys[i], private_, false);
    }
    put(b, ")");
}

kg_err kg_wallet_desc_format(char *out, size_t out_cap, const kg_wallet_desc *desc, bool private_)
{
    sbuf b = { .out = out, .cap = out_cap };
    if (out_cap) out[0] = '\0';
    static const char *const open[] = {
        [KG_WALLET_DESC_PKH] = "pkh(", [KG_WALLET_DESC_WPKH] = "wpkh(", [KG_WALLET_DESC_SH_WPKH] = "sh(wpkh(",
        [KG_WALLET_DESC_TR] = "tr(", [KG_WALLET_DESC_SH_MULTI] = "sh(", [KG_WALLET_DESC_WSH_MULTI] = "wsh(",
        [KG_WALLET_DESC_SH_WSH_MULTI] = "sh(wsh(", [KG_WALLET_DESC_MULTI] = "",
    };
    if ((int)desc->type < 0 || desc->type > KG_WALLET_DESC_MULTI || desc->nkeys == 0 ||
        desc->nkeys > KG_WALLET_DESC_MAX_KEYS)
        return kg_err_set(KG_ERR_BAD_INPUT, "not a parsed descriptor");
    put(&b, open[desc->type]);
    bool multi = desc->type >= KG_WALLET_DESC_SH_MULTI;
    if (multi) put_multi(&b, desc, private_);
    else put_key(&b, &desc->keys[0], private_, desc->type == KG_WALLET_DESC_TR);
    put(&b, desc->type == KG_WALLET_DESC_SH_WPKH || desc->type == KG_WALLET_DESC_SH_WSH_MULTI ? "))"
             : desc->type == KG_WALLET_DESC_MULTI ? "" : ")");
    char sum[KG_WALLET_DESC_CHECKSUM_BYTES + 1];
    if (!b.overflow && kg_wallet_desc_checksum(sum, out) == KG_OK) {
        put(&b, "#");
        put(&b, sum);
    }
    if (b.overflow) {
        if (out_cap) kg_wipe(out, out_cap);
        return kg_err_set(KG_ERR_BAD_INPUT, "descriptor buffer too small; give %d bytes", KG_WALLET_DESC_MAX_BYTES);
    }
    return KG_OK;
}

/* --------------------------------------------------------------- derive */

/* The public key of k at position index: 33 or 65 bytes (or 32 x-only
 * written keys, returned as 32). */
static kg_err key_at(uint8_t pub[static 65], size_t *len, const kg_wallet_dkey *k, uint32_t index)
{
    if (k->form != KG_WALLET_DKEY_XKEY) {
        memcpy(pub, k->pub65, k->pub_len);
        *len = k->pub_len;
        return KG_OK;
    }
    uint32_t path[KG_WALLET_PATH_MAX + 1];
    size_t n = k->deriv_len;
    memcpy(path, k->deriv, n * sizeof *path);
    if (k->ranged) path[n++] = index | (k->ranged_hardened ? KG_WALLET_HARDENED : 0);
    kg_wallet_hdkey child;
    kg_err err = kg_wallet_hd_derive_path(&child, &k->xkey, path, n);
    if (err == KG_OK) {
        memcpy(pub, child.pub, 33);
        *len = 33;
    }
    kg_wallet_hdkey_wipe(&child);
    return err;
}

static int cmp_key(const void *a, const void *b)
{
    return memcmp(a, b, 66);
}

/* OP_k <keys> OP_n OP_CHECKMULTISIG (BIP383), keys sorted for sortedmulti. */
static kg_err multi_script(uint8_t *s, size_t *slen, const kg_wallet_desc *d, uint32_t index)
{
    uint8_t keys[KG_WALLET_DESC_MAX_KEYS][66]; /* [0] = length, then the key: sorts by serialization */
    size_t o = 0;
    kg_err err = KG_OK;
    memset(keys, 0, sizeof keys);
    for (size_t i = 0; i < d->nkeys && err == KG_OK; i++) {
        size_t len = 0;
        err = key_at(keys[i] + 1, &len, &d->keys[i], index);
        keys[i][0] = (uint8_t)len;
    }
    if (err != KG_OK) return err;
    if (d->sorted) { /* sort by the key bytes: move the length after them for the comparison */
        uint8_t tmp[KG_WALLET_DESC_MAX_KEYS][66];
        for (size_t i = 0; i < d->nkeys; i++) { memcpy(tmp[i], keys[i] + 1, 65); tmp[i][65] = keys[i][0]; }
        qsort(tmp, d->nkeys, 66, cmp_key);
        for (size_t i = 0; i < d->nkeys; i++) { keys[i][0] = tmp[i][65]; memcpy(keys[i] + 1, tmp[i], 65); }
    }
    if (d->threshold <= 16) s[o++] = (uint8_t)(0x50 + d->threshold);
    else { s[o++] = 1; s[o++] = (uint8_t)d->threshold; }
    for (size_t i = 0; i < d->nkeys; i++) {
        s[o++] = keys[i][0];
        memcpy(s + o, keys[i] + 1, keys[i][0]);
        o += keys[i][0];
    }
    if (d->nkeys <= 16) s[o++] = (uint8_t)(0x50 + d->nkeys);
    else { s[o++] = 1; s[o++] = (uint8_t)d->nkeys; }
    s[o++] = 0xae; /* OP_CHECKMULTISIG */
    *slen = o;
    return KG_OK;
}

static kg_err single_spk(kg_chain_btc_spk *spk, const kg_wallet_desc *d, uint32_t index)
{
    uint8_t pub[65];
    size_t len = 0;
    kg_err err = key_at(pub, &len, &d->keys[0], index);
    if (err != KG_OK) return err;
    kg_chain_btc_script_type t = d->type == KG_WALLET_DESC_PKH ? KG_CHAIN_BTC_P2PKH
                               : d->type == KG_WALLET_DESC_WPKH ? KG_CHAIN_BTC_P2WPKH
                               : d->type == KG_WALLET_DESC_SH_WPKH ? KG_CHAIN_BTC_P2SH_P2WPKH : KG_CHAIN_BTC_P2TR;
    return kg_chain_btc_spk_for_key(spk, t, pub, len, NULL);
}

kg_err kg_wallet_desc_script(uint8_t out[static KG_WALLET_SCRIPT_MAX_BYTES], size_t *out_len,
                             const kg_wallet_desc *desc, uint32_t index)
{
    kg_chain_btc_spk spk;
    kg_err err;
    memset(out, 0, KG_WALLET_SCRIPT_MAX_BYTES);
    *out_len = 0;
    memset(&spk, 0, sizeof spk);
    if (index >= KG_WALLET_HARDENED)
        return kg_err_set(KG_ERR_BAD_INPUT, "descriptor index must be below 2^31 (use /*' for hardened)");
    if (desc->nkeys == 0 || desc->nkeys > KG_WALLET_DESC_MAX_KEYS)
        return kg_err_set(KG_ERR_BAD_INPUT, "not a parsed descriptor");
    if (desc->type <= KG_WALLET_DESC_TR) {
        err = single_spk(&spk, desc, index);
    } else {
        uint8_t script[MULTI_SCRIPT_MAX];
        size_t slen = 0;
        err = multi_script(script, &slen, desc, index);
        if (err == KG_OK && desc->type == KG_WALLET_DESC_MULTI) {
            if (slen > sizeof spk.data) { /* bare multisig is longer than any template: copy it */
                memcpy(out, script, slen);
                *out_len = slen;
                return KG_OK;
            }
            memcpy(spk.data, script, slen);
            spk.len = slen;
        } else if (err == KG_OK && desc->type == KG_WALLET_DESC_SH_MULTI)
            err = kg_chain_btc_spk_for_script(&spk, KG_CHAIN_BTC_P2SH, script, slen);
        else if (err == KG_OK)
            err = kg_chain_btc_spk_for_script(&spk, KG_CHAIN_BTC_P2WSH, script, slen);
        if (err == KG_OK && desc->type == KG_WALLET_DESC_SH_WSH_MULTI) {
            kg_chain_btc_spk inner = spk;
            err = kg_chain_btc_spk_for_script(&spk, KG_CHAIN_BTC_P2SH, inner.data, inner.len);
        }
    }
    if (err == KG_OK && spk.len > KG_WALLET_SCRIPT_MAX_BYTES)
        err = kg_err_set(KG_ERR_INTERNAL, "scriptPubKey longer than expected");
    if (err == KG_OK) {
        memcpy(out, spk.data, spk.len);
        *out_len = spk.len;
    }
    return err;
}
