/* KashGuard wallet layer: hierarchical deterministic keys.
 *
 *   BIP39    mnemonic sentences in the ten official wordlists, and seeds;
 *   BIP32    extended keys, derivation, xpub/xprv (+ SLIP-132 y/z/t/u/v);
 *   SLIP-10  the same tree for nist256p1 and ed25519;
 *   BIP44/49/84/86 path helpers;
 *   BIP380-386 output descriptors (pkh, wpkh, sh(wpkh), tr key path,
 *            multi/sortedmulti bare and in sh/wsh) and their scriptPubKeys.
 *
 * Plain C17 over include/kashguard/crypto.h only, with no allocation: the
 * hardware-wallet firmware reuses this code. Every output is a
 * caller-provided buffer and is zeroed/emptied on error.
 *
 * Secrets: a kg_wallet_hdkey holds a private key in plain memory; keep it in
 * a short stack scope or a kg_secret and call kg_wallet_hdkey_wipe() when
 * done. Mnemonic words are looked up and emitted by scanning every word of
 * the list (no secret-indexed access); Unicode normalisation of a mnemonic
 * or passphrase and descriptor parsing are variable time in their input. */
#ifndef KASHGUARD_WALLET_HD_H
#define KASHGUARD_WALLET_HD_H

#include "../crypto.h"

/* =============================================================== BIP39 */

typedef enum {
    KG_WALLET_LANG_ENGLISH,
    KG_WALLET_LANG_CHINESE_SIMPLIFIED,
    KG_WALLET_LANG_CHINESE_TRADITIONAL,
    KG_WALLET_LANG_CZECH,
    KG_WALLET_LANG_FRENCH,
    KG_WALLET_LANG_ITALIAN,
    KG_WALLET_LANG_JAPANESE,
    KG_WALLET_LANG_KOREAN,
    KG_WALLET_LANG_PORTUGUESE,
    KG_WALLET_LANG_SPANISH,
    KG_WALLET_LANG_COUNT,
    KG_WALLET_LANG_AUTO = -1 /* detect from the words */
} kg_wallet_lang;

/** Largest mnemonic (24 words, NFKD UTF-8, separators, NUL) in bytes. */
#define KG_WALLET_MNEMONIC_MAX_BYTES 1024
#define KG_WALLET_SEED_BYTES 64
#define KG_WALLET_ENTROPY_MAX_BYTES 32
#define KG_WALLET_PASSPHRASE_MAX_BYTES 1024

/** The list's name ("english", "chinese_simplified", ... as in the BIP's
 *  file names); NULL for an out-of-range lang. */
const char *kg_wallet_bip39_lang_name(kg_wallet_lang lang);
/** Look a language up by that name. Returns KG_OK | KG_ERR_BAD_INPUT. */
kg_err kg_wallet_bip39_lang_parse(kg_wallet_lang *lang, const char *name) KG_WARN_UNUSED KG_NONNULL(1, 2);
/** Word index (0..2047) of lang, NFKD UTF-8; NULL when out of range.
 *  Variable time in index (for listing and completion, not secrets). */
const char *kg_wallet_bip39_word(kg_wallet_lang lang, unsigned index);

/** BIP39 "Generating the mnemonic": entropy (16, 20, 24, 28 or 32 bytes)
 *  to 12..24 words, NFKD, separated by a space (U+3000 for japanese, as
 *  the BIP and its vectors do). out gets a NUL-terminated string.
 *  Returns KG_OK | KG_ERR_BAD_INPUT (entropy length, out too small).
 *  Secrets: constant time in the entropy. */
kg_err kg_wallet_bip39_from_entropy(char *out, size_t out_cap, kg_wallet_lang lang,
                                    const uint8_t *entropy, size_t entropy_len) KG_WARN_UNUSED KG_NONNULL(1, 4);
/** A new random mnemonic of words (12, 15, 18, 21, 24) words, entropy from
 *  kg_crypto_random. Returns as kg_wallet_bip39_from_entropy. */
kg_err kg_wallet_bip39_generate(char *out, size_t out_cap, kg_wallet_lang lang,
                                unsigned words) KG_WARN_UNUSED KG_NONNULL(1);
/** Validate a mnemonic and recover its entropy. The input may be composed
 *  or decomposed Unicode and use any run of spaces/U+3000 between words.
 *  lang KG_WALLET_LANG_AUTO detects the list: the one holding every word
 *  whose checksum matches (the chinese lists share words; either gives the
 *  same entropy). *lang_out (may be NULL) gets the list used.
 *  Returns KG_OK | KG_ERR_BAD_INPUT with a detail such as
 *    "word 7 'abandn' is not in the english wordlist" or
 *    "the mnemonic's checksum does not match: a word is wrong or misplaced"
 *  (the detail echoes an unknown word so that the user can fix a typo; do
 *  not log it). Secrets: word lookup constant time per word. */
kg_err kg_wallet_bip39_to_entropy(uint8_t *entropy, size_t entropy_cap, size_t *entropy_len,
                                  kg_wallet_lang *lang_out, kg_wallet_lang lang,
                                  const char *mnemonic) KG_WARN_UNUSED KG_NONNULL(1, 3, 6);
/** BIP39 "From mnemonic to seed": PBKDF2-HMAC-SHA512(NFKD(mnemonic),
 *  "mnemonic" || NFKD(passphrase), 2048) after checking the mnemonic as
 *  kg_wallet_bip39_to_entropy (any language). The words are joined with
 *  single spaces before hashing, which is what a well-formed mnemonic is.
 *  passphrase may be NULL ("") and is normalised with full NFKD; at most
 *  KG_WALLET_PASSPHRASE_MAX_BYTES once normalised.
 *  Returns KG_OK | KG_ERR_BAD_INPUT (invalid mnemonic, invalid UTF-8) |
 *  KG_ERR_CRYPTO. seed is wiped on error. */
kg_err kg_wallet_bip39_to_seed(uint8_t seed[static KG_WALLET_SEED_BYTES], const char *mnemonic,
                               const char *passphrase) KG_WARN_UNUSED KG_NONNULL(1, 2);

/** Unicode NFKD (UAX #15, the Unicode version of the generated table) of
 *  NUL-terminated UTF-8 into out (NUL-terminated); *out_len (may be NULL)
 *  gets its length. Returns KG_OK | KG_ERR_BAD_INPUT (invalid UTF-8, out
 *  too small, more than 32 combining marks in a row). out wiped on error. */
kg_err kg_wallet_utf8_nfkd(char *out, size_t out_cap, size_t *out_len, const char *in) KG_WARN_UNUSED KG_NONNULL(1, 4);

/* ============================================================ BIP32/SLIP-10 */

typedef enum {
    KG_WALLET_CURVE_SECP256K1, /* BIP32 */
    KG_WALLET_CURVE_NIST256P1, /* SLIP-10 */
    KG_WALLET_CURVE_ED25519    /* SLIP-10: hardened derivation only */
} kg_wallet_curve;

#define KG_WALLET_HARDENED 0x80000000u
#define KG_WALLET_PATH_MAX 32                 /* components in a parsed path */
#define KG_WALLET_XKEY_MAX_BYTES 120          /* base58 extended key (111) + NUL, with room */
#define KG_WALLET_PATH_MAX_BYTES (2 + KG_WALLET_PATH_MAX * 12)

/** An extended key. pub is the 33-byte SEC1 compressed point, or 0x00 ||
 *  key for ed25519 (SLIP-10). priv is secret and all zero when has_priv is
 *  false. A plain value: copy it freely, wipe it with kg_wallet_hdkey_wipe. */
typedef struct {
    kg_wallet_curve curve;
    uint8_t depth;
    uint8_t parent_fp[4];
    uint32_t child;
    uint8_t chain_code[32];
    uint8_t pub[33];
    uint8_t priv[32];
    bool has_priv;
} kg_wallet_hdkey;

void kg_wallet_hdkey_wipe(kg_wallet_hdkey *key);

/** Master key from a seed (16..64 bytes; BIP39 seeds are 64): BIP32
 *  "Master key generation" for secp256k1, SLIP-10 "Master key generation"
 *  (curve-specific HMAC key, retry while the key is invalid) otherwise.
 *  Returns KG_OK | KG_ERR_BAD_INPUT (seed length; the 2^-127 invalid seed
 *  for secp256k1) | KG_ERR_CRYPTO. Secrets: constant time in the seed. */
kg_err kg_wallet_hd_from_seed(kg_wallet_hdkey *out, kg_wallet_curve curve,
                              const uint8_t *seed, size_t seed_len) KG_WARN_UNUSED KG_NONNULL(1, 3);
/** One child, index i (>= KG_WALLET_HARDENED: hardened). From a private
 *  parent: private child (CKDpriv; SLIP-10 retry for nist256p1). From a
 *  public parent: public child (CKDpub, secp256k1 only, non-hardened only).
 *  Returns KG_OK | KG_ERR_BAD_INPUT (hardened from public, ed25519
 *  non-hardened, depth 255, the 2^-127 invalid child for secp256k1: take
 *  the next index) | KG_ERR_WRONG_KEY_USAGE (public derivation on a curve
 *  without it). */
kg_err kg_wallet_hd_derive(kg_wallet_hdkey *child, const kg_wallet_hdkey *parent,
                           uint32_t index) KG_WARN_UNUSED KG_NONNULL(1, 2);
/** Derive along path (count components). child may equal parent. */
kg_err kg_wallet_hd_derive_path(kg_wallet_hdkey *child, const kg_wallet_hdkey *parent,
                                const uint32_t *path, size_t count) KG_WARN_UNUSED KG_NONNULL(1, 2);
/** The same with a textual path ("m/84'/0'/0'/0/5"; see kg_wallet_path_parse). */
kg_err kg_wallet_hd_derive_str(kg_wallet_hdkey *child, const kg_wallet_hdkey *parent,
                               const char *path) KG_WARN_UNUSED KG_NONNULL(1, 2, 3);
/** The public half (has_priv false, priv zeroed). out may equal in. */
void kg_wallet_hd_neuter(kg_wallet_hdkey *out, const kg_wallet_hdkey *in) KG_NONNULL(1, 2);
/** Key identifier fingerprint: first 4 bytes of HASH160(pub). */
void kg_wallet_hd_fingerprint(uint8_t fp[static 4], const kg_wallet_hdkey *key) KG_NONNULL(1, 2);

/** Parse "m/44'/0'/0'/0/5": an optional leading "m" (or "m/"), components
 *  of decimal 0..2^31-1 each optionally marked hardened by ', h or H.
 *  "m" alone is the empty path. Returns KG_OK | KG_ERR_BAD_INPUT naming the
 *  bad component. */
kg_err kg_wallet_path_parse(uint32_t *path, size_t path_cap, size_t *count,
                            const char *text) KG_WARN_UNUSED KG_NONNULL(1, 3, 4);
/** Format a path as "m/84'/0'/0'/0/5" (prefix_m false: "84'/0'/0'/0/5").
 *  Returns KG_OK | KG_ERR_BAD_INPUT (out too small). */
kg_err kg_wallet_path_format(char *out, size_t out_cap, const uint32_t *path, size_t count,
                             bool prefix_m) KG_WARN_UNUSED KG_NONNULL(1);

/** BIP44-family paths m/purpose'/coin'/account'/change/index. */
#define KG_WALLET_PURPOSE_BIP44 44u /* P2PKH */
#define KG_WALLET_PURPOSE_BIP49 49u /* P2SH-P2WPKH */
#define KG_WALLET_PURPOSE_BIP84 84u /* P2WPKH */
#define KG_WALLET_PURPOSE_BIP86 86u /* P2TR key path */
#define KG_WALLET_COIN_BTC 0u
#define KG_WALLET_COIN_TESTNET 1u
#define KG_WALLET_COIN_ETH 60u
#define KG_WALLET_COIN_COSMOS 118u
#define KG_WALLET_COIN_SOLANA 501u
/** Fill path[5]. purpose, coin and account are hardened here; change and
 *  index are not. Returns KG_ERR_BAD_INPUT when a value is >= 2^31. */
kg_err kg_wallet_bip44_path(uint32_t path[static 5], uint32_t purpose, uint32_t coin,
                            uint32_t account, uint32_t change, uint32_t index) KG_WARN_UNUSED;

/** Extended key encodings (BIP32 and SLIP-132 version bytes). */
typedef enum {
    KG_WALLET_XKEY_X, /* xpub/xprv: mainnet, BIP32/BIP44 */
    KG_WALLET_XKEY_Y, /* ypub/yprv: mainnet P2SH-P2WPKH (BIP49) */
    KG_WALLET_XKEY_Z, /* zpub/zprv: mainnet P2WPKH (BIP84) */
    KG_WALLET_XKEY_T, /* tpub/tprv: testnet */
    KG_WALLET_XKEY_U, /* upub/uprv: testnet P2SH-P2WPKH */
    KG_WALLET_XKEY_V, /* vpub/vprv: testnet P2WPKH */
    KG_WALLET_XKEY_COUNT
} kg_wallet_xkey_kind;

/** Serialize a secp256k1 key (BIP32 "Serialization format") with base58check.
 *  private_ true writes the xprv form (the key must have it).
 *  Returns KG_OK | KG_ERR_BAD_INPUT (no private key, other curve, out_cap
 *  below KG_WALLET_XKEY_MAX_BYTES). */
kg_err kg_wallet_xkey_serialize(char *out, size_t out_cap, const kg_wallet_hdkey *key,
                                kg_wallet_xkey_kind kind, bool private_) KG_WARN_UNUSED KG_NONNULL(1, 3);
/** Parse an extended key with every check of BIP32 test vector 5 (version,
 *  key prefix, point on the curve, 1 <= k < n, depth 0 => zero fingerprint
 *  and index, checksum). kind (may be NULL) gets its version family.
 *  Returns KG_OK | KG_ERR_BAD_INPUT with the reason in the detail. */
kg_err kg_wallet_xkey_parse(kg_wallet_hdkey *out, kg_wallet_xkey_kind *kind,
                            const char *text) KG_WARN_UNUSED KG_NONNULL(1, 3);

/* ========================================================= descriptors */

#define KG_WALLET_DESC_MAX_KEYS 20
#define KG_WALLET_DESC_MAX_BYTES 4096
#define KG_WALLET_DESC_CHECKSUM_BYTES 8
#define KG_WALLET_SCRIPT_MAX_BYTES 208 /* every scriptPubKey produced here (bare 1-of-3 uncompressed: 201) */

typedef enum {
    KG_WALLET_DESC_PKH,          /* pkh(KEY) */
    KG_WALLET_DESC_WPKH,         /* wpkh(KEY) */
    KG_WALLET_DESC_SH_WPKH,      /* sh(wpkh(KEY)) */
    KG_WALLET_DESC_TR,           /* tr(KEY), key path only */
    KG_WALLET_DESC_SH_MULTI,     /* sh(multi(k,...)) / sh(sortedmulti(k,...)) */
    KG_WALLET_DESC_WSH_MULTI,    /* wsh(multi(...)) / wsh(sortedmulti(...)) */
    KG_WALLET_DESC_SH_WSH_MULTI, /* sh(wsh(multi(...))) / sh(wsh(sortedmulti(...))) */
    KG_WALLET_DESC_MULTI         /* bare multi(...) / sortedmulti(...), at most 3 keys */
} kg_wallet_desc_type;

/** One KEY expression (BIP380 "Key Expressions"). */
typedef enum { KG_WALLET_DKEY_HEX, KG_WALLET_DKEY_WIF, KG_WALLET_DKEY_XKEY } kg_wallet_dkey_form;
typedef struct {
    kg_wallet_dkey_form form;
    bool has_origin;
    uint8_t origin_fp[4];
    size_t origin_len;
    uint32_t origin[KG_WALLET_PATH_MAX];
    kg_wallet_hdkey xkey;            /* XKEY: the key as written; HEX/WIF: pub/priv only */
    kg_wallet_xkey_kind xkind;       /* XKEY: its encoding family */
    bool wif_testnet;                /* WIF: version 0xef */
    uint8_t pub_len;                 /* HEX: 33, 65, or 32 (x-only, in tr()) */
    uint8_t pub65[65];               /* HEX: the key as written */
    size_t deriv_len;
    uint32_t deriv[KG_WALLET_PATH_MAX]; /* steps after the xkey, wildcard excluded */
    bool ranged;                     /* ends in / * */
    bool ranged_hardened;            /* ends in / *' */
} kg_wallet_dkey;

typedef struct {
    kg_wallet_desc_type type;
    bool sorted;                     /* sortedmulti */
    unsigned threshold;              /* multi: k */
    size_t nkeys;
    kg_wallet_dkey keys[KG_WALLET_DESC_MAX_KEYS];
} kg_wallet_desc;

/** BIP380 checksum (8 characters + NUL) of a descriptor without its '#'.
 *  Returns KG_ERR_BAD_INPUT for a character outside the BIP380 set. */
kg_err kg_wallet_desc_checksum(char out[static KG_WALLET_DESC_CHECKSUM_BYTES + 1],
                               const char *desc) KG_WARN_UNUSED KG_NONNULL(1, 2);
/** Parse a descriptor; a "#checksum" suffix is optional and verified when
 *  present (require_checksum true: mandatory). Returns KG_OK |
 *  KG_ERR_BAD_INPUT naming what and where. Wipe the result with
 *  kg_wallet_desc_wipe when it may hold private keys. */
kg_err kg_wallet_desc_parse(kg_wallet_desc *out, const char *text,
                            bool require_checksum) KG_WARN_UNUSED KG_NONNULL(1, 2);
/** Write the descriptor back with its checksum (hardened marked with ').
 *  private_ false writes public keys only (xpub for xprv, hex for WIF).
 *  Returns KG_OK | KG_ERR_BAD_INPUT (out too small). */
kg_err kg_wallet_desc_format(char *out, size_t out_cap, const kg_wallet_desc *desc,
                             bool private_) KG_WARN_UNUSED KG_NONNULL(1, 3);
/** scriptPubKey of position index (ignored when the descriptor is not
 *  ranged; must be < 2^31). out holds KG_WALLET_SCRIPT_MAX_BYTES.
 *  Returns KG_OK | KG_ERR_BAD_INPUT (index, hardened step without a private
 *  key, uncompressed key in segwit, script too large). */
kg_err kg_wallet_desc_script(uint8_t out[static KG_WALLET_SCRIPT_MAX_BYTES], size_t *out_len,
                             const kg_wallet_desc *desc, uint32_t index) KG_WARN_UNUSED KG_NONNULL(1, 2, 3);
bool kg_wallet_desc_is_ranged(const kg_wallet_desc *desc) KG_NONNULL(1);
void kg_wallet_desc_wipe(kg_wallet_desc *desc);

#endif
