/* KashGuard chain layer: Bitcoin.
 *
 * Networks, output scripts and addresses, the transaction structure with a
 * strict parser and the serializer, txid/wtxid, the three signature-hash
 * algorithms (legacy, BIP143 segwit v0, BIP341 taproot key path), signing
 * through a kg_signer, and coin selection.
 *
 * Firmware reuse (DESIGN.md): plain C17 reaching crypto only through
 * crypto.h; no allocation anywhere except kg_chain_btc_tx_alloc (a
 * convenience for servers). A transaction does not own its bytes: its
 * scripts and witness items are views (pointer + length) into the buffer
 * it was parsed from, into caller buffers, or into the transaction's own
 * arena (bytes the signer produced). Keep those alive as long as the tx.
 *
 * Byte order: txids are kept in internal (serialized) order everywhere;
 * kg_chain_btc_txid_hex gives the reversed hex that explorers show.
 * Nothing here is secret (keys stay inside the kg_signer): variable time. */
#ifndef KASHGUARD_CHAIN_BITCOIN_H
#define KASHGUARD_CHAIN_BITCOIN_H

#include "../base.h"
#include "../signer.h"
#include "encoding.h"

/* ------------------------------------------------------------- networks */

typedef enum {
    KG_CHAIN_BTC_MAINNET,
    KG_CHAIN_BTC_TESTNET,  /* testnet3/testnet4 share prefixes */
    KG_CHAIN_BTC_SIGNET,
    KG_CHAIN_BTC_REGTEST
} kg_chain_btc_network;

typedef struct {
    const char *name;     /* "mainnet", "testnet", "signet", "regtest" */
    const char *hrp;      /* "bc", "tb", "tb", "bcrt" */
    uint8_t p2pkh;        /* Base58Check version: 0x00 / 0x6f */
    uint8_t p2sh;         /* 0x05 / 0xc4 */
    uint8_t wif;          /* 0x80 / 0xef */
} kg_chain_btc_params;

/** The parameters of net (never NULL for a valid enum value; NULL otherwise). */
const kg_chain_btc_params *kg_chain_btc_network_params(kg_chain_btc_network net);
/** Parse "mainnet"/"bitcoin"/"main", "testnet"/"test", "signet", "regtest".
 *  Returns KG_OK | KG_ERR_BAD_INPUT (names the accepted values). */
kg_err kg_chain_btc_network_parse(kg_chain_btc_network *out, const char *name) KG_WARN_UNUSED KG_NONNULL(1, 2);

/* ------------------------------------------------------ scripts, addresses */

typedef enum {
    KG_CHAIN_BTC_UNKNOWN = 0,   /* any other script */
    KG_CHAIN_BTC_P2PKH,
    KG_CHAIN_BTC_P2SH,          /* as classified from a scriptPubKey */
    KG_CHAIN_BTC_P2SH_P2WPKH,   /* a P2SH whose redeem script is P2WPKH (we know it, the chain does not) */
    KG_CHAIN_BTC_P2WPKH,
    KG_CHAIN_BTC_P2WSH,
    KG_CHAIN_BTC_P2TR,          /* segwit v1, 32-byte program; key path */
    KG_CHAIN_BTC_WITNESS_UNKNOWN, /* other segwit versions/lengths (future soft forks) */
    KG_CHAIN_BTC_OP_RETURN
} kg_chain_btc_script_type;

/** Longest standard scriptPubKey we build or decode from an address
 *  (segwit v1+ with a 40-byte program: 2 + 40). */
#define KG_CHAIN_BTC_SPK_MAX_BYTES 42
/** Longest address text plus NUL (Bech32 limit 90). */
#define KG_CHAIN_BTC_ADDRESS_MAX_BYTES 91

/** A scriptPubKey held by value. */
typedef struct {
    uint8_t data[KG_CHAIN_BTC_SPK_MAX_BYTES];
    size_t len;
} kg_chain_btc_spk;

/** Templates from a hash or key: P2PKH/P2SH/P2WPKH take a 20-byte HASH160,
 *  P2WSH a 32-byte SHA-256 of the witness script, P2TR the 32-byte x-only
 *  output key. */
void kg_chain_btc_spk_p2pkh(kg_chain_btc_spk *out, const uint8_t hash160[static 20]);
void kg_chain_btc_spk_p2sh(kg_chain_btc_spk *out, const uint8_t hash160[static 20]);
void kg_chain_btc_spk_p2wpkh(kg_chain_btc_spk *out, const uint8_t hash160[static 20]);
void kg_chain_btc_spk_p2wsh(kg_chain_btc_spk *out, const uint8_t sha256[static 32]);
void kg_chain_btc_spk_p2tr(kg_chain_btc_spk *out, const uint8_t output_xonly[static 32]);

/** The scriptPubKey paying a public key as type:
 *  P2PKH: pub is 33 (compressed) or 65 bytes; P2WPKH, P2SH_P2WPKH: 33 bytes;
 *  P2TR: pub is the 32-byte x-only INTERNAL key (or 33-byte compressed, its
 *  x is used) and it is tweaked with merkle_root (NULL: BIP86 key-only)
 *  through kg_crypto_k1_taproot_output. merkle_root is ignored otherwise.
 *  Returns KG_OK | KG_ERR_BAD_INPUT (wrong key size or not on the curve,
 *  type without a key template). */
kg_err kg_chain_btc_spk_for_key(kg_chain_btc_spk *out, kg_chain_btc_script_type type,
                                const uint8_t *pub, size_t pub_len, const uint8_t *merkle_root)
    KG_WARN_UNUSED KG_NONNULL(1, 3);
/** The scriptPubKey of a script-hash output: P2SH (HASH160 of redeem
 *  script, at most 520 bytes) or P2WSH (SHA-256 of witness script). */
kg_err kg_chain_btc_spk_for_script(kg_chain_btc_spk *out, kg_chain_btc_script_type type,
                                   const uint8_t *script, size_t script_len)
    KG_WARN_UNUSED KG_NONNULL(1);
/** Classify a scriptPubKey (never P2SH_P2WPKH: that is not visible on chain).
 *  When prog is not NULL it receives the hash/key/program (up to 40 bytes)
 *  and *prog_len its size. */
kg_chain_btc_script_type kg_chain_btc_spk_classify(uint8_t *prog, size_t *prog_len,
                                                   const uint8_t *spk, size_t spk_len);

/** BIP341 script tree helpers: TapLeaf hash of (leaf_version, script) and
 *  TapBranch hash of two children (sorted as the BIP says). */
void kg_chain_btc_tap_leaf_hash(uint8_t out[static 32], uint8_t leaf_version,
                                const uint8_t *script, size_t script_len);
void kg_chain_btc_tap_branch_hash(uint8_t out[static 32], const uint8_t a[static 32],
                                  const uint8_t b[static 32]);

/** The address of a scriptPubKey on net (P2PKH, P2SH: Base58Check; any
 *  segwit output: Bech32/Bech32m). out needs KG_CHAIN_BTC_ADDRESS_MAX_BYTES.
 *  Returns KG_OK | KG_ERR_BAD_INPUT (the script has no address form). */
kg_err kg_chain_btc_address_encode(char *out, size_t out_cap, kg_chain_btc_network net,
                                   const uint8_t *spk, size_t spk_len) KG_WARN_UNUSED KG_NONNULL(1, 4);
/** Parse an address for net into its scriptPubKey; *type (may be NULL)
 *  gets its kind. Returns KG_OK | KG_ERR_BAD_INPUT with a detail: encoding
 *  error, "address is for testnet, expected mainnet", unknown version byte. */
kg_err kg_chain_btc_address_decode(kg_chain_btc_spk *out, kg_chain_btc_script_type *type,
                                   kg_chain_btc_network net, const char *addr)
    KG_WARN_UNUSED KG_NONNULL(1, 4);
/** Address of a public key (kg_chain_btc_spk_for_key then address_encode). */
kg_err kg_chain_btc_address_from_key(char *out, size_t out_cap, kg_chain_btc_network net,
                                     kg_chain_btc_script_type type, const uint8_t *pub, size_t pub_len,
                                     const uint8_t *merkle_root) KG_WARN_UNUSED KG_NONNULL(1, 5);

/* ---------------------------------------------------------- transactions */

#define KG_CHAIN_BTC_SEQUENCE_FINAL 0xffffffffu
#define KG_CHAIN_BTC_SEQUENCE_RBF   0xfffffffdu   /* BIP125 opt-in replace-by-fee */
/** Bounds the parser enforces on untrusted bytes. */
#define KG_CHAIN_BTC_TX_MAX_BYTES   4000000u      /* max block weight: no tx is larger */
#define KG_CHAIN_BTC_SCRIPT_MAX_BYTES 10000u      /* consensus script size limit */
#define KG_CHAIN_BTC_MAX_MONEY      2100000000000000ull

/** A view of bytes owned elsewhere. */
typedef struct {
    const uint8_t *data;
    size_t len;
} kg_chain_btc_bytes;

typedef struct {
    uint8_t prev_txid[32];          /* internal byte order */
    uint32_t prev_vout;
    kg_chain_btc_bytes script_sig;
    uint32_t sequence;
    kg_chain_btc_bytes *witness;    /* witness stack items (bottom first); NULL when count is 0 */
    size_t witness_count;
} kg_chain_btc_txin;

/** An output; also used for the coins an input spends (value + scriptPubKey). */
typedef struct {
    uint64_t value;                 /* satoshis */
    kg_chain_btc_bytes script;      /* scriptPubKey */
} kg_chain_btc_txout;

/** A transaction over caller-provided storage. The arrays are fixed
 *  capacity (*_cap); parse and sign fail cleanly when they are too small.
 *  items is the pool the parser and the signer take witness stacks from;
 *  arena holds bytes the signer writes (scriptSigs, witness items).
 *  Fill it with kg_chain_btc_tx_init or kg_chain_btc_tx_alloc. */
typedef struct {
    uint32_t version;
    uint32_t locktime;
    kg_chain_btc_txin *inputs;
    size_t input_count, input_cap;
    kg_chain_btc_txout *outputs;
    size_t output_count, output_cap;
    kg_chain_btc_bytes *items;      /* witness item pool */
    size_t item_count, item_cap;
    uint8_t *arena;                 /* byte pool for signer output; may be NULL if arena_cap is 0 */
    size_t arena_len, arena_cap;
    void *heap_;                    /* set by kg_chain_btc_tx_alloc; NULL otherwise */
} kg_chain_btc_tx;

/** Point tx at caller storage (any pointer may be NULL with a zero cap) and
 *  reset it to an empty version-2 transaction with locktime 0. */
void kg_chain_btc_tx_init(kg_chain_btc_tx *tx,
                          kg_chain_btc_txin *inputs, size_t input_cap,
                          kg_chain_btc_txout *outputs, size_t output_cap,
                          kg_chain_btc_bytes *items, size_t item_cap,
                          uint8_t *arena, size_t arena_cap) KG_NONNULL(1);
/** Heap convenience (servers, tests): one allocation holding all the arrays.
 *  Returns KG_OK | KG_ERR_NOMEM | KG_ERR_BAD_INPUT (caps over the parser bounds). */
kg_err kg_chain_btc_tx_alloc(kg_chain_btc_tx *tx, size_t input_cap, size_t output_cap,
                             size_t item_cap, size_t arena_cap) KG_WARN_UNUSED KG_NONNULL(1);
/** Free what kg_chain_btc_tx_alloc allocated and zero tx; no-op for init'd storage. */
void kg_chain_btc_tx_free(kg_chain_btc_tx *tx);

/** Append an input (empty scriptSig and witness) / an output (script is a
 *  view: keep it alive). KG_ERR_BAD_INPUT when the array is full or value
 *  is over 21e6 BTC. */
kg_err kg_chain_btc_tx_add_input(kg_chain_btc_tx *tx, const uint8_t prev_txid[static 32],
                                 uint32_t prev_vout, uint32_t sequence) KG_WARN_UNUSED KG_NONNULL(1, 2);
kg_err kg_chain_btc_tx_add_output(kg_chain_btc_tx *tx, uint64_t value,
                                  const uint8_t *script, size_t script_len) KG_WARN_UNUSED KG_NONNULL(1);

/** Parse a serialized transaction (legacy or BIP144 segwit form), strictly:
 *  every count and length is checked against the bytes left and the bounds
 *  above before use, at least one input and one output, the segwit flag
 *  must be 1 and at least one witness non-empty, no trailing bytes,
 *  minimal CompactSize encodings, output values <= 21e6 BTC.
 *  tx must come from tx_init/tx_alloc; on success its scripts and witness
 *  items point into raw (keep raw alive). On error tx is emptied.
 *  Returns KG_OK | KG_ERR_BAD_INPUT (detail: what and at which byte offset;
 *  or "transaction has 300 inputs, room for 100"). */
kg_err kg_chain_btc_tx_parse(kg_chain_btc_tx *tx, const uint8_t *raw, size_t raw_len)
    KG_WARN_UNUSED KG_NONNULL(1, 2);
/** Serialized size with or without witness data (with: the BIP144 form,
 *  used only if some input has a witness). */
size_t kg_chain_btc_tx_size(const kg_chain_btc_tx *tx, bool witness) KG_NONNULL(1);
/** Weight (BIP141: base*3 + total) and virtual size (ceil(weight/4)). */
size_t kg_chain_btc_tx_weight(const kg_chain_btc_tx *tx) KG_NONNULL(1);
size_t kg_chain_btc_tx_vsize(const kg_chain_btc_tx *tx) KG_NONNULL(1);
/** Serialize into out; *out_len gets the size. Returns KG_OK |
 *  KG_ERR_BAD_INPUT (out_cap too small: detail gives the size needed). */
kg_err kg_chain_btc_tx_serialize(uint8_t *out, size_t out_cap, size_t *out_len,
                                 const kg_chain_btc_tx *tx, bool witness) KG_WARN_UNUSED KG_NONNULL(1, 3, 4);
/** txid (no witness) and wtxid (with witness), SHA256d, internal byte order. */
void kg_chain_btc_tx_txid(uint8_t out[static 32], const kg_chain_btc_tx *tx) KG_NONNULL(1, 2);
void kg_chain_btc_tx_wtxid(uint8_t out[static 32], const kg_chain_btc_tx *tx) KG_NONNULL(1, 2);
/** Reversed hex of a txid (as explorers print it) and back. */
void kg_chain_btc_txid_hex(char out[static 65], const uint8_t txid[static 32]);
kg_err kg_chain_btc_txid_parse(uint8_t out[static 32], const char *hex) KG_WARN_UNUSED KG_NONNULL(1, 2);

/* ------------------------------------------------------------- sighash */

#define KG_CHAIN_BTC_SIGHASH_DEFAULT      0x00u  /* taproot only: ALL without the byte */
#define KG_CHAIN_BTC_SIGHASH_ALL          0x01u
#define KG_CHAIN_BTC_SIGHASH_NONE         0x02u
#define KG_CHAIN_BTC_SIGHASH_SINGLE       0x03u
#define KG_CHAIN_BTC_SIGHASH_ANYONECANPAY 0x80u

/** Legacy (pre-segwit) signature hash of input index with script_code (the
 *  spent scriptPubKey or redeem script; OP_CODESEPARATOR handling is the
 *  caller's: pass the part after the last executed one). Includes the
 *  SIGHASH_SINGLE bug: index >= output count gives the hash 1 (0x01 then 31
 *  zero bytes, little-endian uint256 one). hash_type's low byte is appended
 *  as 4 bytes as given. Returns KG_OK | KG_ERR_BAD_INPUT (index out of range). */
kg_err kg_chain_btc_sighash_legacy(uint8_t out[static 32], const kg_chain_btc_tx *tx, size_t index,
                                   const uint8_t *script_code, size_t script_code_len,
                                   uint32_t hash_type) KG_WARN_UNUSED KG_NONNULL(1, 2);
/** BIP143 segwit v0 signature hash. script_code: for P2WPKH the P2PKH
 *  script of the key hash (kg_chain_btc_spk_p2pkh), for P2WSH the witness
 *  script (after the last executed OP_CODESEPARATOR). amount: value of the
 *  spent output. */
kg_err kg_chain_btc_sighash_segwit_v0(uint8_t out[static 32], const kg_chain_btc_tx *tx, size_t index,
                                      const uint8_t *script_code, size_t script_code_len,
                                      uint64_t amount, uint32_t hash_type) KG_WARN_UNUSED KG_NONNULL(1, 2);
/** The BIP143 preimage itself (what is double-SHA256'd), for tests and for
 *  devices that show it. *out_len gets its size. */
kg_err kg_chain_btc_sighash_segwit_v0_preimage(uint8_t *out, size_t out_cap, size_t *out_len,
                                               const kg_chain_btc_tx *tx, size_t index,
                                               const uint8_t *script_code, size_t script_code_len,
                                               uint64_t amount, uint32_t hash_type)
    KG_WARN_UNUSED KG_NONNULL(1, 3, 4);
/** BIP341 taproot key-path signature hash (ext_flag 0, annex absent):
 *  TaggedHash("TapSighash", 0x00 || SigMsg). spent[] holds the value and
 *  scriptPubKey of the coin every input spends (spent_count ==
 *  tx->input_count). hash_type: DEFAULT, ALL, NONE, SINGLE, each |
 *  ANYONECANPAY except DEFAULT. Returns KG_OK | KG_ERR_BAD_INPUT (index,
 *  spent_count, invalid hash_type, SINGLE without a matching output). */
kg_err kg_chain_btc_sighash_taproot(uint8_t out[static 32], const kg_chain_btc_tx *tx, size_t index,
                                    const kg_chain_btc_txout *spent, size_t spent_count,
                                    uint8_t hash_type) KG_WARN_UNUSED KG_NONNULL(1, 2, 4);
/** The 0x00 epoch byte then SigMsg (BIP341 "Common signature message"),
 *  as the BIP341 test vectors print it: what TapSighash hashes. At most
 *  207 bytes when the spent scriptPubKeys are P2TR. */
#define KG_CHAIN_BTC_TAPROOT_SIGMSG_MAX 207
kg_err kg_chain_btc_sighash_taproot_sigmsg(uint8_t *out, size_t out_cap, size_t *out_len,
                                           const kg_chain_btc_tx *tx, size_t index,
                                           const kg_chain_btc_txout *spent, size_t spent_count,
                                           uint8_t hash_type) KG_WARN_UNUSED KG_NONNULL(1, 3, 4, 6);

/* ------------------------------------------------------------- signing */

/** DER-encode a 64-byte compact r||s ECDSA signature (strict BIP66 DER)
 *  and append the sighash byte: out gets at most 73 bytes. */
#define KG_CHAIN_BTC_DER_SIG_MAX 73
void kg_chain_btc_sig_der_encode(uint8_t out[static KG_CHAIN_BTC_DER_SIG_MAX], size_t *out_len,
                                 const uint8_t sig64[static 64], uint8_t hash_type) KG_NONNULL(1, 2, 3);
/** Parse a strict-DER signature with its trailing sighash byte back to
 *  r||s (each at most 32 bytes). Returns KG_OK | KG_ERR_BAD_INPUT. */
kg_err kg_chain_btc_sig_der_decode(uint8_t sig64[static 64], uint8_t *hash_type,
                                   const uint8_t *der, size_t der_len) KG_WARN_UNUSED KG_NONNULL(1, 2, 3);

/** How to sign one input. type: P2PKH, P2WPKH, P2SH_P2WPKH or P2TR (key
 *  path). key: the signer's key for it; NULL = leave this input alone (not
 *  ours / signed elsewhere). spent: the coin it spends (value and
 *  scriptPubKey; P2TR needs it for EVERY input, ours or not).
 *  hash_type: 0 means the default (ALL for ECDSA, DEFAULT for taproot). */
typedef struct {
    kg_chain_btc_script_type type;
    const kg_key_ref *key;
    kg_chain_btc_txout spent;
    uint8_t hash_type;
} kg_chain_btc_sign_input;

/** Bytes of tx->arena one signed input needs at most (scriptSig + witness). */
#define KG_CHAIN_BTC_SIGN_ARENA_PER_INPUT 192
/** Witness item slots one signed input needs at most. */
#define KG_CHAIN_BTC_SIGN_ITEMS_PER_INPUT 2

/** Sign every input whose ins[i].key is set: compute the sighash, ask the
 *  signer (ECDSA secp256k1, or BIP340 with ref->taproot for P2TR), check
 *  the signer's public key matches ins[i].spent.script (refuses to sign
 *  for a key that cannot spend the coin), and set the final scriptSig and
 *  witness (in tx->arena / tx->items):
 *    P2PKH        scriptSig <sig+type> <pub33>
 *    P2WPKH       witness  [sig+type, pub33]
 *    P2SH-P2WPKH  scriptSig <0014{hash160}>, witness as P2WPKH
 *    P2TR         witness  [sig64] (DEFAULT) or [sig64||type]
 *  ins_count must equal tx->input_count. All-or-nothing: on error the
 *  inputs keep their previous scriptSig/witness.
 *  Returns KG_OK | KG_ERR_BAD_INPUT (type, mismatched key, arena/items
 *  full, sighash errors) | errors of the signer. */
kg_err kg_chain_btc_tx_sign(kg_chain_btc_tx *tx, kg_signer *signer,
                            const kg_chain_btc_sign_input *ins, size_t ins_count)
    KG_WARN_UNUSED KG_NONNULL(1, 2, 3);

/* -------------------------------------------------------- coin selection */

/** Virtual-size estimates (weight units, to keep quarter-vbytes exact) of
 *  one input spending type (with a 72-byte DER signature, the high-R worst
 *  case, and a 33-byte key), and of one output paying a script of spk_len
 *  bytes. 0 for a type we cannot estimate (UNKNOWN, P2SH, P2WSH). */
size_t kg_chain_btc_input_weight(kg_chain_btc_script_type type);
size_t kg_chain_btc_output_weight(size_t spk_len);
/** Dust threshold of an output (Bitcoin Core's 3 sat/vB dust relay fee). */
uint64_t kg_chain_btc_dust_limit(size_t spk_len, bool segwit_spk);

typedef struct {
    uint8_t txid[32];               /* internal byte order */
    uint32_t vout;
    uint64_t value;
    kg_chain_btc_script_type type;  /* how it is spent: decides its input size */
} kg_chain_btc_utxo;

typedef struct {
    const kg_chain_btc_utxo *utxos; size_t utxo_count;   /* candidates */
    const kg_chain_btc_txout *outputs; size_t output_count; /* payments (no change) */
    uint64_t fee_rate_sat_kvb;      /* fee rate in sat per 1000 vbytes (1000 = 1 sat/vB) */
    const uint8_t *change_script;   /* where change goes */
    size_t change_script_len;
} kg_chain_btc_coin_select_params;

typedef struct {
    size_t *selected;               /* caller array of utxo_count entries: indexes into utxos */
    size_t selected_count;
    uint64_t input_total;
    uint64_t fee;                   /* input_total - outputs - change */
    uint64_t change;                /* 0 = no change output */
    size_t vsize;                   /* estimated vsize of the final transaction */
    bool changeless;                /* branch-and-bound found an exact match */
} kg_chain_btc_coin_selection;

/** Choose inputs: first branch-and-bound for a changeless set (waste at
 *  most the cost of a change output), else largest-first with a change
 *  output, dropped into the fee when it would be dust. out->selected must
 *  point to utxo_count size_t slots. Returns KG_OK | KG_ERR_BAD_INPUT
 *  ("insufficient funds: need 150000 sat (120000 + fee 30000), have
 *  100000; short by 50000 sat"; no outputs, zero fee rate allowed, value
 *  overflow). */
kg_err kg_chain_btc_coin_select(kg_chain_btc_coin_selection *out,
                                const kg_chain_btc_coin_select_params *params)
    KG_WARN_UNUSED KG_NONNULL(1, 2);
/** Fill an empty tx from a selection: the chosen inputs (sequence RBF when
 *  rbf, else FINAL-1 = 0xfffffffe so locktime stays usable), the payments,
 *  and the change output (last) if any. Scripts are views of params'. */
kg_err kg_chain_btc_tx_from_selection(kg_chain_btc_tx *tx, const kg_chain_btc_coin_selection *sel,
                                      const kg_chain_btc_coin_select_params *params, bool rbf)
    KG_WARN_UNUSED KG_NONNULL(1, 2, 3);

/* ------------------------------------------------ Esplora HTTP API client */

/* A client of the Esplora REST API (Blockstream's esplora/electrs,
 * mempool.space, or any node behind such an indexer) for balances, UTXOs,
 * fee estimates and broadcast: what `kashguard wallet balance|send --chain
 * btc` use. Server/CLI only (btc_esplora_rpc.c, libcurl + jansson); the
 * firmware never talks to a node, and nothing here is needed to sign.
 *
 * base_url is the API root, e.g. "https://blockstream.info/testnet/api" or
 * "http://127.0.0.1:3002/api"; paths like "/address/ADDR/utxo" are appended.
 * Errors say whose fault they are:
 *   KG_ERR_NETWORK   could not connect, timed out, HTTP 5xx (or another
 *                    unexpected status);
 *   KG_ERR_BAD_JSON  the reply is not what the API documents;
 *   KG_ERR_BAD_INPUT the node refused (HTTP 400: its text is in the detail,
 *                    e.g. "min relay fee not met"), or a bad argument;
 *   KG_ERR_NOT_FOUND the transaction is unknown (HTTP 404, tx_status only).
 * Not thread-safe: one client per thread. */
typedef struct kg_chain_btc_esplora kg_chain_btc_esplora;

/** New client for base_url (http:// or https:// only; a trailing '/' is
 *  dropped). timeout_ms bounds each request (<= 0: 15000).
 *  Returns KG_OK | KG_ERR_BAD_INPUT (URL) | KG_ERR_NOMEM. */
kg_err kg_chain_btc_esplora_new(kg_chain_btc_esplora **out, const char *base_url, long timeout_ms)
    KG_WARN_UNUSED KG_NONNULL(1, 2);
/** Free the client (NULL is ignored). */
void kg_chain_btc_esplora_free(kg_chain_btc_esplora *c);

/** Totals of one address over confirmed (chain) or mempool transactions,
 *  as GET /address/:addr reports them (chain_stats / mempool_stats). */
typedef struct {
    uint64_t funded_count, funded_sum;   /* outputs paying the address, satoshis */
    uint64_t spent_count, spent_sum;     /* of those, spent */
    uint64_t tx_count;                   /* transactions touching the address */
} kg_chain_btc_esplora_stats;
typedef struct {
    kg_chain_btc_esplora_stats chain, mempool;
} kg_chain_btc_esplora_addr_info;

/** GET /address/:addr. addr must be a plain address (letters and digits).
 *  Returns KG_OK | KG_ERR_BAD_INPUT | KG_ERR_NETWORK | KG_ERR_BAD_JSON (a
 *  sum over 21e6 BTC, spent above funded). out is zeroed on error. */
kg_err kg_chain_btc_esplora_address(kg_chain_btc_esplora *c, kg_chain_btc_esplora_addr_info *out,
                                    const char *addr) KG_WARN_UNUSED KG_NONNULL(1, 2, 3);
/** The balance of an address in satoshis: confirmed = chain funded - spent,
 *  total = that plus mempool funded - mempool spent (which may be negative
 *  on its own). Returns KG_OK | KG_ERR_BAD_JSON (totals below zero). */
kg_err kg_chain_btc_esplora_balance(uint64_t *confirmed, uint64_t *total,
                                    const kg_chain_btc_esplora_addr_info *info) KG_WARN_UNUSED KG_NONNULL(1, 2, 3);

/** One unspent output of an address (GET /address/:addr/utxo), mempool ones included. */
typedef struct {
    uint8_t txid[32];          /* internal byte order */
    uint32_t vout;
    uint64_t value;            /* satoshis */
    bool confirmed;
    uint32_t block_height;     /* 0 when unconfirmed */
} kg_chain_btc_esplora_utxo;

/** GET /address/:addr/utxo. *out is a malloc'd array of *count entries
 *  (NULL when 0); free() it. Returns KG_OK | KG_ERR_BAD_INPUT |
 *  KG_ERR_NETWORK | KG_ERR_BAD_JSON | KG_ERR_NOMEM; *out NULL, *count 0 on error. */
kg_err kg_chain_btc_esplora_utxos(kg_chain_btc_esplora *c, kg_chain_btc_esplora_utxo **out, size_t *count,
                                  const char *addr) KG_WARN_UNUSED KG_NONNULL(1, 2, 3, 4);

/** GET /fee-estimates ({"<blocks>": sat/vB, ...}): the estimate for the
 *  smallest target >= target_blocks the node gives (else the largest target
 *  it gives), in sat per 1000 vbytes, rounded up. *sat_kvb is 0 when the
 *  node has no estimate at all (regtest electrs answers {}): the caller
 *  picks its floor. Returns KG_OK | KG_ERR_NETWORK | KG_ERR_BAD_JSON. */
kg_err kg_chain_btc_esplora_fee_rate(kg_chain_btc_esplora *c, uint64_t *sat_kvb, unsigned target_blocks)
    KG_WARN_UNUSED KG_NONNULL(1, 2);

/** POST /tx with the raw transaction as hex; txid gets the node's answer
 *  (internal byte order). Returns KG_OK | KG_ERR_BAD_INPUT (the node
 *  refused; detail "the node refused the transaction: <its text>") |
 *  KG_ERR_NETWORK | KG_ERR_BAD_JSON (the answer is not a txid). */
kg_err kg_chain_btc_esplora_broadcast(kg_chain_btc_esplora *c, uint8_t txid[static 32], const uint8_t *raw,
                                      size_t raw_len) KG_WARN_UNUSED KG_NONNULL(1, 2, 3);

/** GET /tx/:txid/status. Returns KG_OK (*confirmed, *block_height: 0 when
 *  unconfirmed) | KG_ERR_NOT_FOUND (neither mined nor in the mempool) |
 *  KG_ERR_NETWORK | KG_ERR_BAD_JSON. */
kg_err kg_chain_btc_esplora_tx_status(kg_chain_btc_esplora *c, bool *confirmed, uint32_t *block_height,
                                      const uint8_t txid[static 32]) KG_WARN_UNUSED KG_NONNULL(1, 2, 3, 4);

#endif
