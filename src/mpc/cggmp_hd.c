/* BIP32 non-hardened derivation for CGGMP21 threshold ECDSA keys.
 *
 * A threshold key has no single private key, so only the public-key
 * derivation of BIP32 ("CKDpub", §Public parent key -> public child key) is
 * possible: each level computes
 *     I  = HMAC-SHA512(c_par, serP(K_par) || ser32(i))
 *     K' = I_L·G + K_par,  c' = I_R
 * and the private key of the child is the parent's plus I_L. The signers
 * never need the child private key either: the signing phase adds the
 * accumulated tweak Σ I_L (mod q) to the key (σ_i = k_i·(m + r·tweak) +
 * r·χ_i in CGGMP21's Fig. 8 with x replaced by x + tweak), so this file
 * returns that tweak together with the child public key.
 *
 * Hardened children (i >= 2^31) hash the parent PRIVATE key, which no party
 * holds: they are refused, with a message saying so.
 *
 * P-256 uses the same formula with its own order (SLIP-10 CKDpub). Where
 * I_L >= q or the child is the identity, BIP32 says the index is invalid
 * and the caller moves to i+1 (SLIP-10 instead re-hashes; we follow BIP32
 * and say so in the error, so the two agree whenever no retry happens).
 *
 * Inputs here are public (group key, chain code, path); the HMAC output
 * is still wiped because the tweak ends up in a signing key. */
#include "cggmp_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "kashguard/crypto.h"

#define HD_HARDENED 0x80000000u
/* BIP32 serialises depth in one byte. */
#define HD_MAX_DEPTH 255u

static bool hd_group_ok(kg_mpc_group_id g)
{
    return g == KG_MPC_GROUP_SECP256K1 || g == KG_MPC_GROUP_P256;
}

/* One component of a path: decimal digits only, canonical (no leading
 * zero), < 2^31. *end gets the first character after it. */
static kg_err hd_parse_index(const char *s, const char **end, uint32_t *out, size_t pos, const char *path)
{
    uint64_t v = 0;
    size_t n = 0;
    while (s[n] >= '0' && s[n] <= '9') {
        v = v * 10u + (uint64_t)(s[n] - '0');
        if (v >= HD_HARDENED)
            return kg_err_set(KG_ERR_BAD_INPUT,
                              "HD path \"%.80s\": component %zu is >= 2^31; MPC keys derive only "
                              "non-hardened children (indexes 0..2147483647)", path, pos);
        n++;
    }
    if (n == 0 && (s[0] == '/' || s[0] == '\0'))
        return kg_err_set(KG_ERR_BAD_INPUT, "HD path \"%.80s\": component %zu is empty", path, pos);
    if (n > 0 && (s[n] == '\'' || s[n] == 'h' || s[n] == 'H'))
        return kg_err_set(KG_ERR_BAD_INPUT,
                          "HD path \"%.80s\": component %zu is hardened; MPC keys derive only "
                          "non-hardened children (no party holds the private key a hardened step hashes)",
                          path, pos);
    if (n == 0 || (s[n] != '/' && s[n] != '\0'))
        return kg_err_set(KG_ERR_BAD_INPUT,
                          "HD path \"%.80s\": component %zu is not a decimal index", path, pos);
    if (n > 1 && s[0] == '0')
        return kg_err_set(KG_ERR_BAD_INPUT,
                          "HD path \"%.80s\": component %zu has a leading zero", path, pos);
    *out = (uint32_t)v;
    *end = s + n;
    return KG_OK;
}

kg_err kg_mpc_cggmp_hd_path_parse(const char *path, uint32_t *out, size_t *depth, size_t max)
{
    if (depth)
        *depth = 0;
    if (!path || !depth || (!out && max > 0))
        return kg_err_set(KG_ERR_ARG, "HD path: NULL argument");
    if (path[0] != 'm' || (path[1] != '\0' && path[1] != '/'))
        return kg_err_set(KG_ERR_BAD_INPUT, "HD path \"%.80s\": must start with \"m\" (e.g. \"m/0/5\")", path);
    const char *s = path + 1;
    size_t n = 0;
    while (*s == '/') {
        s++;
        if (n >= max || n >= HD_MAX_DEPTH) {
            if (out)
                kg_wipe(out, max * sizeof *out);
            return kg_err_set(KG_ERR_BAD_INPUT, "HD path \"%.80s\": deeper than %zu levels", path,
                              max < HD_MAX_DEPTH ? max : (size_t)HD_MAX_DEPTH);
        }
        const char *end = NULL;
        kg_err e = hd_parse_index(s, &end, &out[n], n + 1, path);
        if (e != KG_OK) {
            kg_wipe(out, max * sizeof *out);
            return e;
        }
        n++;
        s = end;
    }
    *depth = n;
    return KG_OK;
}

/* One CKDpub step in place on (K, c); *il gets I_L. */
static kg_err hd_step(kg_mpc_group_id g, kg_mpc_point *K, uint8_t c[32], kg_mpc_scalar *il, uint32_t i)
{
    uint8_t data[KG_MPC_POINT_MAX_BYTES + 4];
    uint8_t I[64];
    size_t plen = kg_mpc_group_point_len(g);
    kg_err e = kg_mpc_point_serialize(g, data, K);
    if (e != KG_OK)
        return kg_err_set(KG_ERR_BAD_INPUT, "HD derive: the parent key is the identity");
    data[plen] = (uint8_t)(i >> 24);
    data[plen + 1] = (uint8_t)(i >> 16);
    data[plen + 2] = (uint8_t)(i >> 8);
    data[plen + 3] = (uint8_t)i;
    e = kg_crypto_hmac_sha512(I, c, 32, data, plen + 4);
    if (e != KG_OK)
        return e;
    /* I_L < q or the index is invalid (scalar_from_bytes refuses >= q). */
    e = kg_mpc_scalar_from_bytes(g, il, I, 32);
    kg_mpc_point child;
    if (e == KG_OK) {
        kg_mpc_point_base_mul(g, &child, il);
        kg_mpc_point_add(g, &child, &child, K);
    }
    if (e != KG_OK || kg_mpc_point_is_identity(g, &child)) {
        kg_wipe(I, sizeof I);
        return kg_err_set(KG_ERR_BAD_INPUT, "HD derive: index %" PRIu32 " is invalid (BIP32: I_L >= n or "
                          "the child is the identity), use %" PRIu32, i, i + 1u);
    }
    *K = child;
    memcpy(c, I + 32, 32);
    kg_wipe(I, sizeof I);
    return KG_OK;
}

kg_err kg_mpc_cggmp_hd_derive(kg_mpc_group_id g, const kg_mpc_point *pub, const uint8_t chain_code[32],
                              const uint32_t *path, size_t depth, kg_mpc_scalar *tweak,
                              kg_mpc_point *child_pub, uint8_t child_chain[32])
{
    if (!pub || !chain_code || !tweak || !child_pub || !child_chain || (depth > 0 && !path))
        return kg_err_set(KG_ERR_ARG, "HD derive: NULL argument");
    if (!hd_group_ok(g)) {
        memset(tweak, 0, sizeof *tweak);
        memset(child_pub, 0, sizeof *child_pub);
        memset(child_chain, 0, 32);
        return kg_err_set(KG_ERR_BAD_INPUT, "HD derive: group %s is not a CGGMP21 group", kg_mpc_group_name(g));
    }
    kg_mpc_point K = *pub;
    uint8_t c[32];
    memcpy(c, chain_code, 32);
    kg_mpc_scalar acc, il;
    kg_mpc_scalar_zero(g, &acc);
    kg_err e = KG_OK;
    if (kg_mpc_point_is_identity(g, &K))
        e = kg_err_set(KG_ERR_BAD_INPUT, "HD derive: the parent key is the identity");
    if (depth > HD_MAX_DEPTH)
        e = kg_err_set(KG_ERR_BAD_INPUT, "HD derive: path deeper than %u levels", HD_MAX_DEPTH);
    for (size_t d = 0; e == KG_OK && d < depth; d++) {
        if (path[d] >= HD_HARDENED) {
            e = kg_err_set(KG_ERR_BAD_INPUT, "HD derive: index %" PRIu32 " at level %zu is hardened; MPC "
                           "keys derive only non-hardened children", path[d], d + 1);
            break;
        }
        e = hd_step(g, &K, c, &il, path[d]);
        if (e == KG_OK)
            kg_mpc_scalar_add(g, &acc, &acc, &il);
    }
    if (e == KG_OK) {
        *tweak = acc;
        *child_pub = K;
        memcpy(child_chain, c, 32);
    } else {
        memset(tweak, 0, sizeof *tweak);
        memset(child_pub, 0, sizeof *child_pub);
        memset(child_chain, 0, 32);
    }
    kg_wipe(&acc, sizeof acc);
    kg_wipe(&il, sizeof il);
    kg_wipe(c, sizeof c);
    return e;
}
