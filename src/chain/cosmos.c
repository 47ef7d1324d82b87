/* Cosmos SDK addresses and SIGN_MODE_DIRECT transactions (cosmos-sdk
 * ADR-020 "Protobuf transaction encoding", proto files cosmos/tx/v1beta1/
 * tx.proto, cosmos/bank/v1beta1/tx.proto, cosmos/base/v1beta1/coin.proto,
 * cosmos/crypto/secp256k1/keys.proto).
 *
 * The protobuf wire format is written here by hand: a field is a varint
 * key (field_number << 3 | wire_type), then a varint (type 0) or a varint
 * length and the bytes (type 2). proto3 leaves out fields holding their
 * default (0, "", empty), and the SDK (like cosmjs) writes fields in
 * field-number order, so one message has exactly one encoding -- which is
 * what the signature covers (ADR-020 signs the body and auth-info bytes
 * as they are sent).
 *
 * A nested message's length must be known before its bytes: every encoder
 * here is a function of a writer that can just count (out == NULL), and
 * a nested field first runs its encoder in counting mode, then for real.
 * The work is linear in size times nesting depth (4), with no allocation. */
#include <kashguard/chain/cosmos.h>
#include <kashguard/chain/encoding.h>
#include <kashguard/crypto.h>

#include <string.h>

typedef struct {
    uint8_t *p;     /* NULL: count only */
    size_t cap, len;
    kg_crypto_sha256_ctx *sha; /* when set, the bytes are hashed instead */
} pbw;

static void w_raw(pbw *w, const void *b, size_t n)
{
    if (w->sha != NULL && n > 0)
        kg_crypto_sha256_update(w->sha, b, n);
    else if (w->p != NULL && w->len <= w->cap && n <= w->cap - w->len && n > 0)
        memcpy(w->p + w->len, b, n);
    w->len += n;
}

static void w_varint(pbw *w, uint64_t v)
{
    uint8_t b[10];
    size_t n = 0;
    do {
        b[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v != 0)
            b[n] |= 0x80;
        n++;
    } while (v != 0);
    w_raw(w, b, n);
}

static void w_bytes(pbw *w, unsigned field, const void *b, size_t n)
{
    w_varint(w, (uint64_t)field << 3 | 2);
    w_varint(w, n);
    w_raw(w, b, n);
}

/* proto3: empty strings and zero integers are not written. */
static void w_string(pbw *w, unsigned field, const char *s)
{
    if (s != NULL && s[0] != 0)
        w_bytes(w, field, s, strlen(s));
}

static void w_uint(pbw *w, unsigned field, uint64_t v)
{
    if (v != 0) {
        w_varint(w, (uint64_t)field << 3);
        w_varint(w, v);
    }
}

/* A nested message: count it, write its length, then write it. */
typedef void (*pb_enc)(pbw *w, const void *arg);
static void w_msg(pbw *w, unsigned field, pb_enc enc, const void *arg)
{
    pbw count = { NULL, 0, 0, NULL };
    enc(&count, arg);
    w_varint(w, (uint64_t)field << 3 | 2);
    w_varint(w, count.len);
    enc(w, arg);
}

/* -------------------------------------------------------------- checks */

static kg_err check_coins(const kg_chain_cosmos_coin *c, size_t n, const char *what)
{
    if (n > KG_CHAIN_COSMOS_MAX_COINS || (n > 0 && c == NULL))
        return kg_err_set(KG_ERR_BAD_INPUT, "%s: at most %d coins", what, KG_CHAIN_COSMOS_MAX_COINS);
    for (size_t i = 0; i < n; i++) {
        const char *d = c[i].denom, *a = c[i].amount;
        size_t dl = d ? strlen(d) : 0, al = a ? strlen(a) : 0;
        bool ok = dl >= 3 && dl <= 128 && ((d[0] | 0x20) >= 'a' && (d[0] | 0x20) <= 'z');
        for (size_t k = 1; ok && k < dl; k++)
            ok = (d[k] >= 'a' && d[k] <= 'z') || (d[k] >= 'A' && d[k] <= 'Z') || (d[k] >= '0' && d[k] <= '9') ||
                 strchr("/:._-", d[k]) != NULL;
        if (!ok)
            return kg_err_set(KG_ERR_BAD_INPUT, "%s: coin %zu has an invalid denom (3-128 characters, a letter "
                              "first, then letters, digits, / : . _ -)", what, i);
        ok = al >= 1 && al <= 78;
        for (size_t k = 0; ok && k < al; k++)
            ok = a[k] >= '0' && a[k] <= '9';
        if (!ok || (al > 1 && a[0] == '0'))
            return kg_err_set(KG_ERR_BAD_INPUT, "%s: coin %zu amount must be a decimal integer without sign or "
                              "leading zeros", what, i);
    }
    return KG_OK;
}

static kg_err check_tx(const kg_chain_cosmos_tx *tx)
{
    uint8_t chk[33];
    if (tx->msg_count == 0 || tx->msg_count > KG_CHAIN_COSMOS_MAX_MSGS || tx->msgs == NULL)
        return kg_err_set(KG_ERR_BAD_INPUT, "a Cosmos transaction needs 1 to %d messages", KG_CHAIN_COSMOS_MAX_MSGS);
    for (size_t i = 0; i < tx->msg_count; i++) {
        const kg_chain_cosmos_msg_send *m = &tx->msgs[i];
        if (m->from_address == NULL || m->to_address == NULL ||
            kg_chain_cosmos_address_check(NULL, m->from_address, NULL) != KG_OK ||
            kg_chain_cosmos_address_check(NULL, m->to_address, NULL) != KG_OK)
            return kg_err_set(KG_ERR_BAD_INPUT, "MsgSend %zu: from_address and to_address must be Bech32 account "
                              "addresses", i);
        if (m->amount_count == 0)
            return kg_err_set(KG_ERR_BAD_INPUT, "MsgSend %zu: the amount is empty", i);
        kg_err e = check_coins(m->amount, m->amount_count, "MsgSend amount");
        if (e != KG_OK)
            return e;
    }
    if (tx->memo != NULL && strlen(tx->memo) > KG_CHAIN_COSMOS_MEMO_MAX)
        return kg_err_set(KG_ERR_BAD_INPUT, "memo longer than %d bytes", KG_CHAIN_COSMOS_MEMO_MAX);
    if (kg_crypto_k1_pubkey_convert(chk, 33, tx->pubkey, 33) != KG_OK)
        return kg_err_set(KG_ERR_BAD_INPUT, "the signer public key is not a valid compressed secp256k1 key");
    if (tx->chain_id == NULL || tx->chain_id[0] == 0 || strlen(tx->chain_id) > 50)
        return kg_err_set(KG_ERR_BAD_INPUT, "chain_id must be 1 to 50 characters (e.g. cosmoshub-4)");
    return check_coins(tx->fee, tx->fee_count, "fee");
}

/* ------------------------------------------------------------- messages */

static void enc_coin(pbw *w, const void *arg)
{
    const kg_chain_cosmos_coin *c = arg;
    w_string(w, 1, c->denom);
    w_string(w, 2, c->amount);
}

static void enc_msg_send(pbw *w, const void *arg)
{
    const kg_chain_cosmos_msg_send *m = arg;
    w_string(w, 1, m->from_address);
    w_string(w, 2, m->to_address);
    for (size_t i = 0; i < m->amount_count; i++)
        w_msg(w, 3, enc_coin, &m->amount[i]);
}

static void enc_any_msg_send(pbw *w, const void *arg)
{
    w_string(w, 1, "/cosmos.bank.v1beta1.MsgSend");
    w_msg(w, 2, enc_msg_send, arg);
}

static void enc_body(pbw *w, const void *arg)
{
    const kg_chain_cosmos_tx *tx = arg;
    for (size_t i = 0; i < tx->msg_count; i++)
        w_msg(w, 1, enc_any_msg_send, &tx->msgs[i]);
    w_string(w, 2, tx->memo);
    w_uint(w, 3, tx->timeout_height);
}

static void enc_pubkey(pbw *w, const void *arg)
{
    w_bytes(w, 1, arg, 33);
}

static void enc_any_pubkey(pbw *w, const void *arg)
{
    w_string(w, 1, "/cosmos.crypto.secp256k1.PubKey");
    w_msg(w, 2, enc_pubkey, arg);
}

static void enc_single(pbw *w, const void *arg)
{
    (void)arg;
    w_uint(w, 1, 1); /* SIGN_MODE_DIRECT */
}

static void enc_mode_info(pbw *w, const void *arg)
{
    w_msg(w, 1, enc_single, arg);
}

static void enc_signer_info(pbw *w, const void *arg)
{
    const kg_chain_cosmos_tx *tx = arg;
    w_msg(w, 1, enc_any_pubkey, tx->pubkey);
    w_msg(w, 2, enc_mode_info, NULL);
    w_uint(w, 3, tx->sequence);
}

static void enc_fee(pbw *w, const void *arg)
{
    const kg_chain_cosmos_tx *tx = arg;
    for (size_t i = 0; i < tx->fee_count; i++)
        w_msg(w, 1, enc_coin, &tx->fee[i]);
    w_uint(w, 2, tx->gas_limit);
}

static void enc_auth_info(pbw *w, const void *arg)
{
    w_msg(w, 1, enc_signer_info, arg);
    w_msg(w, 2, enc_fee, arg);
}

/* Run enc into out, or report the size needed. */
static kg_err finish(uint8_t *out, size_t out_cap, size_t *out_len, pb_enc enc, const void *arg, const char *what)
{
    pbw w = { out, out ? out_cap : 0, 0, NULL };
    enc(&w, arg);
    *out_len = w.len;
    if (out != NULL && w.len > out_cap) {
        memset(out, 0, out_cap);
        return kg_err_set(KG_ERR_BAD_INPUT, "the %s needs %zu bytes; the buffer has %zu", what, w.len, out_cap);
    }
    return KG_OK;
}

kg_err kg_chain_cosmos_body_encode(uint8_t *out, size_t out_cap, size_t *out_len, const kg_chain_cosmos_tx *tx)
{
    *out_len = 0;
    kg_err e = check_tx(tx);
    return e != KG_OK ? e : finish(out, out_cap, out_len, enc_body, tx, "TxBody");
}

kg_err kg_chain_cosmos_auth_info_encode(uint8_t *out, size_t out_cap, size_t *out_len, const kg_chain_cosmos_tx *tx)
{
    *out_len = 0;
    kg_err e = check_tx(tx);
    return e != KG_OK ? e : finish(out, out_cap, out_len, enc_auth_info, tx, "AuthInfo");
}

typedef struct {
    const uint8_t *body, *auth, *sig;
    size_t body_len, auth_len;
    const char *chain_id;
    uint64_t account_number;
} doc_args;

static void enc_sign_doc(pbw *w, const void *arg)
{
    const doc_args *d = arg;
    if (d->body_len)
        w_bytes(w, 1, d->body, d->body_len);
    if (d->auth_len)
        w_bytes(w, 2, d->auth, d->auth_len);
    w_string(w, 3, d->chain_id);
    w_uint(w, 4, d->account_number);
}

static void enc_tx_raw(pbw *w, const void *arg)
{
    const doc_args *d = arg;
    if (d->body_len)
        w_bytes(w, 1, d->body, d->body_len);
    if (d->auth_len)
        w_bytes(w, 2, d->auth, d->auth_len);
    w_bytes(w, 3, d->sig, 64);
}

kg_err kg_chain_cosmos_sign_doc_encode(uint8_t *out, size_t out_cap, size_t *out_len,
                                       const uint8_t *body, size_t body_len,
                                       const uint8_t *auth_info, size_t auth_info_len,
                                       const char *chain_id, uint64_t account_number)
{
    doc_args d = { body, auth_info, NULL, body_len, auth_info_len, chain_id, account_number };
    return finish(out, out_cap, out_len, enc_sign_doc, &d, "SignDoc");
}

kg_err kg_chain_cosmos_tx_raw_encode(uint8_t *out, size_t out_cap, size_t *out_len,
                                     const uint8_t *body, size_t body_len,
                                     const uint8_t *auth_info, size_t auth_info_len,
                                     const uint8_t sig[static 64])
{
    doc_args d = { body, auth_info, sig, body_len, auth_info_len, NULL, 0 };
    return finish(out, out_cap, out_len, enc_tx_raw, &d, "TxRaw");
}

/* ------------------------------------------------------------ addresses */

kg_err kg_chain_cosmos_address(char *out, size_t out_cap, const char *hrp, const uint8_t pub33[static 33])
{
    uint8_t chk[33], h[20];
    if (out_cap > 0)
        out[0] = 0;
    if (kg_crypto_k1_pubkey_convert(chk, 33, pub33, 33) != KG_OK)
        return kg_err_set(KG_ERR_BAD_INPUT, "not a valid 33-byte compressed secp256k1 public key");
    kg_crypto_hash160(h, pub33, 33);
    return kg_chain_bech32_encode_bytes(out, out_cap, hrp, h, 20, KG_CHAIN_BECH32, 0);
}

kg_err kg_chain_cosmos_address_check(uint8_t *hash20, const char *addr, const char *hrp)
{
    char got_hrp[KG_CHAIN_BECH32_HRP_MAX + 1];
    uint8_t data[64];
    size_t n = 0;
    kg_chain_bech32_variant v;
    if (hash20 != NULL)
        memset(hash20, 0, 20);
    kg_err e = kg_chain_bech32_decode_bytes(got_hrp, sizeof got_hrp, data, sizeof data, &n, &v, addr, hrp, 0);
    if (e != KG_OK)
        return e;
    if (v != KG_CHAIN_BECH32 || n != 20)
        return kg_err_set(KG_ERR_BAD_INPUT, "a Cosmos account address is Bech32 (not Bech32m) of 20 bytes; "
                          "this one has %zu bytes", n);
    if (hash20 != NULL)
        memcpy(hash20, data, 20);
    return KG_OK;
}

/* -------------------------------------------------------------- signing */

/* Lay the TxRaw out in out: field 1 (body), field 2 (auth info), then the
 * signature field, so that body and auth info are encoded in place once. */
static kg_err layout(uint8_t *out, size_t out_cap, size_t *out_len, doc_args *d, const kg_chain_cosmos_tx *tx)
{
    size_t bl = 0, al = 0;
    kg_err e = kg_chain_cosmos_body_encode(NULL, 0, &bl, tx);
    if (e == KG_OK)
        e = kg_chain_cosmos_auth_info_encode(NULL, 0, &al, tx);
    if (e != KG_OK)
        return e;
    pbw w = { NULL, 0, 0, NULL };
    w_varint(&w, bl);
    size_t boff = 1 + w.len;
    w.len = 0;
    w_varint(&w, al);
    size_t aoff = boff + bl + 1 + w.len;
    *out_len = aoff + al + 2 + 64;
    if (*out_len > out_cap)
        return kg_err_set(KG_ERR_BAD_INPUT, "the TxRaw needs %zu bytes; the buffer has %zu", *out_len, out_cap);
    pbw o = { out, out_cap, 0, NULL };
    w_varint(&o, 1u << 3 | 2);
    w_varint(&o, bl);
    enc_body(&o, tx);
    w_varint(&o, 2u << 3 | 2);
    w_varint(&o, al);
    enc_auth_info(&o, tx);
    *d = (doc_args){ out + boff, out + aoff, NULL, bl, al, tx->chain_id, tx->account_number };
    return o.len == aoff + al ? KG_OK : kg_err_set(KG_ERR_INTERNAL, "TxRaw layout mismatch");
}

static kg_err check_signer(kg_signer *signer, const kg_key_ref *ref, const kg_chain_cosmos_tx *tx)
{
    kg_pubkey pk;
    kg_err e = kg_signer_public_key(signer, &pk, ref, KG_SIG_ECDSA_SECP256K1);
    if (e != KG_OK)
        return e;
    if (pk.len != 33 || memcmp(pk.data, tx->pubkey, 33) != 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "the signer's key is not the transaction's public key; "
                          "set tx.pubkey to the key of the signing account");
    return KG_OK;
}

kg_err kg_chain_cosmos_tx_sign(uint8_t *out, size_t out_cap, size_t *out_len, uint8_t *sig,
                               uint8_t *sign_doc, size_t sign_doc_cap, size_t *sign_doc_len,
                               kg_signer *signer, const kg_key_ref *ref, const kg_chain_cosmos_tx *tx)
{
    doc_args d;
    uint8_t digest[32];
    kg_signature s;
    memset(&s, 0, sizeof s);
    if (sig != NULL)
        memset(sig, 0, 64);
    if (sign_doc_len != NULL)
        *sign_doc_len = 0;
    kg_err e = check_signer(signer, ref, tx);
    if (e == KG_OK)
        e = layout(out, out_cap, out_len, &d, tx);
    if (e == KG_OK && sign_doc != NULL)
        e = kg_chain_cosmos_sign_doc_encode(sign_doc, sign_doc_cap, sign_doc_len ? sign_doc_len : &(size_t){ 0 },
                                            d.body, d.body_len, d.auth, d.auth_len, d.chain_id, d.account_number);
    if (e == KG_OK) {
        kg_crypto_sha256_ctx c;
        pbw h = { NULL, 0, 0, &c };
        kg_crypto_sha256_init(&c);
        enc_sign_doc(&h, &d);
        kg_crypto_sha256_final(digest, &c);
        e = kg_signer_sign(signer, &s, ref, KG_SIG_ECDSA_SECP256K1, digest, 32);
    }
    if (e == KG_OK && s.len != 64)
        e = kg_err_set(KG_ERR_CRYPTO, "the signer returned a %zu-byte signature, not 64 (r||s)", s.len);
    if (e == KG_OK) {
        size_t at = *out_len - 66;
        out[at] = 3u << 3 | 2;
        out[at + 1] = 64;
        memcpy(out + at + 2, s.data, 64);
        if (sig != NULL)
            memcpy(sig, s.data, 64);
        return KG_OK;
    }
    memset(out, 0, out_cap);
    *out_len = 0;
    return e;
}
