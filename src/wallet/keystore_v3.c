/* Web3 Secret Storage (Ethereum keystore v3), the cryptographic core.
 *
 * Specification: the Ethereum wiki page "Web3 Secret Storage Definition"
 * (ethereum.org, "Web3 secret storage definition"):
 *   dk  = scrypt(password, salt, n, r, p, dklen)        kdf "scrypt"
 *       | PBKDF2-HMAC-SHA256(password, salt, c, dklen)  kdf "pbkdf2"
 *   ciphertext = AES-128-CTR(key = dk[0..16], iv, private key)
 *   mac = Keccak-256(dk[16..32] || ciphertext)
 * The MAC is checked (in constant time) before anything is decrypted, so a
 * wrong password is reported as such and no garbage key ever leaves here.
 * Geth additionally checks that the decrypted key matches the document's
 * "address"; so do we.
 *
 * This file is plain C over include/kashguard/crypto.h with fixed buffers
 * and no JSON, so the hardware wallet can reuse it; keystore_v3_json.c
 * parses and renders the JSON around it.
 *
 * Bounds on the kdf parameters: a keystore is untrusted input, and scrypt or
 * PBKDF2 with absurd parameters is a denial of service (memory or hours of
 * CPU). The limits admit every parameter set real wallets write (geth
 * standard N=2^18 r=8 p=1, geth light N=2^12 r=8 p=6, ethers N=2^17 r=8 p=1,
 * PBKDF2 c=262144) with room to spare. */
#include "wstore_int.h"

#include <kashguard/crypto.h>
#include <string.h>

#define SCRYPT_MAX_N (1ull << 20)
#define SCRYPT_MAX_MEM (256ull << 20)    /* 128 * N * r bytes */
#define SCRYPT_MAX_WORK (1ull << 22)     /* N * r * p */
#define PBKDF2_MAX_C 10000000u

void kg_wallet_keystore_params_default(kg_wallet_keystore_params *p, kg_wallet_keystore_kdf kdf)
{
    memset(p, 0, sizeof(*p));
    p->kdf = kdf;
    if (kdf == KG_WALLET_KEYSTORE_SCRYPT) {
        p->n = 1u << 18;
        p->r = 8;
        p->p = 1;
    } else {
        p->c = 262144;
    }
}

static kg_err scrypt_check(const kg_wallet_keystore_params *p)
{
    if (p->n < 2 || p->n > SCRYPT_MAX_N || (p->n & (p->n - 1)) != 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "keystore scrypt n must be a power of two from 2 to 2^20 "
                          "(got %llu)", (unsigned long long)p->n);
    if (p->r < 1 || p->r > 32)
        return kg_err_set(KG_ERR_BAD_INPUT, "keystore scrypt r must be 1..32 (got %u)", p->r);
    if (p->p < 1 || p->p > 16)
        return kg_err_set(KG_ERR_BAD_INPUT, "keystore scrypt p must be 1..16 (got %u)", p->p);
    if (128ull * p->n * p->r > SCRYPT_MAX_MEM)
        return kg_err_set(KG_ERR_BAD_INPUT, "keystore scrypt n=%llu r=%u needs %llu MiB; the limit is %llu MiB",
                          (unsigned long long)p->n, p->r,
                          (unsigned long long)((128ull * p->n * p->r) >> 20),
                          (unsigned long long)(SCRYPT_MAX_MEM >> 20));
    if (p->n * p->r * p->p > SCRYPT_MAX_WORK)
        return kg_err_set(KG_ERR_BAD_INPUT, "keystore scrypt n*r*p = %llu is over the limit 2^22",
                          (unsigned long long)(p->n * p->r * p->p));
    return KG_OK;
}

kg_err wstore_keystore_params_check(const kg_wallet_keystore_params *p)
{
    KG_ARG_CHECK(p != NULL);
    if (p->kdf == KG_WALLET_KEYSTORE_SCRYPT)
        return scrypt_check(p);
    if (p->kdf != KG_WALLET_KEYSTORE_PBKDF2)
        return kg_err_set(KG_ERR_BAD_INPUT, "keystore kdf must be scrypt or pbkdf2");
    if (p->c < 1 || p->c > PBKDF2_MAX_C)
        return kg_err_set(KG_ERR_BAD_INPUT, "keystore pbkdf2 c must be 1..%u (got %u)", PBKDF2_MAX_C, p->c);
    return KG_OK;
}

/* dk = KDF(password, salt) per the document's parameters. */
static kg_err derive(uint8_t dk[static WSTORE_KS_DKLEN], const wstore_keystore *ks,
                     const char *password, size_t password_len)
{
    kg_err e = wstore_keystore_params_check(&ks->kdf);
    if (e != KG_OK)
        return e;
    if (ks->salt_len < WSTORE_KS_SALT_MIN || ks->salt_len > WSTORE_KS_SALT_MAX)
        return kg_err_set(KG_ERR_BAD_INPUT, "keystore salt must be %d..%d bytes (got %zu)",
                          WSTORE_KS_SALT_MIN, WSTORE_KS_SALT_MAX, ks->salt_len);
    const uint8_t *pw = (const uint8_t *)password;
    if (ks->kdf.kdf == KG_WALLET_KEYSTORE_SCRYPT)
        e = kg_crypto_scrypt(dk, WSTORE_KS_DKLEN, pw, password_len, ks->salt, ks->salt_len,
                             ks->kdf.n, ks->kdf.r, ks->kdf.p);
    else
        e = kg_crypto_pbkdf2_sha256(dk, WSTORE_KS_DKLEN, pw, password_len, ks->salt, ks->salt_len,
                                    ks->kdf.c);
    if (e != KG_OK)
        kg_wipe(dk, WSTORE_KS_DKLEN);
    return e;
}

static void compute_mac(uint8_t mac[static 32], const uint8_t dk[static WSTORE_KS_DKLEN],
                        const uint8_t ct[static WSTORE_KS_KEY_BYTES])
{
    kg_crypto_keccak_ctx k;
    kg_crypto_keccak256_init(&k);
    kg_crypto_keccak256_update(&k, dk + 16, 16);
    kg_crypto_keccak256_update(&k, ct, WSTORE_KS_KEY_BYTES);
    kg_crypto_keccak256_final(mac, &k);
    kg_wipe(&k, sizeof(k));
}

kg_err wstore_eth_address(uint8_t address[static 20], const uint8_t priv32[static 32])
{
    uint8_t pub[65], h[32];
    kg_err e = kg_crypto_k1_pubkey(pub, sizeof(pub), priv32);
    if (e == KG_OK) {
        kg_crypto_keccak256(h, pub + 1, 64);
        memcpy(address, h + 12, 20);
    } else {
        memset(address, 0, 20);
    }
    return e;
}

kg_err wstore_keystore_decrypt(uint8_t priv32[static 32], uint8_t address[static 20],
                               const wstore_keystore *ks,
                               const char *password, size_t password_len)
{
    KG_ARG_CHECK(ks != NULL && (password != NULL || password_len == 0));
    memset(priv32, 0, 32);
    memset(address, 0, 20);
    uint8_t dk[WSTORE_KS_DKLEN], mac[32];
    kg_err e = derive(dk, ks, password, password_len);
    if (e != KG_OK)
        goto out;
    compute_mac(mac, dk, ks->ciphertext);
    int ok = kg_ct_equal(mac, ks->mac, 32);
    kg_declassify(&ok, sizeof(ok));
    if (!ok) {
        e = kg_err_set(KG_ERR_DECRYPT, "wrong password for this keystore (the MAC does not match)");
        goto out;
    }
    e = kg_crypto_aes128ctr(priv32, dk, ks->iv, ks->ciphertext, WSTORE_KS_KEY_BYTES);
    if (e != KG_OK)
        goto out;
    bool valid = kg_crypto_k1_seckey_valid(priv32);
    kg_declassify(&valid, sizeof(valid));
    if (!valid) {
        e = kg_err_set(KG_ERR_BAD_INPUT, "the keystore holds an invalid secp256k1 private key");
        goto out;
    }
    e = wstore_eth_address(address, priv32);
    if (e == KG_OK && ks->has_address && memcmp(address, ks->address, 20) != 0)
        e = kg_err_set(KG_ERR_BAD_INPUT, "the keystore's key does not match its \"address\" field; "
                       "the file was edited or is corrupt");
out:
    kg_wipe(dk, sizeof(dk));
    kg_wipe(mac, sizeof(mac));
    if (e != KG_OK) {
        kg_wipe(priv32, 32);
        memset(address, 0, 20);
    }
    return e;
}

kg_err wstore_keystore_encrypt(wstore_keystore *ks, const uint8_t priv32[static 32],
                               const char *password, size_t password_len,
                               const kg_wallet_keystore_params *p)
{
    KG_ARG_CHECK(ks != NULL && p != NULL && (password != NULL || password_len == 0));
    memset(ks, 0, sizeof(*ks));
    uint8_t dk[WSTORE_KS_DKLEN];
    bool valid = kg_crypto_k1_seckey_valid(priv32);
    kg_declassify(&valid, sizeof(valid));
    if (!valid)
        return kg_err_set(KG_ERR_BAD_INPUT, "not a valid secp256k1 private key (must be 32 bytes, 0 < k < n)");
    ks->kdf = *p;
    ks->salt_len = 32;
    kg_err e = kg_crypto_random(ks->salt, ks->salt_len);
    if (e == KG_OK)
        e = kg_crypto_random(ks->iv, sizeof(ks->iv));
    if (e == KG_OK)
        e = kg_crypto_random(ks->id, sizeof(ks->id));
    if (e == KG_OK)
        e = derive(dk, ks, password, password_len);
    if (e == KG_OK)
        e = kg_crypto_aes128ctr(ks->ciphertext, dk, ks->iv, priv32, WSTORE_KS_KEY_BYTES);
    if (e == KG_OK) {
        compute_mac(ks->mac, dk, ks->ciphertext);
        /* RFC 4122 §4.4: a random UUID has version 4 and variant 10xx. */
        ks->id[6] = (uint8_t)((ks->id[6] & 0x0f) | 0x40);
        ks->id[8] = (uint8_t)((ks->id[8] & 0x3f) | 0x80);
        e = wstore_eth_address(ks->address, priv32);
        ks->has_address = e == KG_OK;
    }
    kg_wipe(dk, sizeof(dk));
    if (e != KG_OK)
        memset(ks, 0, sizeof(*ks));
    return e;
}
