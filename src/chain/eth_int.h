/* Declarations shared by the Ethereum files of the chain module only
 * (eth_*.c). The public contract is include/kashguard/chain/ethereum.h.
 *
 * kg_chain_eth_sink is the streaming side of RLP: a writer that counts
 * bytes and, optionally, copies them into a buffer and/or feeds them to
 * Keccak. Transaction encoding runs its emitter twice, once with a
 * counting sink to learn a list's payload length and once for real, so a
 * signing hash never needs a buffer the size of the transaction. */
#ifndef KG_CHAIN_ETH_INT_H
#define KG_CHAIN_ETH_INT_H

#include <kashguard/chain/ethereum.h>
#include <kashguard/crypto.h>

typedef struct {
    uint8_t *buf;               /* NULL: do not copy */
    size_t cap;
    size_t len;                 /* bytes emitted so far (even past cap) */
    kg_crypto_keccak_ctx *hash; /* NULL: do not hash */
} kg_chain_eth_sink;

/** A sink that only counts. */
#define KG_CHAIN_ETH_SINK_COUNT { NULL, 0, 0, NULL }

void kg_chain_eth_sink_put(kg_chain_eth_sink *s, const uint8_t *p, size_t n);
/** An RLP string / list header for a payload of len bytes. */
void kg_chain_eth_sink_header(kg_chain_eth_sink *s, bool is_list, size_t len);
/** An RLP byte string item (header + bytes). */
void kg_chain_eth_sink_string(kg_chain_eth_sink *s, const uint8_t *p, size_t n);
/** RLP integers: minimal big-endian. */
void kg_chain_eth_sink_uint(kg_chain_eth_sink *s, uint64_t v);
void kg_chain_eth_sink_u256(kg_chain_eth_sink *s, const uint8_t v[static 32]);
/** Size of the header for a payload of len bytes (1..9). */
size_t kg_chain_eth_rlp_header_len(size_t len);

/** The secp256k1 group order n and n/2, big-endian (EIP-2 low-S rule). */
extern const uint8_t kg_chain_eth_secp_n[32];
extern const uint8_t kg_chain_eth_secp_half_n[32];
/** r and s in [1, n-1], and s <= n/2 when low_s. */
bool kg_chain_eth_sig_valid(const kg_chain_eth_sig *sig, bool low_s);

/** Is every byte zero. */
bool kg_chain_eth_is_zero(const uint8_t *p, size_t n);

#endif
