/* Partially Signed Bitcoin Transactions: BIP174 (version 0) and BIP370
 * (version 2), with the BIP371 Taproot fields.
 *
 * A kg_chain_psbt holds the three kinds of key-value maps of the format
 * (one global map, one map per input, one per output) as linked lists of
 * entries. Every byte the PSBT owns -- keys, values, list nodes -- lives in
 * one arena: either a buffer the caller provides (firmware: no heap at all)
 * or one malloc'd block (kg_chain_psbt_alloc). When the arena is full an
 * operation fails with KG_ERR_TOO_LARGE and leaves the PSBT unchanged.
 *
 * Entries keep the order they were parsed in, so parse -> serialize is
 * byte-identical; entries added later are inserted in key order (BIP174's
 * "sorted by key" recommendation, which is what Bitcoin Core writes and
 * what the combiner of the BIP's test vectors expects).
 *
 * Roles (BIP174 "Roles"): create (v0 from an unsigned tx, v2 from inputs
 * and outputs), update (UTXOs, scripts, BIP32/Taproot derivations), sign
 * (through kg_signer, for inputs whose BIP32 derivation names the signer's
 * master fingerprint), combine, finalize, extract.
 *
 * All functions follow the KashGuard conventions: outputs first, a length
 * after its array, kg_err return with a detail (kg_err_detail) on error;
 * bad input never crashes and never partly applies. Plain C17; crypto only
 * through crypto.h. */
#ifndef KASHGUARD_CHAIN_PSBT_H
#define KASHGUARD_CHAIN_PSBT_H

#include "../base.h"
#include "../signer.h"

/* Hard limits: anything bigger is rejected while parsing. */
#define KG_CHAIN_PSBT_MAX_BYTES   (4u * 1024u * 1024u) /* whole PSBT */
#define KG_CHAIN_PSBT_MAX_IO      4096u                /* inputs / outputs */
#define KG_CHAIN_PSBT_MAX_PER_MAP 1000u                 /* entries in one map */

/* Global key types. */
#define KG_PSBT_GLOBAL_UNSIGNED_TX       0x00
#define KG_PSBT_GLOBAL_XPUB              0x01
#define KG_PSBT_GLOBAL_TX_VERSION        0x02
#define KG_PSBT_GLOBAL_FALLBACK_LOCKTIME 0x03
#define KG_PSBT_GLOBAL_INPUT_COUNT       0x04
#define KG_PSBT_GLOBAL_OUTPUT_COUNT      0x05
#define KG_PSBT_GLOBAL_TX_MODIFIABLE     0x06
#define KG_PSBT_GLOBAL_VERSION           0xFB
#define KG_PSBT_PROPRIETARY              0xFC
/* Input key types. */
#define KG_PSBT_IN_NON_WITNESS_UTXO      0x00
#define KG_PSBT_IN_WITNESS_UTXO          0x01
#define KG_PSBT_IN_PARTIAL_SIG           0x02
#define KG_PSBT_IN_SIGHASH_TYPE          0x03
#define KG_PSBT_IN_REDEEM_SCRIPT         0x04
#define KG_PSBT_IN_WITNESS_SCRIPT        0x05
#define KG_PSBT_IN_BIP32_DERIVATION      0x06
#define KG_PSBT_IN_FINAL_SCRIPTSIG       0x07
#define KG_PSBT_IN_FINAL_SCRIPTWITNESS   0x08
#define KG_PSBT_IN_POR_COMMITMENT        0x09
#define KG_PSBT_IN_RIPEMD160             0x0A
#define KG_PSBT_IN_SHA256                0x0B
#define KG_PSBT_IN_HASH160               0x0C
#define KG_PSBT_IN_HASH256               0x0D
#define KG_PSBT_IN_PREVIOUS_TXID         0x0E
#define KG_PSBT_IN_OUTPUT_INDEX          0x0F
#define KG_PSBT_IN_SEQUENCE              0x10
#define KG_PSBT_IN_REQUIRED_TIME_LOCKTIME   0x11
#define KG_PSBT_IN_REQUIRED_HEIGHT_LOCKTIME 0x12
#define KG_PSBT_IN_TAP_KEY_SIG           0x13
#define KG_PSBT_IN_TAP_SCRIPT_SIG        0x14
#define KG_PSBT_IN_TAP_LEAF_SCRIPT       0x15
#define KG_PSBT_IN_TAP_BIP32_DERIVATION  0x16
#define KG_PSBT_IN_TAP_INTERNAL_KEY      0x17
#define KG_PSBT_IN_TAP_MERKLE_ROOT       0x18
/* Output key types. */
#define KG_PSBT_OUT_REDEEM_SCRIPT        0x00
#define KG_PSBT_OUT_WITNESS_SCRIPT       0x01
#define KG_PSBT_OUT_BIP32_DERIVATION     0x02
#define KG_PSBT_OUT_AMOUNT               0x03
#define KG_PSBT_OUT_SCRIPT               0x04
#define KG_PSBT_OUT_TAP_INTERNAL_KEY     0x05
#define KG_PSBT_OUT_TAP_TREE             0x06
#define KG_PSBT_OUT_TAP_BIP32_DERIVATION 0x07

/** One key-value entry. key is the full key (its type's compact size, then
 *  key data); both point into the PSBT's arena. */
typedef struct kg_chain_psbt_kv {
    struct kg_chain_psbt_kv *next;
    const uint8_t *key;
    size_t key_len;
    const uint8_t *val;
    size_t val_len;
} kg_chain_psbt_kv;

typedef struct {
    kg_chain_psbt_kv *head;
} kg_chain_psbt_map;

typedef struct {
    uint8_t *arena;
    size_t arena_cap, arena_used;
    bool arena_owned;            /* malloc'd by kg_chain_psbt_alloc */
    uint32_t version;            /* 0 (BIP174) or 2 (BIP370) */
    size_t n_in, n_out;
    kg_chain_psbt_map global;
    kg_chain_psbt_map *in;       /* n_in maps */
    kg_chain_psbt_map *out;      /* n_out maps */
} kg_chain_psbt;

/* ------------------------------------------------------------ lifetime */

/** Make p an empty PSBT that keeps everything in arena (arena_len bytes,
 *  owned by the caller, must outlive p). No heap is used afterwards. */
void kg_chain_psbt_init(kg_chain_psbt *p, uint8_t *arena, size_t arena_len) KG_NONNULL(1);
/** Like init with a malloc'd arena of arena_len bytes (free with
 *  kg_chain_psbt_free). Returns KG_OK | KG_ERR_NOMEM. */
kg_err kg_chain_psbt_alloc(kg_chain_psbt *p, size_t arena_len) KG_WARN_UNUSED KG_NONNULL(1);
/** Empty p again (the arena is reused from its start). */
void kg_chain_psbt_reset(kg_chain_psbt *p) KG_NONNULL(1);
/** Wipe the arena and free it when it was malloc'd. NULL is ignored. */
void kg_chain_psbt_free(kg_chain_psbt *p);

/* --------------------------------------------------- parse / serialize */

/** Parse a binary PSBT (v0 or v2) into p (initialised, any earlier content
 *  is dropped). Strict: the magic, every map and key, the types and sizes of
 *  the known fields, duplicate keys, the unsigned tx (v0: legacy
 *  serialization, empty scriptSigs), the counts of maps, the fields v0 and
 *  v2 must and must not have (BIP370), and no trailing bytes.
 *  Returns KG_OK | KG_ERR_BAD_INPUT (detail says what and where) |
 *  KG_ERR_TOO_LARGE (input over KG_CHAIN_PSBT_MAX_BYTES or arena full). */
kg_err kg_chain_psbt_parse(kg_chain_psbt *p, const uint8_t *in, size_t in_len) KG_WARN_UNUSED KG_NONNULL(1);
/** Base64 form (BIP174 "Encoding"). */
kg_err kg_chain_psbt_parse_base64(kg_chain_psbt *p, const char *b64) KG_WARN_UNUSED KG_NONNULL(1, 2);
/** Serialize. With out == NULL only *out_len is set (the size needed).
 *  Returns KG_OK | KG_ERR_TOO_LARGE (out_cap too small; *out_len = size). */
kg_err kg_chain_psbt_serialize(uint8_t *out, size_t out_cap, size_t *out_len,
                               const kg_chain_psbt *p) KG_WARN_UNUSED KG_NONNULL(3, 4);
/** Base64 into a new NUL-terminated malloc'd string (*b64; free()). */
kg_err kg_chain_psbt_to_base64(char **b64, const kg_chain_psbt *p) KG_WARN_UNUSED KG_NONNULL(1, 2);

/* -------------------------------------------------------- generic maps */

/** The entry with exactly this key, or NULL. */
const kg_chain_psbt_kv *kg_chain_psbt_map_get(const kg_chain_psbt_map *m, const uint8_t *key, size_t key_len);
/** The first entry whose key type is type (any key data), or NULL. */
const kg_chain_psbt_kv *kg_chain_psbt_map_find(const kg_chain_psbt_map *m, uint64_t type);
/** Set key = val in m (a map of p): replaces the value of an existing key,
 *  otherwise inserts in key order (partial signatures of an input in the
 *  order of their key's HASH160, as Bitcoin Core writes them). Copies both
 *  into the arena.
 *  Returns KG_OK | KG_ERR_TOO_LARGE (arena full). */
kg_err kg_chain_psbt_map_put(kg_chain_psbt *p, kg_chain_psbt_map *m, const uint8_t *key, size_t key_len,
                             const uint8_t *val, size_t val_len) KG_WARN_UNUSED KG_NONNULL(1, 2, 3);
/** Remove every entry of type type from m. */
void kg_chain_psbt_map_remove_type(kg_chain_psbt_map *m, uint64_t type) KG_NONNULL(1);

/* ------------------------------------------------------------- creator */

/** One input / output for kg_chain_psbt_create_v2 (and the tx view). */
typedef struct {
    uint8_t txid[32];            /* internal byte order (as serialized in a tx) */
    uint32_t vout;
    uint32_t sequence;           /* 0xffffffff for final */
} kg_chain_psbt_in;
typedef struct {
    uint64_t amount;             /* satoshis */
    const uint8_t *script;
    size_t script_len;
} kg_chain_psbt_out;

/** v0: a PSBT around an unsigned network transaction (legacy serialization,
 *  empty scriptSigs, no witnesses). */
kg_err kg_chain_psbt_create_v0(kg_chain_psbt *p, const uint8_t *unsigned_tx, size_t tx_len) KG_WARN_UNUSED KG_NONNULL(1, 2);
/** v2: PSBT_GLOBAL_TX_VERSION, FALLBACK_LOCKTIME, INPUT/OUTPUT_COUNT,
 *  PSBT_GLOBAL_VERSION = 2 and the per-input/-output fields. */
kg_err kg_chain_psbt_create_v2(kg_chain_psbt *p, uint32_t tx_version, uint32_t fallback_locktime,
                               const kg_chain_psbt_in *ins, size_t n_in,
                               const kg_chain_psbt_out *outs, size_t n_out) KG_WARN_UNUSED KG_NONNULL(1);
/** Convert between versions in place (v0 -> v2 moves the unsigned tx into
 *  the v2 fields; v2 -> v0 builds the unsigned tx with the BIP370 locktime).
 *  On error (arena full, conflicting locktimes) p is emptied, never left
 *  half converted. */
kg_err kg_chain_psbt_convert(kg_chain_psbt *p, uint32_t to_version) KG_WARN_UNUSED KG_NONNULL(1);

/* --------------------------------------------------------- the tx view */

/** Transaction fields whatever the version: v0 reads the unsigned tx, v2
 *  the BIP370 fields (locktime computed as BIP370 "Determining Lock Time").
 *  script of an output points into p. */
kg_err kg_chain_psbt_tx_version(uint32_t *version, const kg_chain_psbt *p) KG_WARN_UNUSED KG_NONNULL(1, 2);
kg_err kg_chain_psbt_tx_locktime(uint32_t *locktime, const kg_chain_psbt *p) KG_WARN_UNUSED KG_NONNULL(1, 2);
kg_err kg_chain_psbt_tx_input(kg_chain_psbt_in *in, const kg_chain_psbt *p, size_t i) KG_WARN_UNUSED KG_NONNULL(1, 2);
kg_err kg_chain_psbt_tx_output(kg_chain_psbt_out *out, const kg_chain_psbt *p, size_t i) KG_WARN_UNUSED KG_NONNULL(1, 2);

/* ------------------------------------------------------------- updater */

/** The full previous transaction (PSBT_IN_NON_WITNESS_UTXO); its txid must
 *  be the input's previous txid. */
kg_err kg_chain_psbt_set_non_witness_utxo(kg_chain_psbt *p, size_t i, const uint8_t *prev_tx, size_t prev_tx_len) KG_WARN_UNUSED KG_NONNULL(1, 3);
/** PSBT_IN_WITNESS_UTXO: amount and scriptPubKey of the spent output. */
kg_err kg_chain_psbt_set_witness_utxo(kg_chain_psbt *p, size_t i, uint64_t amount,
                                      const uint8_t *spk, size_t spk_len) KG_WARN_UNUSED KG_NONNULL(1, 4);
/** PSBT_IN_REDEEM_SCRIPT / PSBT_IN_WITNESS_SCRIPT (is_output: the
 *  PSBT_OUT_ forms for output i). */
kg_err kg_chain_psbt_set_redeem_script(kg_chain_psbt *p, bool is_output, size_t i,
                                       const uint8_t *script, size_t script_len) KG_WARN_UNUSED KG_NONNULL(1, 4);
kg_err kg_chain_psbt_set_witness_script(kg_chain_psbt *p, bool is_output, size_t i,
                                        const uint8_t *script, size_t script_len) KG_WARN_UNUSED KG_NONNULL(1, 4);
/** PSBT_IN_SIGHASH_TYPE. */
kg_err kg_chain_psbt_set_sighash(kg_chain_psbt *p, size_t i, uint32_t sighash) KG_WARN_UNUSED KG_NONNULL(1);
/** BIP32 derivation of a 33-byte public key: master fingerprint and path. */
kg_err kg_chain_psbt_add_bip32(kg_chain_psbt *p, bool is_output, size_t i, const uint8_t pub33[static 33],
                               const uint8_t fingerprint[static 4], const uint32_t *path, size_t path_len) KG_WARN_UNUSED KG_NONNULL(1, 4, 5);
/** BIP371: Taproot internal key (32-byte x-only) and the key-path BIP32
 *  derivation of an x-only key (no leaf hashes). */
kg_err kg_chain_psbt_set_tap_internal_key(kg_chain_psbt *p, bool is_output, size_t i,
                                          const uint8_t xonly[static 32]) KG_WARN_UNUSED KG_NONNULL(1, 4);
kg_err kg_chain_psbt_add_tap_bip32(kg_chain_psbt *p, bool is_output, size_t i, const uint8_t xonly[static 32],
                                   const uint8_t fingerprint[static 4], const uint32_t *path, size_t path_len) KG_WARN_UNUSED KG_NONNULL(1, 4, 5);

/* -------------------------------------------------------------- signer */

/** Sign every input that has a BIP32 (or Taproot BIP32) derivation with
 *  this master fingerprint and that is one of P2PKH, P2WPKH, P2SH-P2WPKH,
 *  P2SH / P2WSH / P2SH-P2WSH scripts, or P2TR key path. For each such
 *  derivation the key named by ref->key at the derivation path is asked for
 *  its public key; it must equal the PSBT's key. The sighash type is the
 *  input's PSBT_IN_SIGHASH_TYPE or SIGHASH_ALL (DEFAULT for Taproot).
 *  Before signing, the BIP174 signer checks run: a non-witness UTXO must
 *  hash to the previous txid; a witness UTXO on a non-witness script is
 *  refused; the redeem script must hash to the P2SH scriptPubKey and the
 *  witness script to the P2WSH program.
 *  Out: n_signed: how many signatures were added (may be NULL).
 *  Returns KG_OK | KG_ERR_BAD_INPUT (a check failed: nothing is added) |
 *  KG_ERR_NOT_FOUND (no input could be signed) | the signer's error. */
kg_err kg_chain_psbt_sign(kg_chain_psbt *p, size_t *n_signed, kg_signer *signer, const char *key_name,
                          const uint8_t fingerprint[static 4]) KG_WARN_UNUSED KG_NONNULL(1, 3, 5);

/* ------------------------------------------- combiner / finalizer / extractor */

/** Merge src into dst (same unsigned transaction): the union of all maps;
 *  for a key in both, dst's value is kept. */
kg_err kg_chain_psbt_combine(kg_chain_psbt *dst, const kg_chain_psbt *src) KG_WARN_UNUSED KG_NONNULL(1, 2);
/** Finalize every input that can be (P2PKH, P2WPKH, P2SH-P2WPKH,
 *  multisig in P2SH / P2WSH / P2SH-P2WSH, P2TR key path): writes the final
 *  scriptSig / witness and removes the other fields (BIP174 "Input
 *  Finalizer"). Returns KG_OK when every input is final, KG_ERR_BAD_INPUT
 *  naming the first input that lacks signatures (the others are still
 *  finalized). */
kg_err kg_chain_psbt_finalize(kg_chain_psbt *p) KG_WARN_UNUSED KG_NONNULL(1);
/** The signed network transaction (witness serialization when any input has
 *  a witness). out == NULL asks for the size. Every input must be final. */
kg_err kg_chain_psbt_extract(uint8_t *out, size_t out_cap, size_t *out_len,
                             const kg_chain_psbt *p) KG_WARN_UNUSED KG_NONNULL(3, 4);

#endif
