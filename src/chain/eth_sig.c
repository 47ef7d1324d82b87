/* Ethereum addresses, ECDSA signatures through the signer seam, and
 * EIP-191 personal messages.
 *
 * Address (Yellow Paper eq. 284): the last 20 bytes of keccak256 of the
 * 64-byte uncompressed public key X || Y. Its text form is EIP-55: the
 * lower-case hex digits, with each letter upper-cased when the matching
 * nibble of keccak256(lower-case hex) is 8 or more. A mixed-case input
 * therefore carries a checksum that must verify; an all-lower or all-upper
 * one carries none and is accepted as is (EIP-55 "backwards compatible").
 *
 * Signatures: Ethereum needs the recovery id (y parity) next to r and s,
 * and only s <= n/2 (EIP-2). kg_chain_eth_sign_digest asks the signer for a
 * KG_SIG_ECDSA_SECP256K1 signature and then checks it by recovering the
 * public key: this also finds the parity for signers (MPC) that do not
 * report one, and catches a signer that signed with the wrong key.
 *
 * personal_sign (EIP-191 version 0x45): keccak256("\x19Ethereum Signed
 * Message:\n" || decimal length || message), signature r || s || v with
 * v = 27 + parity. */
#include "eth_int.h"

#include <stdio.h>
#include <string.h>

const uint8_t kg_chain_eth_secp_n[32] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41
};
const uint8_t kg_chain_eth_secp_half_n[32] = {
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0
};

/* ------------------------------------------------------------ addresses */

kg_err kg_chain_eth_addr_from_pubkey(uint8_t addr[static 20], const uint8_t *pub, size_t pub_len)
{
    uint8_t full[65], h[32];
    memset(addr, 0, 20);
    if (pub_len != 33 && pub_len != 65)
        return kg_err_set(KG_ERR_BAD_INPUT, "public key is %zu bytes; expected 33 or 65 (SEC1)", pub_len);
    if (kg_crypto_k1_pubkey_convert(full, 65, pub, pub_len) != KG_OK)
        return kg_err_set(KG_ERR_BAD_INPUT, "public key is not a valid secp256k1 point");
    kg_crypto_keccak256(h, full + 1, 64);
    memcpy(addr, h + 12, 20);
    return KG_OK;
}

void kg_chain_eth_addr_to_str(char out[static KG_CHAIN_ETH_ADDR_STR_BYTES], const uint8_t addr[static 20])
{
    char lower[41];
    uint8_t h[32];
    kg_hex_encode(lower, addr, 20);
    kg_crypto_keccak256(h, (const uint8_t *)lower, 40);
    out[0] = '0';
    out[1] = 'x';
    for (size_t i = 0; i < 40; i++) {
        unsigned nib = (h[i / 2] >> (i % 2 ? 0 : 4)) & 0xf;
        char c = lower[i];
        out[2 + i] = (c >= 'a' && nib >= 8) ? (char)(c - 'a' + 'A') : c;
    }
    out[42] = '\0';
}

kg_err kg_chain_eth_addr_parse(uint8_t addr[static 20], const char *s)
{
    bool upper = false, lower = false;
    size_t len = 0;
    memset(addr, 0, 20);
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        s += 2;
    len = strlen(s);
    if (len != 40)
        return kg_err_set(KG_ERR_BAD_INPUT, "address must be 0x and 40 hex digits (got %zu digits)", len);
    for (size_t i = 0; i < 40; i++) {
        char c = s[i];
        if (c >= 'a' && c <= 'f')
            lower = true;
        else if (c >= 'A' && c <= 'F')
            upper = true;
        else if (c < '0' || c > '9')
            return kg_err_set(KG_ERR_BAD_INPUT, "address has a non-hex character at position %zu", i + 2);
    }
    uint8_t a[20];
    size_t n = 0;
    if (kg_hex_decode(a, sizeof a, &n, s) != KG_OK || n != 20)
        return kg_err_set(KG_ERR_BAD_INPUT, "address is not 20 bytes of hex");
    if (upper && lower) {
        char want[KG_CHAIN_ETH_ADDR_STR_BYTES];
        kg_chain_eth_addr_to_str(want, a);
        if (memcmp(want + 2, s, 40) != 0)
            return kg_err_set(KG_ERR_BAD_INPUT,
                              "address checksum mismatch (EIP-55): check the address, or give it all in lower case");
    }
    memcpy(addr, a, 20);
    return KG_OK;
}

/* ----------------------------------------------------------- signatures */

bool kg_chain_eth_sig_valid(const kg_chain_eth_sig *sig, bool low_s)
{
    if (kg_chain_eth_is_zero(sig->r, 32) || kg_chain_eth_is_zero(sig->s, 32))
        return false;
    if (memcmp(sig->r, kg_chain_eth_secp_n, 32) >= 0 || memcmp(sig->s, kg_chain_eth_secp_n, 32) >= 0)
        return false;
    if (low_s && memcmp(sig->s, kg_chain_eth_secp_half_n, 32) > 0)
        return false;
    return sig->y_parity == 0 || sig->y_parity == 1;
}

kg_err kg_chain_eth_sig_recover(uint8_t addr[static 20], const kg_chain_eth_sig *sig, const uint8_t digest[static 32])
{
    uint8_t sig64[64], pub[65];
    memset(addr, 0, 20);
    if (!kg_chain_eth_sig_valid(sig, true))
        return kg_err_set(KG_ERR_VERIFY, "invalid signature values: r and s must be in [1, n-1], s <= n/2 (EIP-2), "
                                         "and the y parity 0 or 1");
    memcpy(sig64, sig->r, 32);
    memcpy(sig64 + 32, sig->s, 32);
    if (kg_crypto_k1_recover(pub, sig64, sig->y_parity, digest) != KG_OK)
        return kg_err_set(KG_ERR_VERIFY, "no public key recovers from this signature (EC recovery failed)");
    kg_crypto_keccak256(pub, pub + 1, 64);
    memcpy(addr, pub + 12, 20);
    return KG_OK;
}

/* Which parity (0/1) makes sig64 recover pub65 over digest; -1 if none. */
static int find_parity(const uint8_t sig64[static 64], int hint, const uint8_t pub65[static 65],
                       const uint8_t digest[static 32])
{
    int order[2] = { hint == 1 ? 1 : 0, hint == 1 ? 0 : 1 };
    for (int i = 0; i < 2; i++) {
        uint8_t got[65];
        if (kg_crypto_k1_recover(got, sig64, order[i], digest) == KG_OK && memcmp(got, pub65, 65) == 0)
            return order[i];
    }
    return -1;
}

kg_err kg_chain_eth_sign_digest(kg_signer *signer, kg_chain_eth_sig *out, const kg_key_ref *ref,
                                const uint8_t digest[static 32])
{
    kg_pubkey pub = { 0 };
    kg_signature sig = { 0 };
    uint8_t pub65[65];
    memset(out, 0, sizeof *out);
    kg_err err = kg_signer_public_key(signer, &pub, ref, KG_SIG_ECDSA_SECP256K1);
    if (err != KG_OK)
        return err;
    if (kg_crypto_k1_pubkey_convert(pub65, 65, pub.data, pub.len) != KG_OK)
        return kg_err_set(KG_ERR_CRYPTO, "the signer returned a public key that is not on secp256k1");
    err = kg_signer_sign(signer, &sig, ref, KG_SIG_ECDSA_SECP256K1, digest, 32);
    if (err != KG_OK)
        return err;
    if (sig.len != 64)
        return kg_err_set(KG_ERR_CRYPTO, "the signer returned a %zu-byte signature; expected 64 (r||s)", sig.len);
    kg_chain_eth_sig s = { .y_parity = 0 };
    memcpy(s.r, sig.data, 32);
    memcpy(s.s, sig.data + 32, 32);
    if (!kg_chain_eth_sig_valid(&s, true))
        return kg_err_set(KG_ERR_CRYPTO, "the signer returned an invalid or high-S signature");
    s.y_parity = find_parity(sig.data, sig.recid, pub65, digest);
    if (s.y_parity < 0)
        return kg_err_set(KG_ERR_CRYPTO, "the signer's signature does not verify under its public key");
    *out = s;
    return KG_OK;
}

void kg_chain_eth_sig_to_bytes(uint8_t out[static 65], const kg_chain_eth_sig *sig)
{
    memcpy(out, sig->r, 32);
    memcpy(out + 32, sig->s, 32);
    out[64] = (uint8_t)(27 + sig->y_parity);
}

kg_err kg_chain_eth_sig_from_bytes(kg_chain_eth_sig *out, const uint8_t in[static 65])
{
    memset(out, 0, sizeof *out);
    int v = in[64];
    if (v == 27 || v == 28)
        v -= 27;
    if (v != 0 && v != 1)
        return kg_err_set(KG_ERR_BAD_INPUT, "signature v is %d; expected 27 or 28 (or 0/1)", in[64]);
    memcpy(out->r, in, 32);
    memcpy(out->s, in + 32, 32);
    out->y_parity = v;
    return KG_OK;
}

/* ------------------------------------------------------------- EIP-191 */

void kg_chain_eth_personal_hash(uint8_t out[static 32], const uint8_t *msg, size_t msg_len)
{
    char prefix[64];
    kg_crypto_keccak_ctx k;
    int n = snprintf(prefix, sizeof prefix, "\x19" "Ethereum Signed Message:\n%zu", msg_len);
    kg_crypto_keccak256_init(&k);
    kg_crypto_keccak256_update(&k, (const uint8_t *)prefix, (size_t)n);
    if (msg_len > 0)
        kg_crypto_keccak256_update(&k, msg, msg_len);
    kg_crypto_keccak256_final(out, &k);
}

kg_err kg_chain_eth_personal_sign(kg_signer *signer, uint8_t sig[static 65], const kg_key_ref *ref,
                                  const uint8_t *msg, size_t msg_len)
{
    uint8_t h[32];
    kg_chain_eth_sig s;
    memset(sig, 0, 65);
    kg_chain_eth_personal_hash(h, msg, msg_len);
    kg_err err = kg_chain_eth_sign_digest(signer, &s, ref, h);
    if (err == KG_OK)
        kg_chain_eth_sig_to_bytes(sig, &s);
    return err;
}

kg_err kg_chain_eth_personal_recover(uint8_t addr[static 20], const uint8_t sig[static 65], const uint8_t *msg,
                                     size_t msg_len)
{
    uint8_t h[32];
    kg_chain_eth_sig s;
    memset(addr, 0, 20);
    if (kg_chain_eth_sig_from_bytes(&s, sig) != KG_OK)
        return kg_err_set(KG_ERR_VERIFY, "signature v must be 27 or 28");
    kg_chain_eth_personal_hash(h, msg, msg_len);
    return kg_chain_eth_sig_recover(addr, &s, h);
}
