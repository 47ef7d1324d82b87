/* BIP32 around the derivation itself (slip10.c): textual paths, the BIP44
 * family of paths, and extended keys as base58check strings.
 *
 * BIP32 "Serialization format": 4-byte version, depth, parent fingerprint,
 * child number, chain code, then 0x00 || k (private) or serP(K) (public):
 * 78 bytes, then base58check (4 bytes of SHA256d). Version bytes are BIP32's
 * xpub/xprv/tpub/tprv plus the SLIP-132 registry's ypub/zpub/upub/vpub
 * families, which wallets use to mean P2SH-P2WPKH and P2WPKH accounts.
 * Parsing applies every rejection of BIP32 "Test vector 5": unknown
 * version, public version with private data and the reverse, bad key
 * prefix, a point not on the curve, a scalar outside 1..n-1, depth 0 with a
 * non-zero parent fingerprint or child number, and a bad checksum.
 * Base58Check is the chain layer's (include/kashguard/chain/encoding.h);
 * it is variable time, so an xprv's encoding is not constant time (as in
 * every wallet: base58 conversion branches on the value). */
#include <string.h>
#include <stdio.h>

#include "kashguard/chain/encoding.h"
#include "hd_int.h"

/* ------------------------------------------------------------- paths */

kg_err kg_wallet_path_parse(uint32_t *path, size_t path_cap, size_t *count, const char *text)
{
    const char *p = text;
    size_t n = 0;
    *count = 0;
    if (*p == 'm') {
        p++;
        if (*p == '\0') return KG_OK;
        if (*p != '/') return kg_err_set(KG_ERR_BAD_INPUT, "a path starts 'm/' (e.g. m/84'/0'/0'/0/5)");
        p++;
    }
    for (;;) {
        if (*p < '0' || *p > '9')
            return kg_err_set(KG_ERR_BAD_INPUT, "path component %zu is not a number (e.g. 44' or 0)", n + 1);
        uint64_t v = 0;
        while (*p >= '0' && *p <= '9') {
            v = v * 10 + (uint64_t)(*p++ - '0');
            if (v >= KG_WALLET_HARDENED)
                return kg_err_set(KG_ERR_BAD_INPUT, "path component %zu is above 2^31-1; mark hardened "
                                  "indexes with ' instead", n + 1);
        }
        if (*p == '\'' || *p == 'h' || *p == 'H') { v |= KG_WALLET_HARDENED; p++; }
        if (n == path_cap)
            return kg_err_set(KG_ERR_BAD_INPUT, "the path has more than %zu components", path_cap);
        path[n++] = (uint32_t)v;
        if (*p == '\0') break;
        if (*p != '/')
            return kg_err_set(KG_ERR_BAD_INPUT, "unexpected character after path component %zu", n);
        p++;
    }
    *count = n;
    return KG_OK;
}

kg_err kg_wallet_path_format(char *out, size_t out_cap, const uint32_t *path, size_t count, bool prefix_m)
{
    KG_ARG_CHECK(path != NULL || count == 0);
    size_t o = 0;
    int w = prefix_m ? snprintf(out, out_cap, "m") : (out_cap ? (out[0] = '\0', 0) : 0);
    if (w < 0 || (size_t)w >= out_cap) goto small;
    o = (size_t)w;
    for (size_t i = 0; i < count; i++) {
        w = snprintf(out + o, out_cap - o, "%s%u%s", (o || i) ? "/" : "", path[i] & ~KG_WALLET_HARDENED,
                     path[i] & KG_WALLET_HARDENED ? "'" : "");
        if (w < 0 || (size_t)w >= out_cap - o) goto small;
        o += (size_t)w;
    }
    return KG_OK;
small:
    if (out_cap) out[0] = '\0';
    return kg_err_set(KG_ERR_BAD_INPUT, "path buffer too small; give %d bytes", KG_WALLET_PATH_MAX_BYTES);
}

kg_err kg_wallet_bip44_path(uint32_t path[static 5], uint32_t purpose, uint32_t coin, uint32_t account,
                            uint32_t change, uint32_t index)
{
    memset(path, 0, 5 * sizeof *path);
    if ((purpose | coin | account | change | index) & KG_WALLET_HARDENED)
        return kg_err_set(KG_ERR_BAD_INPUT, "BIP44 path values must be below 2^31");
    path[0] = purpose | KG_WALLET_HARDENED;
    path[1] = coin | KG_WALLET_HARDENED;
    path[2] = account | KG_WALLET_HARDENED;
    path[3] = change;
    path[4] = index;
    return KG_OK;
}

/* --------------------------------------------------- extended keys */

static const uint32_t VERSIONS[KG_WALLET_XKEY_COUNT][2] = { /* public, private */
    [KG_WALLET_XKEY_X] = { 0x0488B21E, 0x0488ADE4 },
    [KG_WALLET_XKEY_Y] = { 0x049D7CB2, 0x049D7878 },
    [KG_WALLET_XKEY_Z] = { 0x04B24746, 0x04B2430C },
    [KG_WALLET_XKEY_T] = { 0x043587CF, 0x04358394 },
    [KG_WALLET_XKEY_U] = { 0x044A5262, 0x044A4E28 },
    [KG_WALLET_XKEY_V] = { 0x045F1CF6, 0x045F18BC },
};

static void put32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)(v >> 24); b[1] = (uint8_t)(v >> 16); b[2] = (uint8_t)(v >> 8); b[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *b)
{
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}

kg_err kg_wallet_xkey_serialize(char *out, size_t out_cap, const kg_wallet_hdkey *key,
                                kg_wallet_xkey_kind kind, bool private_)
{
    if (out_cap) out[0] = '\0';
    if ((int)kind < 0 || kind >= KG_WALLET_XKEY_COUNT)
        return kg_err_set(KG_ERR_BAD_INPUT, "unknown extended key kind %d", (int)kind);
    if (key->curve != KG_WALLET_CURVE_SECP256K1)
        return kg_err_set(KG_ERR_BAD_INPUT, "xpub/xprv encode secp256k1 keys only");
    if (private_ && !key->has_priv)
        return kg_err_set(KG_ERR_BAD_INPUT, "this is a public key: it has no xprv form");
    if (out_cap < KG_WALLET_XKEY_MAX_BYTES)
        return kg_err_set(KG_ERR_BAD_INPUT, "extended key buffer too small; give %d bytes",
                          KG_WALLET_XKEY_MAX_BYTES);
    uint8_t b[78];
    put32(b, VERSIONS[kind][private_ ? 1 : 0]);
    b[4] = key->depth;
    memcpy(b + 5, key->parent_fp, 4);
    put32(b + 9, key->child);
    memcpy(b + 13, key->chain_code, 32);
    if (private_) {
        b[45] = 0;
        memcpy(b + 46, key->priv, 32);
    } else {
        memcpy(b + 45, key->pub, 33);
    }
    kg_err err = kg_chain_base58check_encode(out, out_cap, b, sizeof b);
    kg_wipe(b, sizeof b);
    return err;
}

/* Which kind and whether private, from the version; false if unknown. */
static bool version_lookup(uint32_t v, kg_wallet_xkey_kind *kind, bool *priv)
{
    for (int k = 0; k < KG_WALLET_XKEY_COUNT; k++)
        for (int p = 0; p < 2; p++)
            if (VERSIONS[k][p] == v) {
                *kind = (kg_wallet_xkey_kind)k;
                *priv = p == 1;
                return true;
            }
    return false;
}

static kg_err xkey_check(kg_wallet_hdkey *k, const uint8_t b[78], bool priv)
{
    k->curve = KG_WALLET_CURVE_SECP256K1;
    k->depth = b[4];
    memcpy(k->parent_fp, b + 5, 4);
    k->child = get32(b + 9);
    memcpy(k->chain_code, b + 13, 32);
    if (k->depth == 0 && (b[5] | b[6] | b[7] | b[8]))
        return kg_err_set(KG_ERR_BAD_INPUT, "zero depth with non-zero parent fingerprint: a master key "
                          "has no parent");
    if (k->depth == 0 && k->child != 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "zero depth with non-zero index: a master key has no index");
    if (priv) {
        if (b[45] == 0x02 || b[45] == 0x03)
            return kg_err_set(KG_ERR_BAD_INPUT, "prvkey version / pubkey mismatch: private version with "
                              "public key data");
        if (b[45] != 0x00)
            return kg_err_set(KG_ERR_BAD_INPUT, "invalid prvkey prefix %02x (private key data starts with "
                              "00)", b[45]);
        if (!kg_crypto_k1_seckey_valid(b + 46)) {
            uint8_t z = 0;
            for (int i = 46; i < 78; i++) z |= b[i];
            return kg_err_set(KG_ERR_BAD_INPUT, "private key %s not in 1..n-1", z ? ">= n" : "0");
        }
        memcpy(k->priv, b + 46, 32);
        k->has_priv = true;
        return kg_crypto_k1_pubkey(k->pub, 33, k->priv);
    }
    if (b[45] == 0x00)
        return kg_err_set(KG_ERR_BAD_INPUT, "pubkey version / prvkey mismatch: public version with private "
                          "key data");
    if (b[45] != 0x02 && b[45] != 0x03)
        return kg_err_set(KG_ERR_BAD_INPUT, "invalid pubkey prefix %02x (a compressed key starts with 02 or "
                          "03)", b[45]);
    if (kg_crypto_k1_pubkey_convert(k->pub, 33, b + 45, 33) != KG_OK)
        return kg_err_set(KG_ERR_BAD_INPUT, "invalid pubkey: not a point on secp256k1");
    return KG_OK;
}

kg_err kg_wallet_xkey_parse(kg_wallet_hdkey *out, kg_wallet_xkey_kind *kind, const char *text)
{
    memset(out, 0, sizeof *out);
    if (kind) *kind = KG_WALLET_XKEY_X;
    uint8_t b[80];
    size_t n = 0;
    kg_wallet_xkey_kind kd = KG_WALLET_XKEY_X;
    bool priv = false;
    kg_err err = kg_chain_base58check_decode(b, sizeof b, &n, text);
    if (err == KG_OK && n != 78)
        err = kg_err_set(KG_ERR_BAD_INPUT, "an extended key is 78 bytes, this one %zu", n);
    if (err == KG_OK && !version_lookup(get32(b), &kd, &priv))
        err = kg_err_set(KG_ERR_BAD_INPUT, "unknown extended key version %08x; expected xpub/xprv, "
                         "tpub/tprv or SLIP-132 y/z/u/v", get32(b));
    if (err == KG_OK) err = xkey_check(out, b, priv);
    if (err == KG_OK && kind) *kind = kd;
    if (err != KG_OK) kg_wallet_hdkey_wipe(out);
    kg_wipe(b, sizeof b);
    return err;
}
