/* KashGuard chain layer: Ethereum and EVM chains.
 *
 *  - RLP (Yellow Paper appendix B): an encoder into a caller buffer or a
 *    growable kg_bytes, and a strict decoder for untrusted bytes.
 *  - Addresses: EIP-55 checksummed text, address of a secp256k1 key.
 *  - uint256 values as 32-byte big-endian arrays: decimal, hex quantity
 *    and ether-unit conversions with overflow errors.
 *  - Transactions: legacy (pre-EIP-155 and EIP-155), EIP-2930 (type 1) and
 *    EIP-1559 (type 2): signing hash, signing through a kg_signer, signed
 *    raw encoding, strict decoding with sender recovery, transaction hash.
 *  - Messages: EIP-191 personal_sign and EIP-712 typed data (a plain C
 *    value tree here; the JSON front end is kg_chain_eth_eip712_json_hash).
 *  - ABI calldata for ERC-20/721/1155 transfers.
 *  - A JSON-RPC 2.0 client (eth_rpc.c, libcurl + jansson).
 *
 * Everything except the JSON-RPC client and the EIP-712 JSON front end is
 * plain C17 reaching crypto only through crypto.h, with no allocation on
 * the signing path: the firmware reuses it. Decoders of untrusted bytes
 * return KG_ERR_BAD_INPUT with a detail naming the problem and leave their
 * outputs zeroed. Nothing here handles a secret key: signing goes through
 * the kg_signer seam (KG_SIG_ECDSA_SECP256K1). All functions are variable
 * time in their (public) inputs. */
#ifndef KASHGUARD_CHAIN_ETHEREUM_H
#define KASHGUARD_CHAIN_ETHEREUM_H

#include "../base.h"
#include "../signer.h"

#define KG_CHAIN_ETH_ADDR_BYTES 20
#define KG_CHAIN_ETH_HASH_BYTES 32
#define KG_CHAIN_ETH_U256_BYTES 32
/** "0x" + 40 hex digits + NUL. */
#define KG_CHAIN_ETH_ADDR_STR_BYTES 43
/** r || s || v, v = 27/28 (personal_sign / EIP-712 signature format). */
#define KG_CHAIN_ETH_SIG_BYTES 65
/** Longest decimal text of a uint256 (78 digits) + NUL. */
#define KG_CHAIN_ETH_U256_DEC_BYTES 79

/* ================================================================= RLP */

/** Deepest list nesting the encoder and decoder accept. */
#define KG_CHAIN_RLP_MAX_DEPTH 16

/** RLP encoder state. Errors are sticky: the first one is kept and
 *  reported by kg_chain_rlp_enc_finish, so a sequence of appends needs one
 *  check at the end. Lists are opened and closed; the list header is
 *  inserted when the list is closed (its payload is moved up). */
typedef struct {
    uint8_t *buf;
    size_t cap;
    size_t len;
    kg_bytes *grow;                         /* NULL: fixed caller buffer */
    size_t open[KG_CHAIN_RLP_MAX_DEPTH];   /* payload start of each open list */
    size_t depth;
    kg_err err;
} kg_chain_rlp_enc;

/** Start encoding into buf (cap bytes; no allocation). */
void kg_chain_rlp_enc_init(kg_chain_rlp_enc *e, uint8_t *buf, size_t cap) KG_NONNULL(1);
/** Start encoding into out, grown with realloc as needed (out is reset). */
void kg_chain_rlp_enc_init_bytes(kg_chain_rlp_enc *e, kg_bytes *out) KG_NONNULL(1, 2);
/** Append a byte string item (data may be NULL when len is 0). */
void kg_chain_rlp_enc_bytes(kg_chain_rlp_enc *e, const uint8_t *data, size_t len) KG_NONNULL(1);
/** Append an unsigned integer item (big-endian, no leading zeros; 0 -> 0x80). */
void kg_chain_rlp_enc_uint(kg_chain_rlp_enc *e, uint64_t v) KG_NONNULL(1);
/** Append a uint256 (32-byte big-endian) as an integer item. */
void kg_chain_rlp_enc_u256(kg_chain_rlp_enc *e, const uint8_t v[static 32]) KG_NONNULL(1, 2);
/** Append bytes that are already one or more RLP items. */
void kg_chain_rlp_enc_raw(kg_chain_rlp_enc *e, const uint8_t *rlp, size_t len) KG_NONNULL(1);
void kg_chain_rlp_enc_list_begin(kg_chain_rlp_enc *e) KG_NONNULL(1);
void kg_chain_rlp_enc_list_end(kg_chain_rlp_enc *e) KG_NONNULL(1);
/** Finish: *out_len gets the encoded size (for the growable form it is also
 *  out->len). Returns KG_OK | KG_ERR_BAD_INPUT (unbalanced lists, too deep,
 *  caller buffer too small) | KG_ERR_NOMEM. On error the growable kg_bytes
 *  is freed and *out_len is 0. */
kg_err kg_chain_rlp_enc_finish(size_t *out_len, kg_chain_rlp_enc *e) KG_WARN_UNUSED KG_NONNULL(1, 2);

/** One decoded RLP item: a view into the input (nothing is copied). */
typedef struct {
    bool is_list;
    const uint8_t *payload;  /* string bytes, or the list's encoded items */
    size_t payload_len;
    const uint8_t *raw;      /* the whole item, header included */
    size_t raw_len;
} kg_chain_rlp_item;

/** Decode in as exactly one RLP item, checking the whole tree strictly:
 *  canonical headers (a single byte below 0x80 is its own encoding, the
 *  long forms only above 55 bytes, no leading zeros in lengths), lengths
 *  inside the input, nesting at most KG_CHAIN_RLP_MAX_DEPTH, no trailing
 *  bytes. Returns KG_OK | KG_ERR_BAD_INPUT (detail names the offset). */
kg_err kg_chain_rlp_decode(kg_chain_rlp_item *out, const uint8_t *in, size_t in_len)
    KG_WARN_UNUSED KG_NONNULL(1);
/** Split a list item into its elements (at most max). *count gets the
 *  number. Returns KG_ERR_BAD_INPUT if list is not a list, has more than
 *  max elements, or is malformed. */
kg_err kg_chain_rlp_list_items(kg_chain_rlp_item *items, size_t max, size_t *count,
                               const kg_chain_rlp_item *list) KG_WARN_UNUSED KG_NONNULL(1, 3, 4);
/** Iterate the elements of a list returned by kg_chain_rlp_decode (whose
 *  tree is already checked): *off starts at 0. Returns false at the end
 *  (or on a malformed list, which a checked tree never has). */
bool kg_chain_rlp_list_next(kg_chain_rlp_item *out, size_t *off, const kg_chain_rlp_item *list)
    KG_NONNULL(1, 2, 3);
/** An integer item as uint64 / uint256: a string of at most 8 / 32 bytes
 *  without leading zero bytes. what names the field in the error detail
 *  ("nonce has leading zero bytes"). */
kg_err kg_chain_rlp_item_uint(uint64_t *out, const kg_chain_rlp_item *it, const char *what)
    KG_WARN_UNUSED KG_NONNULL(1, 2, 3);
kg_err kg_chain_rlp_item_u256(uint8_t out[static 32], const kg_chain_rlp_item *it, const char *what)
    KG_WARN_UNUSED KG_NONNULL(1, 2, 3);

/* ============================================================ uint256 */

/** Decimal text ("0".."115792...935", no sign, no spaces) to 32-byte BE.
 *  Returns KG_ERR_BAD_INPUT for a non-digit, empty text or overflow. */
kg_err kg_chain_eth_u256_from_dec(uint8_t out[static 32], const char *s) KG_WARN_UNUSED KG_NONNULL(1, 2);
/** 32-byte BE to decimal text (no leading zeros; "0" for zero). */
void kg_chain_eth_u256_to_dec(char out[static KG_CHAIN_ETH_U256_DEC_BYTES], const uint8_t v[static 32])
    KG_NONNULL(1, 2);
/** JSON-RPC quantity "0x1a" (lower/upper hex, "0x0" for zero; leading
 *  zeros are rejected unless strict is false). */
kg_err kg_chain_eth_u256_from_hex(uint8_t out[static 32], const char *s, bool strict) KG_WARN_UNUSED KG_NONNULL(1, 2);
/** Quantity text "0x..." without leading zeros (at most 67 bytes with NUL). */
void kg_chain_eth_u256_to_hex(char out[static 67], const uint8_t v[static 32]) KG_NONNULL(1, 2);
void kg_chain_eth_u256_from_u64(uint8_t out[static 32], uint64_t v) KG_NONNULL(1);
/** The value as uint64; KG_ERR_BAD_INPUT when it does not fit. */
kg_err kg_chain_eth_u256_to_u64(uint64_t *out, const uint8_t v[static 32]) KG_WARN_UNUSED KG_NONNULL(1, 2);
/** -1, 0 or 1 as a <, ==, > b. */
int kg_chain_eth_u256_cmp(const uint8_t a[static 32], const uint8_t b[static 32]) KG_NONNULL(1, 2);
/** Decimal amount in units of 10^-decimals to base units: ("1.5", 18) ->
 *  1500000000000000000 wei; ("2", 9) -> 2 gwei in wei needs decimals 9.
 *  More fractional digits than decimals, overflow or bad text: BAD_INPUT. */
kg_err kg_chain_eth_units_parse(uint8_t out[static 32], const char *s, unsigned decimals)
    KG_WARN_UNUSED KG_NONNULL(1, 2);
/** Base units to a decimal amount ("1.5"; trailing fractional zeros cut). */
kg_err kg_chain_eth_units_format(char *out, size_t out_cap, const uint8_t v[static 32], unsigned decimals)
    KG_WARN_UNUSED KG_NONNULL(1, 3);

/* ========================================================== addresses */

/** Address of a secp256k1 public key (33-byte compressed or 65-byte
 *  uncompressed SEC1): the last 20 bytes of keccak256(X || Y). */
kg_err kg_chain_eth_addr_from_pubkey(uint8_t addr[static 20], const uint8_t *pub, size_t pub_len)
    KG_WARN_UNUSED KG_NONNULL(1, 2);
/** EIP-55 mixed-case checksummed text "0x5aAeb6...". */
void kg_chain_eth_addr_to_str(char out[static KG_CHAIN_ETH_ADDR_STR_BYTES], const uint8_t addr[static 20])
    KG_NONNULL(1, 2);
/** Parse "0x" + 40 hex digits ("0x" optional). All-lower or all-upper text
 *  is accepted as is; mixed case must carry a valid EIP-55 checksum
 *  ("address checksum mismatch"). Returns KG_OK | KG_ERR_BAD_INPUT. */
kg_err kg_chain_eth_addr_parse(uint8_t addr[static 20], const char *s) KG_WARN_UNUSED KG_NONNULL(1, 2);

/* ====================================================== signing helpers */

/** An Ethereum ECDSA signature: r, s (low-S) and the recovery id 0/1. */
typedef struct {
    uint8_t r[32];
    uint8_t s[32];
    int y_parity;
} kg_chain_eth_sig;

/** Sign a 32-byte digest with signer (KG_SIG_ECDSA_SECP256K1). The result
 *  is checked: high-S is rejected, and the recovery id is found (or
 *  checked) by recovering against the signer's public key, so a signer
 *  that does not report a recovery id (MPC) still works.
 *  Returns KG_OK | the signer's error | KG_ERR_CRYPTO (bad signature). */
kg_err kg_chain_eth_sign_digest(kg_signer *signer, kg_chain_eth_sig *out, const kg_key_ref *ref,
                                const uint8_t digest[static 32]) KG_WARN_UNUSED KG_NONNULL(1, 2, 3, 4);
/** Recover the signer address of digest. s must be low and r, s in [1, n-1].
 *  Returns KG_OK | KG_ERR_VERIFY. */
kg_err kg_chain_eth_sig_recover(uint8_t addr[static 20], const kg_chain_eth_sig *sig,
                                const uint8_t digest[static 32]) KG_WARN_UNUSED KG_NONNULL(1, 2, 3);
/** 65-byte r || s || v (v = 27 + y_parity) and back (v may be 0/1 or 27/28). */
void kg_chain_eth_sig_to_bytes(uint8_t out[static 65], const kg_chain_eth_sig *sig) KG_NONNULL(1, 2);
kg_err kg_chain_eth_sig_from_bytes(kg_chain_eth_sig *out, const uint8_t in[static 65]) KG_WARN_UNUSED KG_NONNULL(1, 2);

/** EIP-191 version 0x45: keccak256("\x19Ethereum Signed Message:\n" + len + msg). */
void kg_chain_eth_personal_hash(uint8_t out[static 32], const uint8_t *msg, size_t msg_len) KG_NONNULL(1);
/** personal_sign: the 65-byte r||s||v signature (v = 27/28) of msg. */
kg_err kg_chain_eth_personal_sign(kg_signer *signer, uint8_t sig[static 65], const kg_key_ref *ref,
                                  const uint8_t *msg, size_t msg_len) KG_WARN_UNUSED KG_NONNULL(1, 2, 3);
/** The address that made sig over msg. Returns KG_OK | KG_ERR_VERIFY. */
kg_err kg_chain_eth_personal_recover(uint8_t addr[static 20], const uint8_t sig[static 65],
                                     const uint8_t *msg, size_t msg_len) KG_WARN_UNUSED KG_NONNULL(1, 2);

/* ======================================================= transactions */

typedef enum {
    KG_CHAIN_ETH_TX_LEGACY = 0,      /* pre-EIP-155 when chain_id is 0 */
    KG_CHAIN_ETH_TX_ACCESS_LIST = 1, /* EIP-2930 */
    KG_CHAIN_ETH_TX_DYNAMIC_FEE = 2  /* EIP-1559 */
} kg_chain_eth_tx_type;

/** One access-list entry: an address and n_keys 32-byte storage keys
 *  stored back to back at keys (n_keys * 32 bytes). */
typedef struct {
    uint8_t address[20];
    const uint8_t *keys;
    size_t n_keys;
} kg_chain_eth_access;

/** Most access-list entries / storage keys in total a decoded tx may carry. */
#define KG_CHAIN_ETH_ACCESS_MAX 1024
#define KG_CHAIN_ETH_ACCESS_KEYS_MAX 16384

/** A transaction. Callers fill it (zero it first) to build one; the
 *  decoder fills it from raw bytes (then data and the access list point
 *  into memory the tx owns: release it with kg_chain_eth_tx_free). */
typedef struct {
    kg_chain_eth_tx_type type;
    uint64_t chain_id;           /* legacy: 0 = no EIP-155 replay protection */
    uint64_t nonce;
    uint8_t gas_price[32];       /* legacy, EIP-2930 */
    uint8_t max_priority_fee[32];/* EIP-1559 maxPriorityFeePerGas */
    uint8_t max_fee[32];         /* EIP-1559 maxFeePerGas */
    uint64_t gas_limit;
    bool has_to;                 /* false: contract creation */
    uint8_t to[20];
    uint8_t value[32];           /* wei */
    const uint8_t *data;
    size_t data_len;
    const kg_chain_eth_access *access_list;
    size_t access_list_len;
    /* Signature: set by kg_chain_eth_tx_sign and the decoder. */
    bool is_signed;
    kg_chain_eth_sig sig;
    void *owned_;                /* decoder storage; do not touch */
} kg_chain_eth_tx;

/** The digest a signer signs (legacy: keccak(rlp(6 fields)) or EIP-155's 9
 *  fields; typed: keccak(type || rlp(fields))). Streams into Keccak: no
 *  allocation. Returns KG_OK | KG_ERR_BAD_INPUT (unknown type, typed tx
 *  with chain id 0, too many access-list entries). */
kg_err kg_chain_eth_tx_signing_hash(uint8_t out[static 32], const kg_chain_eth_tx *tx)
    KG_WARN_UNUSED KG_NONNULL(1, 2);
/** Sign tx in place through signer: sets tx->sig and tx->is_signed. */
kg_err kg_chain_eth_tx_sign(kg_signer *signer, kg_chain_eth_tx *tx, const kg_key_ref *ref)
    KG_WARN_UNUSED KG_NONNULL(1, 2, 3);
/** Size of kg_chain_eth_tx_encode's output for tx (0 if tx is invalid). */
size_t kg_chain_eth_tx_encoded_len(const kg_chain_eth_tx *tx) KG_NONNULL(1);
/** Raw transaction bytes: the signed form when tx->is_signed (what
 *  eth_sendRawTransaction takes), else the unsigned signing payload.
 *  Returns KG_OK | KG_ERR_BAD_INPUT (invalid tx, out_cap too small). */
kg_err kg_chain_eth_tx_encode(uint8_t *out, size_t out_cap, size_t *out_len, const kg_chain_eth_tx *tx)
    KG_WARN_UNUSED KG_NONNULL(1, 3, 4);
/** The transaction hash: keccak256 of the signed raw bytes. */
kg_err kg_chain_eth_tx_hash(uint8_t out[static 32], const kg_chain_eth_tx *tx) KG_WARN_UNUSED KG_NONNULL(1, 2);

#define KG_CHAIN_ETH_DECODE_UNSIGNED 1u /* also accept the unsigned payload forms */
/** Decode raw (untrusted) bytes into tx. Checks: canonical RLP, field count,
 *  integers without leading zeros and within range (nonce < 2^64-1, fees
 *  and value <= 2^256-1, chain id and gas as uint64), `to` empty or 20
 *  bytes, access-list addresses 20 and keys 32 bytes, priority fee <= max
 *  fee, gas_limit * fee fits in 256 bits; for signed txs v matches the
 *  type (27/28, chain_id*2+35/36, y parity 0/1), r and s in [1, n-1] with
 *  s <= n/2 (EIP-2). Signed txs also get their sender recovered into
 *  sender (may be NULL). Returns KG_OK | KG_ERR_BAD_INPUT | KG_ERR_VERIFY
 *  (no public key recovers) | KG_ERR_NOMEM. */
kg_err kg_chain_eth_tx_decode(kg_chain_eth_tx *tx, uint8_t *sender, const uint8_t *raw, size_t raw_len,
                              unsigned flags) KG_WARN_UNUSED KG_NONNULL(1);
/** Recover the sender of a signed tx. Returns KG_OK | KG_ERR_VERIFY | BAD_INPUT. */
kg_err kg_chain_eth_tx_sender(uint8_t addr[static 20], const kg_chain_eth_tx *tx) KG_WARN_UNUSED KG_NONNULL(1, 2);
/** Release what the decoder allocated and zero tx. Safe on a caller-built tx. */
void kg_chain_eth_tx_free(kg_chain_eth_tx *tx);

/* ============================================================ EIP-712 */

#define KG_CHAIN_ETH_EIP712_MAX_TYPES 64
#define KG_CHAIN_ETH_EIP712_MAX_DEPTH 16

/** A struct type: fields in order, each a name and a type string
 *  ("address", "uint256", "bytes32", "string", "Person", "Person[]", "uint8[3][]"). */
typedef struct {
    const char *name;
    const char *type;
} kg_chain_eth_eip712_field;
typedef struct {
    const char *name;
    const kg_chain_eth_eip712_field *fields;
    size_t n_fields;
} kg_chain_eth_eip712_struct;
typedef struct {
    const kg_chain_eth_eip712_struct *structs;
    size_t n_structs;
} kg_chain_eth_eip712_types;

/** A typed value. Atomic values (uintN, intN, address, bool, bytesN) are
 *  the 32-byte ABI word (numbers big-endian, intN sign-extended, address
 *  right-aligned, bytesN left-aligned) and are range-checked against the
 *  type; string and bytes hold their content; structs hold their members in
 *  the struct's field order; arrays hold their elements. */
typedef enum {
    KG_CHAIN_ETH_EIP712_WORD,
    KG_CHAIN_ETH_EIP712_DYNAMIC,
    KG_CHAIN_ETH_EIP712_STRUCT,
    KG_CHAIN_ETH_EIP712_ARRAY
} kg_chain_eth_eip712_kind;
typedef struct kg_chain_eth_eip712_value {
    kg_chain_eth_eip712_kind kind;
    uint8_t word[32];
    const uint8_t *bytes;
    size_t len;
    const struct kg_chain_eth_eip712_value *items;
    size_t n_items;
} kg_chain_eth_eip712_value;

/** typeHash = keccak256(encodeType(name)) (referenced types sorted by name). */
kg_err kg_chain_eth_eip712_type_hash(uint8_t out[static 32], const kg_chain_eth_eip712_types *types,
                                     const char *name) KG_WARN_UNUSED KG_NONNULL(1, 2, 3);
/** hashStruct(name, v) = keccak256(typeHash || encodeData(v)). */
kg_err kg_chain_eth_eip712_hash_struct(uint8_t out[static 32], const kg_chain_eth_eip712_types *types,
                                       const char *name, const kg_chain_eth_eip712_value *v)
    KG_WARN_UNUSED KG_NONNULL(1, 2, 3, 4);
/** The signing digest keccak256(0x19 0x01 || domainSeparator || hashStruct(primary, message));
 *  the message hash is omitted when primary is "EIP712Domain". domain_sep
 *  (may be NULL) gets the domain separator. Returns KG_OK | KG_ERR_BAD_INPUT
 *  (unknown or malformed type, value not matching its type, too deep). */
kg_err kg_chain_eth_eip712_hash(uint8_t digest[static 32], uint8_t *domain_sep,
                                const kg_chain_eth_eip712_types *types,
                                const kg_chain_eth_eip712_value *domain,
                                const char *primary, const kg_chain_eth_eip712_value *message)
    KG_WARN_UNUSED KG_NONNULL(1, 3, 4, 5, 6);
/** Digest of the standard JSON typed data {types, primaryType, domain,
 *  message} (eth_signTypedData_v4) (eth_eip712_json.c, jansson).
 *  Returns KG_OK | KG_ERR_BAD_INPUT with a detail naming the bad member. */
kg_err kg_chain_eth_eip712_json_hash(uint8_t digest[static 32], uint8_t *domain_sep, const json_t *typed)
    KG_WARN_UNUSED KG_NONNULL(1);

/* ================================================================ ABI */

#define KG_CHAIN_ETH_ERC20_CALL_BYTES 68   /* selector + 2 words */
#define KG_CHAIN_ETH_ERC721_CALL_BYTES 100 /* selector + 3 words */

/** First 4 bytes of keccak256 of a canonical signature "transfer(address,uint256)". */
void kg_chain_eth_abi_selector(uint8_t out[static 4], const char *signature) KG_NONNULL(1, 2);
/** ERC-20 transfer(address,uint256) (0xa9059cbb) / approve(address,uint256) (0x095ea7b3). */
void kg_chain_eth_abi_erc20_transfer(uint8_t out[static 68], const uint8_t to[static 20],
                                     const uint8_t amount[static 32]) KG_NONNULL(1, 2, 3);
void kg_chain_eth_abi_erc20_approve(uint8_t out[static 68], const uint8_t spender[static 20],
                                    const uint8_t amount[static 32]) KG_NONNULL(1, 2, 3);
/** ERC-721 transferFrom(address,address,uint256) (0x23b872dd) and
 *  safeTransferFrom(address,address,uint256) (0x42842e0e). */
void kg_chain_eth_abi_erc721_transfer_from(uint8_t out[static 100], const uint8_t from[static 20],
                                           const uint8_t to[static 20], const uint8_t token_id[static 32])
    KG_NONNULL(1, 2, 3, 4);
void kg_chain_eth_abi_erc721_safe_transfer_from(uint8_t out[static 100], const uint8_t from[static 20],
                                                const uint8_t to[static 20], const uint8_t token_id[static 32])
    KG_NONNULL(1, 2, 3, 4);
/** Size of the ERC-1155 call for data_len bytes of data. */
size_t kg_chain_eth_abi_erc1155_len(size_t data_len);
/** ERC-1155 safeTransferFrom(address,address,uint256,uint256,bytes) (0xf242432a).
 *  Returns KG_OK | KG_ERR_BAD_INPUT (out_cap below kg_chain_eth_abi_erc1155_len). */
kg_err kg_chain_eth_abi_erc1155_safe_transfer_from(uint8_t *out, size_t out_cap, size_t *out_len,
                                                   const uint8_t from[static 20], const uint8_t to[static 20],
                                                   const uint8_t id[static 32], const uint8_t amount[static 32],
                                                   const uint8_t *data, size_t data_len)
    KG_WARN_UNUSED KG_NONNULL(1, 3, 4, 5, 6, 7);

/* =========================================================== JSON-RPC */

/** A JSON-RPC 2.0 client for one node URL (eth_rpc.c). Not thread-safe:
 *  one per thread. */
typedef struct kg_chain_eth_rpc kg_chain_eth_rpc;

/** New client for url (http or https) with a per-request timeout (ms; 0 = 10 s). */
kg_err kg_chain_eth_rpc_new(kg_chain_eth_rpc **out, const char *url, long timeout_ms) KG_WARN_UNUSED KG_NONNULL(1, 2);
void kg_chain_eth_rpc_free(kg_chain_eth_rpc *c);
/** Call method with params (a JSON array, stolen; NULL = []). *result gets
 *  a new reference to the "result" member. Returns KG_OK |
 *  KG_ERR_NETWORK (connection, timeout, HTTP status) | KG_ERR_BAD_JSON
 *  (a reply that is not JSON-RPC) | KG_ERR_BAD_INPUT (the node answered
 *  with an error object: its code and message are in the detail). */
kg_err kg_chain_eth_rpc_call(kg_chain_eth_rpc *c, json_t **result, const char *method, json_t *params)
    KG_WARN_UNUSED KG_NONNULL(1, 2, 3);

/** A call for eth_call / eth_estimateGas (from, to, value optional). */
typedef struct {
    bool has_from;
    uint8_t from[20];
    bool has_to;
    uint8_t to[20];
    uint8_t value[32];
    const uint8_t *data;
    size_t data_len;
} kg_chain_eth_call;

typedef struct {
    uint8_t base_fee_next[32];  /* baseFeePerGas of the pending block */
    uint8_t priority_fee[32];   /* median over the blocks of the reward at the percentile */
    uint64_t oldest_block;
} kg_chain_eth_fee_history;

typedef struct {
    uint8_t tx_hash[32];
    uint64_t block_number;
    uint64_t gas_used;
    uint8_t effective_gas_price[32];
    bool success;               /* status 0x1 */
    bool has_contract;
    uint8_t contract_address[20];
} kg_chain_eth_receipt;

kg_err kg_chain_eth_rpc_chain_id(kg_chain_eth_rpc *c, uint64_t *out) KG_WARN_UNUSED KG_NONNULL(1, 2);
/** Balance at "latest" in wei. */
kg_err kg_chain_eth_rpc_get_balance(kg_chain_eth_rpc *c, uint8_t out[static 32], const uint8_t addr[static 20])
    KG_WARN_UNUSED KG_NONNULL(1, 2, 3);
/** Next nonce, counting pending transactions. */
kg_err kg_chain_eth_rpc_get_nonce(kg_chain_eth_rpc *c, uint64_t *out, const uint8_t addr[static 20])
    KG_WARN_UNUSED KG_NONNULL(1, 2, 3);
kg_err kg_chain_eth_rpc_estimate_gas(kg_chain_eth_rpc *c, uint64_t *out, const kg_chain_eth_call *call)
    KG_WARN_UNUSED KG_NONNULL(1, 2, 3);
kg_err kg_chain_eth_rpc_gas_price(kg_chain_eth_rpc *c, uint8_t out[static 32]) KG_WARN_UNUSED KG_NONNULL(1, 2);
/** eth_feeHistory over block_count (1..1024) blocks to "latest" at one reward percentile (0..100). */
kg_err kg_chain_eth_rpc_fee_history(kg_chain_eth_rpc *c, kg_chain_eth_fee_history *out,
                                    unsigned block_count, double percentile) KG_WARN_UNUSED KG_NONNULL(1, 2);
/** eth_call at "latest": out gets the returned bytes. */
kg_err kg_chain_eth_rpc_call_contract(kg_chain_eth_rpc *c, kg_bytes *out, const kg_chain_eth_call *call)
    KG_WARN_UNUSED KG_NONNULL(1, 2, 3);
/** eth_sendRawTransaction: tx_hash gets the hash the node reports. */
kg_err kg_chain_eth_rpc_send_raw(kg_chain_eth_rpc *c, uint8_t tx_hash[static 32], const uint8_t *raw, size_t raw_len)
    KG_WARN_UNUSED KG_NONNULL(1, 2, 3);
/** eth_getTransactionReceipt: *found is false (KG_OK) while the tx is pending. */
kg_err kg_chain_eth_rpc_get_receipt(kg_chain_eth_rpc *c, kg_chain_eth_receipt *out, bool *found,
                                    const uint8_t tx_hash[static 32]) KG_WARN_UNUSED KG_NONNULL(1, 2, 3, 4);
/** Poll for the receipt every poll_ms until max_wait_ms has passed.
 *  Returns KG_OK | KG_ERR_NOT_FOUND (not mined in time) | the call's error. */
kg_err kg_chain_eth_rpc_wait_receipt(kg_chain_eth_rpc *c, kg_chain_eth_receipt *out,
                                     const uint8_t tx_hash[static 32], long poll_ms, long max_wait_ms)
    KG_WARN_UNUSED KG_NONNULL(1, 2, 3);

#endif
