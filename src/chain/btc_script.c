/* Bitcoin networks, output script templates and addresses.
 *
 * Templates (BIP16 P2SH, BIP141 P2WPKH/P2WSH, BIP341 P2TR):
 *   P2PKH  OP_DUP OP_HASH160 <20> OP_EQUALVERIFY OP_CHECKSIG   76 a9 14 .. 88 ac
 *   P2SH   OP_HASH160 <20> OP_EQUAL                            a9 14 .. 87
 *   P2WPKH OP_0 <20>   P2WSH OP_0 <32>   P2TR OP_1 <32>        00 14 / 00 20 / 51 20
 * A segwit output is OP_n (n = 0..16) followed by one push of 2..40 bytes
 * (BIP141 "witness program"). Addresses: P2PKH/P2SH are Base58Check with
 * the network's version byte; segwit outputs are Bech32 (v0) or Bech32m
 * (v1+) with the network's HRP. Decoding an address always checks that it
 * belongs to the expected network, so a testnet address pasted into a
 * mainnet wallet is refused with a message saying so. */
#include <string.h>
#include <strings.h>

#include "btc_int.h"

static const kg_chain_btc_params NETWORKS[] = {
    [KG_CHAIN_BTC_MAINNET] = { "mainnet", "bc", 0x00, 0x05, 0x80 },
    [KG_CHAIN_BTC_TESTNET] = { "testnet", "tb", 0x6f, 0xc4, 0xef },
    [KG_CHAIN_BTC_SIGNET] = { "signet", "tb", 0x6f, 0xc4, 0xef },
    [KG_CHAIN_BTC_REGTEST] = { "regtest", "bcrt", 0x6f, 0xc4, 0xef },
};
#define NNETWORKS (sizeof NETWORKS / sizeof NETWORKS[0])

const kg_chain_btc_params *kg_chain_btc_network_params(kg_chain_btc_network net)
{
    if ((unsigned)net >= NNETWORKS)
        return NULL;
    return &NETWORKS[net];
}

kg_err kg_chain_btc_network_parse(kg_chain_btc_network *out, const char *name)
{
    static const struct { const char *name; kg_chain_btc_network net; } NAMES[] = {
        { "mainnet", KG_CHAIN_BTC_MAINNET }, { "main", KG_CHAIN_BTC_MAINNET },
        { "bitcoin", KG_CHAIN_BTC_MAINNET }, { "testnet", KG_CHAIN_BTC_TESTNET },
        { "test", KG_CHAIN_BTC_TESTNET }, { "testnet3", KG_CHAIN_BTC_TESTNET },
        { "testnet4", KG_CHAIN_BTC_TESTNET }, { "signet", KG_CHAIN_BTC_SIGNET },
        { "regtest", KG_CHAIN_BTC_REGTEST },
    };
    *out = KG_CHAIN_BTC_MAINNET;
    for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++)
        if (strcasecmp(name, NAMES[i].name) == 0) {
            *out = NAMES[i].net;
            return KG_OK;
        }
    return kg_err_set(KG_ERR_BAD_INPUT, "unknown bitcoin network '%.32s'; use mainnet, testnet, signet or regtest", name);
}

static void spk_set(kg_chain_btc_spk *out, const uint8_t *pre, size_t pre_len, const uint8_t *h, size_t hl,
                    const uint8_t *post, size_t post_len)
{
    memset(out, 0, sizeof *out);
    memcpy(out->data, pre, pre_len);
    memcpy(out->data + pre_len, h, hl);
    if (post_len > 0)
        memcpy(out->data + pre_len + hl, post, post_len);
    out->len = pre_len + hl + post_len;
}

void kg_chain_btc_spk_p2pkh(kg_chain_btc_spk *out, const uint8_t hash160[static 20])
{
    spk_set(out, (const uint8_t[]){ 0x76, 0xa9, 0x14 }, 3, hash160, 20, (const uint8_t[]){ 0x88, 0xac }, 2);
}

void kg_chain_btc_spk_p2sh(kg_chain_btc_spk *out, const uint8_t hash160[static 20])
{
    spk_set(out, (const uint8_t[]){ 0xa9, 0x14 }, 2, hash160, 20, (const uint8_t[]){ 0x87 }, 1);
}

void kg_chain_btc_spk_p2wpkh(kg_chain_btc_spk *out, const uint8_t hash160[static 20])
{
    spk_set(out, (const uint8_t[]){ 0x00, 0x14 }, 2, hash160, 20, NULL, 0);
}

void kg_chain_btc_spk_p2wsh(kg_chain_btc_spk *out, const uint8_t sha256[static 32])
{
    spk_set(out, (const uint8_t[]){ 0x00, 0x20 }, 2, sha256, 32, NULL, 0);
}

void kg_chain_btc_spk_p2tr(kg_chain_btc_spk *out, const uint8_t output_xonly[static 32])
{
    spk_set(out, (const uint8_t[]){ 0x51, 0x20 }, 2, output_xonly, 32, NULL, 0);
}

static kg_err spk_taproot_for_key(kg_chain_btc_spk *out, const uint8_t *pub, size_t pub_len,
                                  const uint8_t *merkle_root)
{
    uint8_t internal[32], q[32];
    if (pub_len == 33) {
        uint8_t chk[33];
        if (kg_crypto_k1_pubkey_convert(chk, 33, pub, 33) != KG_OK)
            return kg_err_set(KG_ERR_BAD_INPUT, "taproot: the 33-byte key is not a valid secp256k1 point");
        memcpy(internal, pub + 1, 32);
    } else if (pub_len == 32) {
        memcpy(internal, pub, 32);
    } else {
        return kg_err_set(KG_ERR_BAD_INPUT, "taproot: the internal key must be 32 (x-only) or 33 bytes, not %zu", pub_len);
    }
    int parity = 0;
    if (kg_crypto_k1_taproot_output(q, &parity, internal, merkle_root) != KG_OK)
        return kg_err_set(KG_ERR_BAD_INPUT, "taproot: the internal key is not a valid x-only key");
    kg_chain_btc_spk_p2tr(out, q);
    return KG_OK;
}

kg_err kg_chain_btc_spk_for_key(kg_chain_btc_spk *out, kg_chain_btc_script_type type,
                                const uint8_t *pub, size_t pub_len, const uint8_t *merkle_root)
{
    memset(out, 0, sizeof *out);
    if (type == KG_CHAIN_BTC_P2TR)
        return spk_taproot_for_key(out, pub, pub_len, merkle_root);
    bool compressed_only = type == KG_CHAIN_BTC_P2WPKH || type == KG_CHAIN_BTC_P2SH_P2WPKH;
    if (type != KG_CHAIN_BTC_P2PKH && !compressed_only)
        return kg_err_set(KG_ERR_BAD_INPUT, "no key template for script type %d; use P2PKH, P2WPKH, P2SH-P2WPKH or P2TR", (int)type);
    uint8_t chk[65];
    if ((pub_len != 33 && (pub_len != 65 || compressed_only)) ||
        kg_crypto_k1_pubkey_convert(chk, pub_len, pub, pub_len) != KG_OK)
        return kg_err_set(KG_ERR_BAD_INPUT, "not a valid %s secp256k1 public key (%zu bytes)",
                          compressed_only ? "33-byte compressed" : "33/65-byte", pub_len);
    uint8_t h[20];
    kg_crypto_hash160(h, pub, pub_len);
    if (type == KG_CHAIN_BTC_P2PKH) {
        kg_chain_btc_spk_p2pkh(out, h);
    } else if (type == KG_CHAIN_BTC_P2WPKH) {
        kg_chain_btc_spk_p2wpkh(out, h);
    } else {
        kg_chain_btc_spk redeem;
        kg_chain_btc_spk_p2wpkh(&redeem, h);
        kg_crypto_hash160(h, redeem.data, redeem.len);
        kg_chain_btc_spk_p2sh(out, h);
    }
    return KG_OK;
}

kg_err kg_chain_btc_spk_for_script(kg_chain_btc_spk *out, kg_chain_btc_script_type type,
                                   const uint8_t *script, size_t script_len)
{
    memset(out, 0, sizeof *out);
    if (script_len > 0 && script == NULL)
        return kg_err_set(KG_ERR_BAD_INPUT, "no script given");
    if (type == KG_CHAIN_BTC_P2SH) {
        if (script_len > 520)
            return kg_err_set(KG_ERR_BAD_INPUT, "a P2SH redeem script is at most 520 bytes, not %zu", script_len);
        uint8_t h[20];
        kg_crypto_hash160(h, script, script_len);
        kg_chain_btc_spk_p2sh(out, h);
        return KG_OK;
    }
    if (type == KG_CHAIN_BTC_P2WSH) {
        if (script_len > KG_CHAIN_BTC_SCRIPT_MAX_BYTES)
            return kg_err_set(KG_ERR_BAD_INPUT, "a witness script is at most 10000 bytes, not %zu", script_len);
        uint8_t h[32];
        kg_crypto_sha256(h, script, script_len);
        kg_chain_btc_spk_p2wsh(out, h);
        return KG_OK;
    }
    return kg_err_set(KG_ERR_BAD_INPUT, "script type %d is not a script-hash output; use P2SH or P2WSH", (int)type);
}

static kg_chain_btc_script_type classify_witness(uint8_t *prog, size_t *prog_len, const uint8_t *s, size_t n)
{
    if (n < 4 || n > 42 || (s[0] != 0 && (s[0] < 0x51 || s[0] > 0x60)) || s[1] != n - 2)
        return KG_CHAIN_BTC_UNKNOWN;
    if (prog != NULL) {
        memcpy(prog, s + 2, n - 2);
        *prog_len = n - 2;
    }
    if (s[0] == 0 && n == 22)
        return KG_CHAIN_BTC_P2WPKH;
    if (s[0] == 0 && n == 34)
        return KG_CHAIN_BTC_P2WSH;
    if (s[0] == 0x51 && n == 34)
        return KG_CHAIN_BTC_P2TR;
    return KG_CHAIN_BTC_WITNESS_UNKNOWN;
}

kg_chain_btc_script_type kg_chain_btc_spk_classify(uint8_t *prog, size_t *prog_len, const uint8_t *spk, size_t spk_len)
{
    if (prog_len != NULL)
        *prog_len = 0;
    if (spk == NULL || spk_len == 0)
        return KG_CHAIN_BTC_UNKNOWN;
    if (spk_len == 25 && spk[0] == 0x76 && spk[1] == 0xa9 && spk[2] == 0x14 && spk[23] == 0x88 && spk[24] == 0xac) {
        if (prog != NULL) {
            memcpy(prog, spk + 3, 20);
            *prog_len = 20;
        }
        return KG_CHAIN_BTC_P2PKH;
    }
    if (spk_len == 23 && spk[0] == 0xa9 && spk[1] == 0x14 && spk[22] == 0x87) {
        if (prog != NULL) {
            memcpy(prog, spk + 2, 20);
            *prog_len = 20;
        }
        return KG_CHAIN_BTC_P2SH;
    }
    if (spk[0] == 0x6a)
        return KG_CHAIN_BTC_OP_RETURN;
    uint8_t tmp[40];
    size_t tl = 0;
    kg_chain_btc_script_type t = classify_witness(tmp, &tl, spk, spk_len);
    if (t != KG_CHAIN_BTC_UNKNOWN && prog != NULL) {
        memcpy(prog, tmp, tl);
        *prog_len = tl;
    }
    return t;
}

void kg_chain_btc_tap_leaf_hash(uint8_t out[static 32], uint8_t leaf_version, const uint8_t *script, size_t script_len)
{
    /* TaggedHash("TapLeaf", leaf_version || compact_size(len) || script), hashed incrementally. */
    uint8_t tag[32];
    kg_crypto_sha256(tag, (const uint8_t *)"TapLeaf", 7);
    kg_crypto_sha256_ctx ctx;
    kg_crypto_sha256_init(&ctx);
    kg_crypto_sha256_update(&ctx, tag, 32);
    kg_crypto_sha256_update(&ctx, tag, 32);
    btc_writer w = { .sha = &ctx };
    btc_w_u8(&w, leaf_version);
    btc_w_varbytes(&w, script, script_len);
    kg_crypto_sha256_final(out, &ctx);
}

void kg_chain_btc_tap_branch_hash(uint8_t out[static 32], const uint8_t a[static 32], const uint8_t b[static 32])
{
    uint8_t buf[64];
    bool swap = memcmp(a, b, 32) > 0;
    memcpy(buf, swap ? b : a, 32);
    memcpy(buf + 32, swap ? a : b, 32);
    kg_crypto_tagged_hash(out, "TapBranch", buf, 64);
}

kg_err kg_chain_btc_address_encode(char *out, size_t out_cap, kg_chain_btc_network net, const uint8_t *spk, size_t spk_len)
{
    if (out_cap > 0)
        out[0] = '\0';
    const kg_chain_btc_params *p = kg_chain_btc_network_params(net);
    if (p == NULL)
        return kg_err_set(KG_ERR_BAD_INPUT, "unknown bitcoin network %d", (int)net);
    uint8_t prog[40];
    size_t pl = 0;
    kg_chain_btc_script_type t = kg_chain_btc_spk_classify(prog, &pl, spk, spk_len);
    if (t == KG_CHAIN_BTC_P2PKH || t == KG_CHAIN_BTC_P2SH) {
        uint8_t payload[21];
        payload[0] = t == KG_CHAIN_BTC_P2PKH ? p->p2pkh : p->p2sh;
        memcpy(payload + 1, prog, 20);
        return kg_chain_base58check_encode(out, out_cap, payload, 21);
    }
    if (t == KG_CHAIN_BTC_P2WPKH || t == KG_CHAIN_BTC_P2WSH || t == KG_CHAIN_BTC_P2TR || t == KG_CHAIN_BTC_WITNESS_UNKNOWN) {
        unsigned ver = spk[0] == 0 ? 0u : (unsigned)(spk[0] - 0x50);
        return kg_chain_segwit_addr_encode(out, out_cap, p->hrp, ver, prog, pl);
    }
    return kg_err_set(KG_ERR_BAD_INPUT, "this output script has no address form (not P2PKH, P2SH or segwit)");
}

/* Name of the first network whose HRP is hrp, or NULL. */
static const char *network_of_hrp(const char *hrp)
{
    for (size_t i = 0; i < NNETWORKS; i++)
        if (strcasecmp(hrp, NETWORKS[i].hrp) == 0)
            return NETWORKS[i].name;
    return NULL;
}

static kg_err address_decode_segwit(kg_chain_btc_spk *out, const kg_chain_btc_params *p, const char *hrp, const char *addr)
{
    if (strcasecmp(hrp, p->hrp) != 0) {
        const char *other = network_of_hrp(hrp);
        if (other != NULL)
            return kg_err_set(KG_ERR_BAD_INPUT, "address is for %s, expected %s", other, p->name);
        return kg_err_set(KG_ERR_BAD_INPUT, "address prefix '%s' is not bitcoin %s's '%s'", hrp, p->name, p->hrp);
    }
    unsigned ver = 0;
    uint8_t prog[KG_CHAIN_SEGWIT_PROGRAM_MAX];
    size_t pl = 0;
    kg_err e = kg_chain_segwit_addr_decode(&ver, prog, &pl, p->hrp, addr);
    if (e != KG_OK)
        return e;
    memset(out, 0, sizeof *out);
    out->data[0] = ver == 0 ? 0 : (uint8_t)(0x50 + ver);
    out->data[1] = (uint8_t)pl;
    memcpy(out->data + 2, prog, pl);
    out->len = pl + 2;
    return KG_OK;
}

static kg_err address_decode_base58(kg_chain_btc_spk *out, const kg_chain_btc_params *p, const char *addr)
{
    uint8_t payload[64];
    size_t n = 0;
    kg_err e = kg_chain_base58check_decode(payload, sizeof payload, &n, addr);
    if (e != KG_OK)
        return e;
    if (n != 21)
        return kg_err_set(KG_ERR_BAD_INPUT, "base58 address payload is %zu bytes, expected 21", n);
    if (payload[0] == p->p2pkh) {
        kg_chain_btc_spk_p2pkh(out, payload + 1);
        return KG_OK;
    }
    if (payload[0] == p->p2sh) {
        kg_chain_btc_spk_p2sh(out, payload + 1);
        return KG_OK;
    }
    for (size_t i = 0; i < NNETWORKS; i++)
        if (payload[0] == NETWORKS[i].p2pkh || payload[0] == NETWORKS[i].p2sh)
            return kg_err_set(KG_ERR_BAD_INPUT, "address is for %s, expected %s", NETWORKS[i].name, p->name);
    return kg_err_set(KG_ERR_BAD_INPUT, "unknown address version byte 0x%02x", payload[0]);
}

/* Does addr look like HRP '1' ... for one of our HRPs (to pick which error to report)? */
static bool looks_bech32(const char *addr)
{
    for (size_t i = 0; i < NNETWORKS; i++) {
        size_t hl = strlen(NETWORKS[i].hrp);
        if (strncasecmp(addr, NETWORKS[i].hrp, hl) == 0 && addr[hl] == '1')
            return true;
    }
    return false;
}

kg_err kg_chain_btc_address_decode(kg_chain_btc_spk *out, kg_chain_btc_script_type *type,
                                   kg_chain_btc_network net, const char *addr)
{
    memset(out, 0, sizeof *out);
    if (type != NULL)
        *type = KG_CHAIN_BTC_UNKNOWN;
    const kg_chain_btc_params *p = kg_chain_btc_network_params(net);
    if (p == NULL)
        return kg_err_set(KG_ERR_BAD_INPUT, "unknown bitcoin network %d", (int)net);
    char hrp[KG_CHAIN_BECH32_HRP_MAX + 1];
    uint8_t five[KG_CHAIN_BECH32_MAX_LEN];
    size_t n = 0;
    kg_chain_bech32_variant v;
    kg_err e = kg_chain_bech32_decode(hrp, sizeof hrp, five, sizeof five, &n, &v, addr, 0);
    if (e == KG_OK)
        e = address_decode_segwit(out, p, hrp, addr);
    else if (!looks_bech32(addr))
        e = address_decode_base58(out, p, addr);
    if (e != KG_OK) {
        memset(out, 0, sizeof *out);
        return e;
    }
    if (type != NULL)
        *type = kg_chain_btc_spk_classify(NULL, NULL, out->data, out->len);
    return KG_OK;
}

kg_err kg_chain_btc_address_from_key(char *out, size_t out_cap, kg_chain_btc_network net,
                                     kg_chain_btc_script_type type, const uint8_t *pub, size_t pub_len,
                                     const uint8_t *merkle_root)
{
    if (out_cap > 0)
        out[0] = '\0';
    kg_chain_btc_spk spk;
    kg_err e = kg_chain_btc_spk_for_key(&spk, type, pub, pub_len, merkle_root);
    if (e != KG_OK)
        return e;
    return kg_chain_btc_address_encode(out, out_cap, net, spk.data, spk.len);
}
