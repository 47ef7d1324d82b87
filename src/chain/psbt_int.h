/* Private helpers shared by the PSBT files (src/chain/psbt*.c). */
#ifndef KG_CHAIN_PSBT_INT_H
#define KG_CHAIN_PSBT_INT_H

#include <kashguard/chain/psbt.h>

/* A bounds-checked reader over untrusted bytes. */
typedef struct {
    const uint8_t *p;
    size_t len, pos;
} kg_psbt_rd;

bool kg_psbt_rd_bytes(kg_psbt_rd *r, const uint8_t **out, size_t n);
bool kg_psbt_rd_u32(kg_psbt_rd *r, uint32_t *v);
bool kg_psbt_rd_u64(kg_psbt_rd *r, uint64_t *v);
/* Bitcoin CompactSize, minimally encoded (non-canonical forms rejected). */
bool kg_psbt_rd_cs(kg_psbt_rd *r, uint64_t *v);

/* A writer into a caller buffer that counts even past the end (so a NULL
 * buffer measures). */
typedef struct {
    uint8_t *p;
    size_t cap, len;
} kg_psbt_wr;

void kg_psbt_wr_bytes(kg_psbt_wr *w, const void *b, size_t n);
void kg_psbt_wr_u32(kg_psbt_wr *w, uint32_t v);
void kg_psbt_wr_u64(kg_psbt_wr *w, uint64_t v);
void kg_psbt_wr_cs(kg_psbt_wr *w, uint64_t v);
size_t kg_psbt_cs_len(uint64_t v);

/* Arena allocation (NULL when full). */
void *kg_psbt_arena(kg_chain_psbt *p, size_t n);

/* Key type of a full key (its leading compact size) and the key data. */
bool kg_psbt_key_type(uint64_t *type, const uint8_t **data, size_t *data_len,
                      const uint8_t *key, size_t key_len);

/* Put with a one-byte type and key data (the common case). */
kg_err kg_psbt_put(kg_chain_psbt *p, kg_chain_psbt_map *m, uint8_t type, const uint8_t *kdata, size_t kdata_len,
                   const uint8_t *val, size_t val_len);
const kg_chain_psbt_kv *kg_psbt_get(const kg_chain_psbt_map *m, uint8_t type, const uint8_t *kdata, size_t kdata_len);

/* The unsigned legacy transaction of v0: walk it. */
typedef struct {
    uint32_t version, locktime;
    size_t n_in, n_out;
    size_t in_off, out_off;      /* offset of the first input / output */
} kg_psbt_txinfo;
/* Parse a legacy (non-witness) tx exactly filling buf; with witness_ok a
 * BIP144 witness serialization is accepted too (previous transactions). */
kg_err kg_psbt_tx_scan(kg_psbt_txinfo *info, const uint8_t *tx, size_t tx_len, bool witness_ok, bool *has_witness);
bool kg_psbt_tx_in_at(kg_chain_psbt_in *in, const uint8_t **script_sig, size_t *script_sig_len,
                      const uint8_t *tx, size_t tx_len, const kg_psbt_txinfo *info, size_t i);
bool kg_psbt_tx_out_at(kg_chain_psbt_out *out, const uint8_t *tx, size_t tx_len, const kg_psbt_txinfo *info, size_t i);
/* txid (internal order) of a tx given in either serialization. */
kg_err kg_psbt_txid(uint8_t txid[static 32], const uint8_t *tx, size_t tx_len);

/* Checks on the assembled PSBT shared by parse and create. */
kg_err kg_psbt_check_structure(const kg_chain_psbt *p);

/* Spent output of input i (from the witness or non-witness UTXO). */
kg_err kg_psbt_spent_output(uint64_t *amount, const uint8_t **spk, size_t *spk_len, bool *from_witness_utxo,
                            const kg_chain_psbt *p, size_t i);

/* How input i is spent, from its UTXO and scripts (psbt_sign.c). */
typedef enum { KG_PSBT_PKH, KG_PSBT_SCRIPT, KG_PSBT_WPKH, KG_PSBT_WSH, KG_PSBT_TR } kg_psbt_kind;
typedef struct {
    kg_psbt_kind kind;
    bool p2sh;                        /* wrapped in P2SH (redeem script) */
    bool from_witness_utxo;
    uint64_t amount;
    const uint8_t *spk;
    size_t spk_len;
    const uint8_t *redeem, *wscript;  /* NULL when absent */
    size_t redeem_len, wscript_len;
    const uint8_t *script_code;       /* what the sighash commits to */
    size_t script_code_len;
    uint8_t sc_buf[25];               /* P2PKH script code of a P2WPKH */
    uint8_t prog[40];                 /* key hash / program */
    size_t prog_len;
} kg_psbt_plan;
/* Returns KG_OK | KG_ERR_NOT_FOUND (not enough data to sign: skip it) |
 * KG_ERR_BAD_INPUT (a BIP174 signer check failed). */
kg_err kg_psbt_plan_input(kg_psbt_plan *pl, const kg_chain_psbt *p, size_t i);
bool kg_psbt_input_final(const kg_chain_psbt *p, size_t i);

#endif
