/* Solana addresses and SOL transfers (Solana docs "Transactions":
 * message format, compact-u16 "shortvec" arrays, legacy message header;
 * System Program instruction 2 = Transfer { lamports: u64 }, bincode:
 * u32 LE enum index then u64 LE).
 *
 * Account order in a legacy message: writable signers, read-only
 * signers, writable non-signers, read-only non-signers. A transfer has the
 * payer (writable signer), the recipient (writable) and the System Program
 * 11111111111111111111111111111111 (32 zero bytes, read-only), so the
 * header is [1, 0, 1]. A transfer to oneself lists the payer once (keys
 * are unique), as web3.js does. The signature is Ed25519 over the message
 * bytes; the first signature is the transaction id. */
#include <kashguard/chain/solana.h>
#include <kashguard/chain/encoding.h>

#include <string.h>

static const uint8_t system_program[32] = { 0 };

kg_err kg_chain_sol_address(char *out, size_t out_cap, const uint8_t pub[static 32])
{
    return kg_chain_base58_encode(out, out_cap, pub, 32);
}

kg_err kg_chain_sol_address_decode(uint8_t pub[static 32], const char *addr)
{
    uint8_t b[40];
    size_t n = 0;
    memset(pub, 0, 32);
    kg_err e = kg_chain_base58_decode(b, sizeof b, &n, addr);
    if (e != KG_OK)
        return e;
    if (n != 32)
        return kg_err_set(KG_ERR_BAD_INPUT, "a Solana address is Base58 of 32 bytes; this one has %zu", n);
    memcpy(pub, b, 32);
    return KG_OK;
}

typedef struct {
    uint8_t *p;
    size_t cap, len;
} solw;

static void w_raw(solw *w, const void *b, size_t n)
{
    if (w->p != NULL && n <= w->cap - w->len && w->len <= w->cap && n > 0)
        memcpy(w->p + w->len, b, n);
    w->len += n;
}

static void w_u8(solw *w, uint8_t v) { w_raw(w, &v, 1); }

/* compact-u16: 7 bits per byte, little-endian, high bit = more. */
static void w_shortvec(solw *w, uint16_t v)
{
    do {
        uint8_t b = (uint8_t)(v & 0x7f);
        v >>= 7;
        w_u8(w, v ? (uint8_t)(b | 0x80) : b);
    } while (v);
}

static void w_le(solw *w, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        w_u8(w, (uint8_t)(v >> (8 * i)));
}

static kg_err done(uint8_t *out, size_t out_cap, size_t *out_len, const solw *w, const char *what)
{
    *out_len = w->len;
    if (out != NULL && w->len > out_cap) {
        memset(out, 0, out_cap);
        return kg_err_set(KG_ERR_BAD_INPUT, "the %s needs %zu bytes; the buffer has %zu", what, w->len, out_cap);
    }
    return KG_OK;
}

kg_err kg_chain_sol_transfer_message(uint8_t *out, size_t out_cap, size_t *out_len, const kg_chain_sol_transfer *t)
{
    solw w = { out, out ? out_cap : 0, 0 };
    bool self = memcmp(t->from, t->to, 32) == 0;
    uint8_t to_index = self ? 0 : 1, prog_index = self ? 1 : 2;
    w_u8(&w, 1); /* num_required_signatures */
    w_u8(&w, 0); /* num_readonly_signed_accounts */
    w_u8(&w, 1); /* num_readonly_unsigned_accounts: the System Program */
    w_shortvec(&w, self ? 2 : 3);
    w_raw(&w, t->from, 32);
    if (!self)
        w_raw(&w, t->to, 32);
    w_raw(&w, system_program, 32);
    w_raw(&w, t->recent_blockhash, 32);
    w_shortvec(&w, 1);           /* one instruction */
    w_u8(&w, prog_index);
    w_shortvec(&w, 2);           /* accounts: from, to */
    w_u8(&w, 0);
    w_u8(&w, to_index);
    w_shortvec(&w, 12);          /* data: Transfer = 2, lamports */
    w_le(&w, 2, 4);
    w_le(&w, t->lamports, 8);
    return done(out, out_cap, out_len, &w, "Solana message");
}

kg_err kg_chain_sol_tx_encode(uint8_t *out, size_t out_cap, size_t *out_len, const uint8_t sig[static 64],
                              const uint8_t *msg, size_t msg_len)
{
    solw w = { out, out ? out_cap : 0, 0 };
    w_shortvec(&w, 1);
    w_raw(&w, sig, 64);
    w_raw(&w, msg, msg_len);
    if (w.len > KG_CHAIN_SOL_TX_MAX_BYTES) {
        *out_len = 0;
        return kg_err_set(KG_ERR_BAD_INPUT, "a Solana transaction is at most %d bytes; this one is %zu",
                          KG_CHAIN_SOL_TX_MAX_BYTES, w.len);
    }
    return done(out, out_cap, out_len, &w, "Solana transaction");
}

kg_err kg_chain_sol_transfer_sign(uint8_t *out, size_t out_cap, size_t *out_len, uint8_t *sig,
                                  kg_signer *signer, const kg_key_ref *ref, const kg_chain_sol_transfer *t)
{
    uint8_t msg[256];
    size_t ml = 0;
    kg_pubkey pk;
    kg_signature s;
    memset(&s, 0, sizeof s);
    *out_len = 0;
    if (sig != NULL)
        memset(sig, 0, 64);
    kg_err e = kg_signer_public_key(signer, &pk, ref, KG_SIG_ED25519);
    if (e == KG_OK && (pk.len != 32 || memcmp(pk.data, t->from, 32) != 0))
        e = kg_err_set(KG_ERR_BAD_INPUT, "the signer's Ed25519 key is not the transfer's 'from' account");
    if (e == KG_OK)
        e = kg_chain_sol_transfer_message(msg, sizeof msg, &ml, t);
    if (e == KG_OK)
        e = kg_signer_sign(signer, &s, ref, KG_SIG_ED25519, msg, ml);
    if (e == KG_OK && s.len != 64)
        e = kg_err_set(KG_ERR_CRYPTO, "the signer returned a %zu-byte Ed25519 signature, not 64", s.len);
    if (e == KG_OK)
        e = kg_chain_sol_tx_encode(out, out_cap, out_len, s.data, msg, ml);
    if (e == KG_OK && sig != NULL)
        memcpy(sig, s.data, 64);
    if (e != KG_OK) {
        memset(out, 0, out_cap);
        *out_len = 0;
    }
    return e;
}

kg_err kg_chain_sol_tx_base58(char *out, size_t out_cap, const uint8_t *tx, size_t tx_len)
{
    return kg_chain_base58_encode(out, out_cap, tx, tx_len);
}
