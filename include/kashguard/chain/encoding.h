/* KashGuard chain layer: text encodings of addresses and keys shared by
 * several chains.
 *
 *  - Base58 and Base58Check (Bitcoin legacy addresses, WIF, xpub/xprv).
 *  - Bech32 (BIP173) and Bech32m (BIP350) with any human-readable part
 *    (Bitcoin segwit addresses; Cosmos reuses it with its own HRPs), and the
 *    generic regrouping of 8-bit bytes into 5-bit groups and back.
 *  - Segwit addresses: witness version + witness program (BIP173/BIP350).
 *
 * Plain C17, no allocation, no JSON/HTTP: the firmware reuses this file.
 * Every decoder takes untrusted text: bad input returns KG_ERR_BAD_INPUT
 * with a detail naming the problem (the bad character and its position,
 * "bad checksum", mixed case, length) and leaves the outputs zeroed.
 * Nothing here is secret: all functions are variable time. */
#ifndef KASHGUARD_CHAIN_ENCODING_H
#define KASHGUARD_CHAIN_ENCODING_H

#include "../base.h"

/* ------------------------------------------------------------ Base58 */

/** Base58 text of n bytes is at most this long (plus the NUL). */
#define KG_CHAIN_BASE58_MAX_LEN(n) ((n) * 138 / 100 + 2)
/** Longest input (bytes) the Base58 coders accept: bounds the quadratic work. */
#define KG_CHAIN_BASE58_MAX_BYTES 256

/** Base58 (Bitcoin alphabet) of in. out gets a NUL-terminated string.
 *  Returns KG_OK | KG_ERR_BAD_INPUT (in_len over KG_CHAIN_BASE58_MAX_BYTES,
 *  or out_cap too small: detail says how many bytes are needed). */
kg_err kg_chain_base58_encode(char *out, size_t out_cap, const uint8_t *in, size_t in_len)
    KG_WARN_UNUSED KG_NONNULL(1);
/** Decode Base58 into out (out_cap bytes); *out_len gets the size.
 *  Returns KG_OK | KG_ERR_BAD_INPUT ("invalid base58 character '0' at
 *  position 3", empty string, result longer than out_cap). */
kg_err kg_chain_base58_decode(uint8_t *out, size_t out_cap, size_t *out_len, const char *in)
    KG_WARN_UNUSED KG_NONNULL(1, 3, 4);
/** Base58Check: payload || first 4 bytes of SHA256d(payload). */
kg_err kg_chain_base58check_encode(char *out, size_t out_cap, const uint8_t *payload, size_t payload_len)
    KG_WARN_UNUSED KG_NONNULL(1);
/** Decode Base58Check and verify the checksum; out gets the payload
 *  (without the checksum). Returns KG_OK | KG_ERR_BAD_INPUT (bad character,
 *  "bad checksum", shorter than the 4-byte checksum, too long). */
kg_err kg_chain_base58check_decode(uint8_t *out, size_t out_cap, size_t *out_len, const char *in)
    KG_WARN_UNUSED KG_NONNULL(1, 3, 4);

/* ------------------------------------------------------ Bech32 / Bech32m */

typedef enum {
    KG_CHAIN_BECH32 = 1,  /* BIP173 checksum constant 1 */
    KG_CHAIN_BECH32M = 2  /* BIP350 checksum constant 0x2bc830a3 */
} kg_chain_bech32_variant;

/** BIP173's limit on the whole string; pass 0 as max_len to use it.
 *  Other users (Lightning invoices) pass a larger limit. */
#define KG_CHAIN_BECH32_MAX_LEN 90
/** Longest HRP (BIP173: 1..83 characters in 33..126). */
#define KG_CHAIN_BECH32_HRP_MAX 83

/** Encode hrp (1..83 chars in US-ASCII 33..126; upper case is lowered) and
 *  data5 (values 0..31) with the checksum of variant. The result is lower
 *  case. max_len: 0 = KG_CHAIN_BECH32_MAX_LEN.
 *  Returns KG_OK | KG_ERR_BAD_INPUT (bad HRP, a value over 31, result over
 *  max_len or over out_cap). */
kg_err kg_chain_bech32_encode(char *out, size_t out_cap, const char *hrp,
                              const uint8_t *data5, size_t data5_len,
                              kg_chain_bech32_variant variant, size_t max_len)
    KG_WARN_UNUSED KG_NONNULL(1, 3);
/** Decode a Bech32/Bech32m string: hrp_out (lower case, NUL-terminated,
 *  hrp_cap >= KG_CHAIN_BECH32_HRP_MAX + 1 is always enough), the 5-bit data
 *  without the checksum, and which checksum it carries.
 *  Returns KG_OK | KG_ERR_BAD_INPUT with a detail: over max_len, mixed case,
 *  a character outside 33..126 or not in the data alphabet (with its
 *  position), no separator '1', empty HRP, checksum too short, bad checksum. */
kg_err kg_chain_bech32_decode(char *hrp_out, size_t hrp_cap,
                              uint8_t *data5, size_t data5_cap, size_t *data5_len,
                              kg_chain_bech32_variant *variant,
                              const char *in, size_t max_len)
    KG_WARN_UNUSED KG_NONNULL(1, 3, 5, 6, 7);

/** Regroup bits: in is in_len values of from_bits bits each (1..8), out gets
 *  to_bits-bit values. pad = true (encoding direction) pads the last group
 *  with zeros; pad = false (decoding) rejects leftover bits that are
 *  non-zero or form a whole input group (BIP173 rule).
 *  Returns KG_OK | KG_ERR_BAD_INPUT (a value wider than from_bits, bad
 *  padding, out_cap too small). */
kg_err kg_chain_bits_convert(uint8_t *out, size_t out_cap, size_t *out_len,
                             const uint8_t *in, size_t in_len,
                             unsigned from_bits, unsigned to_bits, bool pad)
    KG_WARN_UNUSED KG_NONNULL(1, 3);

/** Convenience for Cosmos-style addresses: bytes -> 5-bit -> Bech32(m). */
kg_err kg_chain_bech32_encode_bytes(char *out, size_t out_cap, const char *hrp,
                                    const uint8_t *data, size_t data_len,
                                    kg_chain_bech32_variant variant, size_t max_len)
    KG_WARN_UNUSED KG_NONNULL(1, 3);
/** Decode and regroup to bytes; when expect_hrp is not NULL the HRP must
 *  equal it ("address has prefix 'osmo', expected 'cosmos'"). */
kg_err kg_chain_bech32_decode_bytes(char *hrp_out, size_t hrp_cap,
                                    uint8_t *data, size_t data_cap, size_t *data_len,
                                    kg_chain_bech32_variant *variant,
                                    const char *in, const char *expect_hrp, size_t max_len)
    KG_WARN_UNUSED KG_NONNULL(1, 3, 5, 6, 7);

/* ----------------------------------------------------- segwit addresses */

#define KG_CHAIN_SEGWIT_PROGRAM_MAX 40
/** A segwit address: witness version 0..16 and a 2..40-byte program
 *  (v0: 20 or 32 bytes). v0 uses Bech32, v1+ Bech32m (BIP350). */
kg_err kg_chain_segwit_addr_encode(char *out, size_t out_cap, const char *hrp,
                                   unsigned witver, const uint8_t *prog, size_t prog_len)
    KG_WARN_UNUSED KG_NONNULL(1, 3, 5);
/** Decode a segwit address whose HRP must equal hrp (case-insensitive).
 *  Returns KG_OK | KG_ERR_BAD_INPUT (any Bech32 error, wrong HRP, version
 *  over 16, wrong program length, wrong checksum variant for the version,
 *  bad padding). */
kg_err kg_chain_segwit_addr_decode(unsigned *witver, uint8_t prog[static KG_CHAIN_SEGWIT_PROGRAM_MAX],
                                   size_t *prog_len, const char *hrp, const char *addr)
    KG_WARN_UNUSED KG_NONNULL(1, 2, 3, 4, 5);

#endif
