/* Signing Bitcoin inputs through a kg_signer, and the DER signature codec.
 *
 * The signer seam (signer.h) signs 32-byte digests and never exposes keys,
 * so this file computes each input's sighash (btc_sighash.c), asks the
 * signer for the signature, and assembles the final scriptSig/witness:
 *   P2PKH        scriptSig <DER sig || type> <pub33>
 *   P2WPKH       witness [DER sig || type, pub33]            (BIP141)
 *   P2SH-P2WPKH  scriptSig <0x0014 || HASH160(pub)>, witness as P2WPKH
 *   P2TR         witness [sig64] or [sig64 || type]          (BIP341 key path)
 * Before signing it checks that the signer's public key is the one the
 * spent scriptPubKey pays (so a wrong key ref or a lying PSBT cannot make
 * us sign for a coin the key cannot spend), and after signing it verifies
 * the signature (a faulty remote/MPC signer is caught here, not by the
 * network). Output bytes go to the transaction's arena; a failure rolls the
 * arena and item pool back, so the transaction is unchanged.
 *
 * DER (BIP66 strict encoding): 0x30 len 0x02 rlen R 0x02 slen S, integers
 * minimal and positive, followed here by the sighash byte. */
#include "btc_int.h"

/* One minimal positive DER INTEGER from 32 big-endian bytes. */
static size_t der_int(uint8_t *out, const uint8_t v[static 32])
{
    size_t i = 0;
    while (i < 31 && v[i] == 0)
        i++;
    size_t n = 32 - i, pad = (v[i] & 0x80) ? 1 : 0;
    out[0] = 0x02;
    out[1] = (uint8_t)(n + pad);
    out[2] = 0;
    memcpy(out + 2 + pad, v + i, n);
    return 2 + pad + n;
}

void kg_chain_btc_sig_der_encode(uint8_t out[static KG_CHAIN_BTC_DER_SIG_MAX], size_t *out_len,
                                 const uint8_t sig64[static 64], uint8_t hash_type)
{
    uint8_t body[70];
    size_t n = der_int(body, sig64);
    n += der_int(body + n, sig64 + 32);
    out[0] = 0x30;
    out[1] = (uint8_t)n;
    memcpy(out + 2, body, n);
    out[2 + n] = hash_type;
    *out_len = n + 3;
}

/* Parse one strict DER INTEGER of at most 32 value bytes into v (left-padded). */
static bool der_read_int(uint8_t v[static 32], const uint8_t *p, size_t n)
{
    if (n == 0 || (p[0] & 0x80))
        return false;                      /* empty or negative */
    if (n > 1 && p[0] == 0 && !(p[1] & 0x80))
        return false;                      /* not minimal */
    if (p[0] == 0) {
        p++;
        n--;
    }
    if (n > 32)
        return false;
    memset(v, 0, 32);
    memcpy(v + 32 - n, p, n);
    return true;
}

kg_err kg_chain_btc_sig_der_decode(uint8_t sig64[static 64], uint8_t *hash_type, const uint8_t *der, size_t der_len)
{
    memset(sig64, 0, 64);
    *hash_type = 0;
    /* BIP66 IsValidSignatureEncoding, with the hash type byte at the end. */
    if (der_len < 9 || der_len > 73 || der[0] != 0x30 || der[1] != der_len - 3 || der[2] != 0x02)
        return kg_err_set(KG_ERR_BAD_INPUT, "signature is not strict DER (BIP66): bad header or length");
    size_t rlen = der[3];
    if (5 + rlen >= der_len || der[4 + rlen] != 0x02)
        return kg_err_set(KG_ERR_BAD_INPUT, "signature is not strict DER (BIP66): bad R");
    size_t slen = der[5 + rlen];
    if (rlen + slen + 7 != der_len)
        return kg_err_set(KG_ERR_BAD_INPUT, "signature is not strict DER (BIP66): lengths do not add up");
    if (!der_read_int(sig64, der + 4, rlen) || !der_read_int(sig64 + 32, der + 6 + rlen, slen)) {
        memset(sig64, 0, 64);
        return kg_err_set(KG_ERR_BAD_INPUT, "signature is not strict DER (BIP66): R or S not a minimal positive integer");
    }
    *hash_type = der[der_len - 1];
    return KG_OK;
}

/* ------------------------------------------------------------- signing */

static uint8_t *arena_take(kg_chain_btc_tx *tx, size_t n)
{
    if (tx->arena == NULL || n > tx->arena_cap - tx->arena_len)
        return NULL;
    uint8_t *p = tx->arena + tx->arena_len;
    tx->arena_len += n;
    return p;
}

/* What one signed input becomes, committed only when every input succeeded. */
typedef struct {
    kg_chain_btc_bytes script_sig;
    kg_chain_btc_bytes *witness;
    size_t witness_count;
} signed_input;

static kg_err no_room(void)
{
    return kg_err_set(KG_ERR_BAD_INPUT, "transaction arena or witness pool is full; allow %d bytes and %d items per signed input",
                      KG_CHAIN_BTC_SIGN_ARENA_PER_INPUT, KG_CHAIN_BTC_SIGN_ITEMS_PER_INPUT);
}

/* Append a witness item copied into the arena. */
static kg_err push_item(kg_chain_btc_tx *tx, signed_input *si, const uint8_t *p, size_t n)
{
    uint8_t *dst = arena_take(tx, n);
    if (dst == NULL || tx->items == NULL || tx->item_count >= tx->item_cap)
        return no_room();
    memcpy(dst, p, n);
    kg_chain_btc_bytes *it = &tx->items[tx->item_count++];
    it->data = dst;
    it->len = n;
    if (si->witness == NULL)
        si->witness = it;
    si->witness_count++;
    return KG_OK;
}

static kg_err sign_taproot(kg_chain_btc_tx *tx, signed_input *si, kg_signer *signer, size_t index,
                           const kg_chain_btc_sign_input *ins, size_t count)
{
    const kg_chain_btc_sign_input *in = &ins[index];
    uint8_t prog[40];
    size_t pl = 0;
    if (kg_chain_btc_spk_classify(prog, &pl, in->spent.script.data, in->spent.script.len) != KG_CHAIN_BTC_P2TR)
        return kg_err_set(KG_ERR_BAD_INPUT, "input %zu: the spent output is not P2TR", index);
    kg_pubkey pub = { 0 };
    kg_err e = kg_signer_public_key(signer, &pub, in->key, KG_SIG_BIP340);
    if (e != KG_OK)
        return e;
    if (pub.len != 32 || memcmp(pub.data, prog, 32) != 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "input %zu: the signer's taproot output key does not match the coin's "
                          "scriptPubKey (set taproot and merkle_root in the key ref?)", index);
    uint8_t digest[32];
    e = kg_chain_btc_sighash_taproot_strided_(digest, tx, index, &ins[0].spent, sizeof ins[0], count, in->hash_type);
    if (e != KG_OK)
        return e;
    kg_signature sig = { 0 };
    e = kg_signer_sign(signer, &sig, in->key, KG_SIG_BIP340, digest, 32);
    if (e != KG_OK)
        return e;
    if (sig.len != 64 || kg_crypto_k1_schnorr_verify(sig.data, digest, 32, prog) != KG_OK)
        return kg_err_set(KG_ERR_VERIFY, "input %zu: the signer returned a BIP340 signature that does not verify", index);
    uint8_t item[65];
    memcpy(item, sig.data, 64);
    item[64] = in->hash_type;
    return push_item(tx, si, item, in->hash_type == KG_CHAIN_BTC_SIGHASH_DEFAULT ? 64 : 65);
}

/* Check the key pays the coin; returns the HASH160 of the key in h. */
static kg_err ecdsa_key_matches(uint8_t h[static 20], const kg_pubkey *pub, const kg_chain_btc_sign_input *in, size_t index)
{
    if (pub->len != 33)
        return kg_err_set(KG_ERR_BAD_INPUT, "input %zu: the signer gave a %zu-byte key, expected 33 (compressed)", index, pub->len);
    kg_chain_btc_spk want;
    kg_err e = kg_chain_btc_spk_for_key(&want, in->type, pub->data, 33, NULL);
    if (e != KG_OK)
        return e;
    if (want.len != in->spent.script.len || memcmp(want.data, in->spent.script.data, want.len) != 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "input %zu: the signer's key does not match the coin's scriptPubKey "
                          "(wrong key ref, path or script type)", index);
    kg_crypto_hash160(h, pub->data, 33);
    return KG_OK;
}

static kg_err sign_ecdsa(kg_chain_btc_tx *tx, signed_input *si, kg_signer *signer, size_t index,
                         const kg_chain_btc_sign_input *in)
{
    uint8_t ht = in->hash_type == 0 ? KG_CHAIN_BTC_SIGHASH_ALL : in->hash_type;
    unsigned base = ht & 0x7fu;
    if (base < 1 || base > 3)
        return kg_err_set(KG_ERR_BAD_INPUT, "input %zu: sighash type 0x%02x is not ALL, NONE or SINGLE", index, ht);
    kg_pubkey pub = { 0 };
    kg_err e = kg_signer_public_key(signer, &pub, in->key, KG_SIG_ECDSA_SECP256K1);
    uint8_t h[20];
    if (e == KG_OK)
        e = ecdsa_key_matches(h, &pub, in, index);
    if (e != KG_OK)
        return e;
    kg_chain_btc_spk code;
    kg_chain_btc_spk_p2pkh(&code, h);  /* P2PKH script, and BIP143's scriptCode for P2WPKH */
    uint8_t digest[32];
    if (in->type == KG_CHAIN_BTC_P2PKH)
        e = kg_chain_btc_sighash_legacy(digest, tx, index, code.data, code.len, ht);
    else
        e = kg_chain_btc_sighash_segwit_v0(digest, tx, index, code.data, code.len, in->spent.value, ht);
    kg_signature sig = { 0 };
    if (e == KG_OK)
        e = kg_signer_sign(signer, &sig, in->key, KG_SIG_ECDSA_SECP256K1, digest, 32);
    if (e != KG_OK)
        return e;
    if (sig.len != 64 || kg_crypto_k1_verify(pub.data, 33, sig.data, digest) != KG_OK)
        return kg_err_set(KG_ERR_VERIFY, "input %zu: the signer returned an ECDSA signature that does not verify "
                          "(or is not low-S)", index);
    uint8_t der[KG_CHAIN_BTC_DER_SIG_MAX];
    size_t dl = 0;
    kg_chain_btc_sig_der_encode(der, &dl, sig.data, ht);
    if (in->type == KG_CHAIN_BTC_P2PKH) {
        uint8_t *ss = arena_take(tx, 1 + dl + 1 + 33);
        if (ss == NULL)
            return no_room();
        ss[0] = (uint8_t)dl;
        memcpy(ss + 1, der, dl);
        ss[1 + dl] = 33;
        memcpy(ss + 2 + dl, pub.data, 33);
        si->script_sig = (kg_chain_btc_bytes){ ss, 1 + dl + 1 + 33 };
        return KG_OK;
    }
    if (in->type == KG_CHAIN_BTC_P2SH_P2WPKH) {
        uint8_t *ss = arena_take(tx, 23);
        if (ss == NULL)
            return no_room();
        ss[0] = 22;  /* push of the redeem script 0x0014{h} */
        ss[1] = 0x00;
        ss[2] = 0x14;
        memcpy(ss + 3, h, 20);
        si->script_sig = (kg_chain_btc_bytes){ ss, 23 };
    }
    e = push_item(tx, si, der, dl);
    if (e == KG_OK)
        e = push_item(tx, si, pub.data, 33);
    return e;
}

static kg_err sign_one(kg_chain_btc_tx *tx, signed_input *si, kg_signer *signer, size_t i,
                       const kg_chain_btc_sign_input *ins, size_t count)
{
    switch (ins[i].type) {
    case KG_CHAIN_BTC_P2TR:
        return sign_taproot(tx, si, signer, i, ins, count);
    case KG_CHAIN_BTC_P2PKH:
    case KG_CHAIN_BTC_P2WPKH:
    case KG_CHAIN_BTC_P2SH_P2WPKH:
        return sign_ecdsa(tx, si, signer, i, &ins[i]);
    default:
        return kg_err_set(KG_ERR_BAD_INPUT, "input %zu: cannot sign script type %d here; use P2PKH, P2WPKH, "
                          "P2SH-P2WPKH or P2TR (or a PSBT for scripts)", i, (int)ins[i].type);
    }
}

/* A record of one signed input, kept in the arena until every input is
 * signed (so a failure halfway leaves the transaction as it was). */
typedef struct {
    size_t index;
    size_t prev;        /* arena offset + 1 of the previous record; 0 = none */
    signed_input si;
} journal_entry;

kg_err kg_chain_btc_tx_sign(kg_chain_btc_tx *tx, kg_signer *signer, const kg_chain_btc_sign_input *ins, size_t ins_count)
{
    if (ins_count != tx->input_count)
        return kg_err_set(KG_ERR_BAD_INPUT, "signing needs one entry per input: the tx has %zu, got %zu",
                          tx->input_count, ins_count);
    size_t arena0 = tx->arena_len, items0 = tx->item_count, last = 0;
    kg_err e = KG_OK;
    for (size_t i = 0; i < ins_count && e == KG_OK; i++) {
        if (ins[i].key == NULL)
            continue;
        journal_entry je = { .index = i, .prev = last };
        e = sign_one(tx, &je.si, signer, i, ins, ins_count);
        uint8_t *rec = e == KG_OK ? arena_take(tx, sizeof je) : NULL;
        if (e == KG_OK && rec == NULL)
            e = no_room();
        if (e == KG_OK) {
            memcpy(rec, &je, sizeof je);
            last = (size_t)(rec - tx->arena) + 1;
        }
    }
    if (e != KG_OK) {
        tx->arena_len = arena0;
        tx->item_count = items0;
        return e;
    }
    while (last != 0) {  /* commit */
        journal_entry je;
        memcpy(&je, tx->arena + last - 1, sizeof je);
        kg_chain_btc_txin *in = &tx->inputs[je.index];
        in->script_sig = je.si.script_sig;
        in->witness = je.si.witness;
        in->witness_count = je.si.witness_count;
        last = je.prev;
    }
    return KG_OK;
}
