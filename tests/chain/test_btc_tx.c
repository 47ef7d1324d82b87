/* Bitcoin transactions: parse/serialize round trips and bad input, the
 * BIP143 examples (every preimage and sighash, our RFC 6979 signatures
 * equal the BIP's, legacy sighash through the P2PK inputs, and the signed
 * transactions rebuilt by kg_chain_btc_tx_sign through a kg_signer over
 * raw keys), and BIP341 keyPathSpending (every sigMsg, sigHash and
 * witness, and the whole set signed through the signer). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include <kashguard/chain.h>
#include <kashguard/crypto.h>

static json_t *load(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", KG_VECTORS_DIR, name);
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    if (j == NULL)
        fail_msg("cannot load %s: %s", path, err.text);
    return j;
}

/* Hex of a JSON field into a new buffer (freed by the caller). */
static uint8_t *hexf(size_t *len, const json_t *obj, const char *field)
{
    const char *h = json_string_value(json_object_get(obj, field));
    if (h == NULL)
        return NULL;
    size_t cap = strlen(h) / 2 + 1, n = 0;
    uint8_t *b = malloc(cap);
    assert_non_null(b);
    assert_int_equal(kg_hex_decode(b, cap, &n, h), KG_OK);
    *len = n;
    return b;
}

static uint64_t btc_to_sat(const char *s)
{
    uint64_t whole = 0, frac = 0;
    int digits = 0;
    for (; *s && *s != '.'; s++)
        whole = whole * 10 + (uint64_t)(*s - '0');
    if (*s == '.')
        for (s++; *s; s++, digits++)
            frac = frac * 10 + (uint64_t)(*s - '0');
    for (; digits < 8; digits++)
        frac *= 10;
    return whole * 100000000u + frac;
}

/* ---- a kg_signer over raw keys: ref->key is the private key in hex ---- */

static kg_err raw_seckey(uint8_t sk[static 32], const kg_key_ref *ref)
{
    size_t n = 0;
    if (ref->key == NULL || kg_hex_decode(sk, 32, &n, ref->key) != KG_OK || n != 32)
        return kg_err_set(KG_ERR_NOT_FOUND, "test signer: no such key");
    return KG_OK;
}

static kg_err raw_public_key(kg_signer *s, kg_pubkey *out, const kg_key_ref *ref, kg_sig_scheme scheme)
{
    (void)s;
    uint8_t sk[32];
    int parity = 0;
    memset(out, 0, sizeof *out);
    kg_err e = raw_seckey(sk, ref);
    if (e == KG_OK && scheme == KG_SIG_ECDSA_SECP256K1) {
        e = kg_crypto_k1_pubkey(out->data, 33, sk);
        out->len = 33;
    } else if (e == KG_OK && scheme == KG_SIG_BIP340) {
        uint8_t x[32];
        e = kg_crypto_k1_xonly(x, &parity, sk);
        if (e == KG_OK && ref->taproot)
            e = kg_crypto_k1_taproot_output(out->data, &parity, x, ref->merkle_root);
        else
            memcpy(out->data, x, 32);
        out->len = 32;
    }
    kg_wipe(sk, sizeof sk);
    return e;
}

static kg_err raw_sign(kg_signer *s, kg_signature *out, const kg_key_ref *ref, kg_sig_scheme scheme,
                       const uint8_t *msg, size_t msg_len)
{
    (void)s;
    uint8_t sk[32];
    memset(out, 0, sizeof *out);
    kg_err e = raw_seckey(sk, ref);
    assert_int_equal(msg_len, 32);
    if (e == KG_OK && scheme == KG_SIG_ECDSA_SECP256K1) {
        e = kg_crypto_k1_sign_recoverable(out->data, &out->recid, sk, msg);
    } else if (e == KG_OK && scheme == KG_SIG_BIP340) {
        static const uint8_t ZERO_AUX[32] = { 0 };
        if (ref->taproot)
            e = kg_crypto_k1_taproot_tweak_seckey(sk, ref->merkle_root);
        if (e == KG_OK)
            e = kg_crypto_k1_schnorr_sign(out->data, sk, msg, ZERO_AUX);
        out->recid = -1;
    }
    out->len = 64;
    kg_wipe(sk, sizeof sk);
    return e;
}

static const kg_signer_ops RAW_OPS = { raw_public_key, raw_sign, NULL };

/* ---------------------------------------------------------------- helpers */

/* Parse hex into tx (storage from tx_alloc); raw is returned for freeing. */
static uint8_t *parse_hex_tx(kg_chain_btc_tx *tx, const json_t *obj, const char *field)
{
    size_t n = 0;
    uint8_t *raw = hexf(&n, obj, field);
    assert_non_null(raw);
    assert_int_equal(kg_chain_btc_tx_alloc(tx, 32, 32, 64, 32 * KG_CHAIN_BTC_SIGN_ARENA_PER_INPUT), KG_OK);
    kg_err e = kg_chain_btc_tx_parse(tx, raw, n);
    if (e != KG_OK)
        fail_msg("parse %s: %s", field, kg_err_detail(e));
    /* Round trip: serialize gives the same bytes back. */
    uint8_t *again = malloc(n);
    size_t m = 0;
    assert_int_equal(kg_chain_btc_tx_serialize(again, n, &m, tx, true), KG_OK);
    assert_int_equal(m, n);
    assert_memory_equal(again, raw, n);
    free(again);
    return raw;
}

static void assert_tx_equals_hex(const kg_chain_btc_tx *tx, const json_t *obj, const char *field)
{
    size_t n = 0, m = 0;
    uint8_t *want = hexf(&n, obj, field);
    uint8_t *got = malloc(n + 1000);
    assert_int_equal(kg_chain_btc_tx_serialize(got, n + 1000, &m, tx, true), KG_OK);
    assert_int_equal(m, n);
    assert_memory_equal(got, want, n);
    free(want);
    free(got);
}

/* ------------------------------------------------------------------ BIP143 */

/* The input a preimage belongs to: its outpoint sits at bytes 68..104.
 * Returns false when tx has no such input. */
static bool input_of_preimage(size_t *idx, const kg_chain_btc_tx *tx, const uint8_t *pre)
{
    uint32_t vout = (uint32_t)pre[100] | (uint32_t)pre[101] << 8 | (uint32_t)pre[102] << 16 | (uint32_t)pre[103] << 24;
    for (size_t i = 0; i < tx->input_count; i++)
        if (memcmp(tx->inputs[i].prev_txid, pre + 68, 32) == 0 && tx->inputs[i].prev_vout == vout) {
            *idx = i;
            return true;
        }
    return false;
}

/* The scriptCode for an input: P2PKH of the key for P2WPKH kinds; for
 * P2WSH the witness script (given, or the last witness item of the signed
 * tx), cut after an OP_CODESEPARATOR when the preimage shows that suffix. */
static size_t script_code_for(uint8_t *out, const json_t *desc, const json_t *sh, const kg_chain_btc_txin *signed_in,
                              const uint8_t *pre, size_t pre_len)
{
    size_t n = 0;
    uint8_t *ws = hexf(&n, desc, "witnessScript");
    if (ws == NULL && strstr(json_string_value(json_object_get(desc, "type")), "WSH") != NULL) {
        const kg_chain_btc_bytes *last = &signed_in->witness[signed_in->witness_count - 1];
        n = last->len;
        ws = malloc(n);
        memcpy(ws, last->data, n);
    }
    if (ws == NULL) {
        size_t pl = 0;
        uint8_t *pub = hexf(&pl, json_object_get(sh, "public_key") ? sh : desc, "public_key");
        assert_non_null(pub);
        uint8_t h[20];
        kg_chain_btc_spk spk;
        kg_crypto_hash160(h, pub, pl);
        kg_chain_btc_spk_p2pkh(&spk, h);
        memcpy(out, spk.data, spk.len);
        free(pub);
        return spk.len;
    }
    size_t sc_len = pre[104];             /* scriptCodes here are < 0xfd bytes */
    assert_true(105 + sc_len <= pre_len && sc_len <= n);
    if (sc_len < n) {
        assert_int_equal(ws[n - sc_len - 1], 0xab);   /* cut just after an OP_CODESEPARATOR */
        assert_memory_equal(ws + n - sc_len, pre + 105, sc_len);
    }
    memcpy(out, ws + n - sc_len, sc_len);
    free(ws);
    return sc_len;
}

static size_t check_bip143_example(const json_t *ex, size_t *nsig)
{
    /* txs[0] is the unsigned tx; the rest are the signed ones (the last
     * example signs a second, different transaction). */
    kg_chain_btc_tx txs[4];
    uint8_t *raws[4];
    size_t ntx = 1, i, count = 0;
    raws[0] = parse_hex_tx(&txs[0], ex, "unsigned_tx");
    json_t *st, *sh;
    json_array_foreach(json_object_get(ex, "signed_txs"), i, st)
        raws[ntx] = parse_hex_tx(&txs[ntx], st, "tx"), ntx++;
    const json_t *inputs = json_object_get(ex, "inputs");
    json_array_foreach(json_object_get(ex, "sighashes"), i, sh) {
        size_t pl = 0, hl = 0, idx = 0, t = 0;
        uint8_t *pre = hexf(&pl, sh, "preimage"), *want = hexf(&hl, sh, "sighash");
        while (t < ntx && !input_of_preimage(&idx, &txs[t], pre))
            t++;
        assert_true(t < ntx);
        const kg_chain_btc_tx *tx = &txs[t];
        size_t s = t == 0 ? 1 : t;   /* the signed tx holding this input's witness */
        const json_t *desc = json_array_get(inputs, t == 0 ? idx : 0);
        uint8_t sc[600];
        size_t sc_len = script_code_for(sc, desc, sh, &txs[s].inputs[idx], pre, pl);
        uint64_t amount = btc_to_sat(json_string_value(json_object_get(desc, "value_btc")));
        uint32_t ht = (uint32_t)strtoul(json_string_value(json_object_get(sh, "nHashType")), NULL, 16);
        uint8_t got[1000], h[32];
        size_t gl = 0;
        assert_int_equal(kg_chain_btc_sighash_segwit_v0_preimage(got, sizeof got, &gl, tx, idx, sc, sc_len, amount, ht), KG_OK);
        assert_int_equal(gl, pl);
        assert_memory_equal(got, pre, pl);
        assert_int_equal(kg_chain_btc_sighash_segwit_v0(h, tx, idx, sc, sc_len, amount, ht), KG_OK);
        assert_memory_equal(h, want, 32);
        /* Where the BIP gives the key and signature: RFC 6979 makes ours identical. */
        size_t kl = 0, sl = 0;
        uint8_t *sk = hexf(&kl, sh, "private_key"), *sig = hexf(&sl, sh, "signature");
        if (sk != NULL && sig != NULL) {
            uint8_t s64[64], der[KG_CHAIN_BTC_DER_SIG_MAX], back[64], bt = 0;
            int recid = 0;
            size_t dl = 0;
            assert_int_equal(kg_crypto_k1_sign_recoverable(s64, &recid, sk, h), KG_OK);
            kg_chain_btc_sig_der_encode(der, &dl, s64, (uint8_t)ht);
            assert_int_equal(dl, sl);
            assert_memory_equal(der, sig, sl);
            assert_int_equal(kg_chain_btc_sig_der_decode(back, &bt, sig, sl), KG_OK);
            assert_memory_equal(back, s64, 64);
            assert_int_equal(bt, ht);
            (*nsig)++;
        }
        free(sk);
        free(sig);
        free(pre);
        free(want);
        count++;
    }
    for (size_t k = 0; k < ntx; k++) {
        kg_chain_btc_tx_free(&txs[k]);
        free(raws[k]);
    }
    return count;
}

/* Legacy sighash: the P2PK inputs of the first and third examples are
 * signed in the BIP's signed tx; re-sign them (RFC 6979) and compare. */
static void check_legacy_p2pk(const json_t *ex)
{
    const json_t *desc = json_array_get(json_object_get(ex, "inputs"), 0);
    if (strcmp(json_string_value(json_object_get(desc, "type")), "ordinary P2PK") != 0)
        return;
    kg_chain_btc_tx utx, stx;
    uint8_t *r1 = parse_hex_tx(&utx, ex, "unsigned_tx");
    uint8_t *r2 = parse_hex_tx(&stx, json_array_get(json_object_get(ex, "signed_txs"), 0), "tx");
    size_t spk_len = 0, kl = 0;
    uint8_t *spk = hexf(&spk_len, desc, "scriptPubKey"), *sk = hexf(&kl, desc, "private_key");
    const kg_chain_btc_bytes *ss = &stx.inputs[0].script_sig;
    uint8_t ht = ss->data[ss->len - 1];
    uint8_t h[32], s64[64], der[KG_CHAIN_BTC_DER_SIG_MAX];
    int recid = 0;
    size_t dl = 0;
    assert_int_equal(kg_chain_btc_sighash_legacy(h, &utx, 0, spk, spk_len, ht), KG_OK);
    assert_int_equal(kg_crypto_k1_sign_recoverable(s64, &recid, sk, h), KG_OK);
    kg_chain_btc_sig_der_encode(der, &dl, s64, ht);
    assert_int_equal(ss->len, dl + 1);
    assert_int_equal(ss->data[0], dl);
    assert_memory_equal(ss->data + 1, der, dl);
    free(spk);
    free(sk);
    kg_chain_btc_tx_free(&utx);
    kg_chain_btc_tx_free(&stx);
    free(r1);
    free(r2);
}

/* Rebuild the signed P2WPKH / P2SH-P2WPKH transactions with tx_sign. */
static void check_bip143_tx_sign(const json_t *ex, kg_chain_btc_script_type type, size_t idx)
{
    kg_chain_btc_tx tx, stx;
    uint8_t *r1 = parse_hex_tx(&tx, ex, "unsigned_tx");
    const json_t *signed0 = json_array_get(json_object_get(ex, "signed_txs"), 0);
    uint8_t *r2 = parse_hex_tx(&stx, signed0, "tx");
    const json_t *inputs = json_object_get(ex, "inputs");
    kg_chain_btc_sign_input ins[4];
    kg_key_ref refs[4];
    uint8_t *spks[4] = { 0 };
    memset(ins, 0, sizeof ins);
    memset(refs, 0, sizeof refs);
    for (size_t i = 0; i < tx.input_count; i++) {
        const json_t *d = json_array_get(inputs, i);
        size_t sl = 0;
        spks[i] = hexf(&sl, d, "scriptPubKey");
        ins[i].spent = (kg_chain_btc_txout){ btc_to_sat(json_string_value(json_object_get(d, "value_btc"))), { spks[i], sl } };
    }
    refs[idx].key = json_string_value(json_object_get(json_array_get(inputs, idx), "private_key"));
    ins[idx].key = &refs[idx];
    ins[idx].type = type;
    kg_signer signer = { &RAW_OPS, NULL };
    kg_err e = kg_chain_btc_tx_sign(&tx, &signer, ins, tx.input_count);
    if (e != KG_OK)
        fail_msg("tx_sign: %s", kg_err_detail(e));
    /* Inputs we did not sign: take them from the BIP's signed tx (a P2PK input). */
    for (size_t i = 0; i < tx.input_count; i++)
        if (i != idx)
            tx.inputs[i].script_sig = stx.inputs[i].script_sig;
    assert_tx_equals_hex(&tx, signed0, "tx");
    /* A key that does not pay the coin is refused, and nothing changes. */
    kg_chain_btc_tx_free(&tx);
    free(r1);
    r1 = parse_hex_tx(&tx, ex, "unsigned_tx");
    refs[idx].key = "0000000000000000000000000000000000000000000000000000000000000001";
    e = kg_chain_btc_tx_sign(&tx, &signer, ins, tx.input_count);
    assert_int_equal(e, KG_ERR_BAD_INPUT);
    assert_non_null(strstr(kg_err_detail(e), "does not match"));
    assert_int_equal(tx.inputs[idx].witness_count, 0);
    assert_int_equal(tx.arena_len, 0);
    for (size_t i = 0; i < 4; i++)
        free(spks[i]);
    kg_chain_btc_tx_free(&tx);
    kg_chain_btc_tx_free(&stx);
    free(r1);
    free(r2);
}

static void test_bip143(void **state)
{
    (void)state;
    json_t *j = load("bip143.json");
    size_t i, nsh = 0, nsig = 0, nex = 0, ntx = 0;
    json_t *ex;
    json_array_foreach(json_object_get(j, "examples"), i, ex) {
        nsh += check_bip143_example(ex, &nsig);
        check_legacy_p2pk(ex);
        /* Every signed tx parses and re-serializes byte for byte. */
        size_t k;
        json_t *st;
        json_array_foreach(json_object_get(ex, "signed_txs"), k, st) {
            kg_chain_btc_tx tx;
            uint8_t *raw = parse_hex_tx(&tx, st, "tx");
            kg_chain_btc_tx_free(&tx);
            free(raw);
            ntx++;
        }
        nex++;
    }
    check_bip143_tx_sign(json_array_get(json_object_get(j, "examples"), 0), KG_CHAIN_BTC_P2WPKH, 1);
    check_bip143_tx_sign(json_array_get(json_object_get(j, "examples"), 1), KG_CHAIN_BTC_P2SH_P2WPKH, 0);
    printf("bip143: %zu examples, %zu sighash preimages+hashes, %zu RFC6979 signatures, %zu signed txs round-trip, "
           "2 txs rebuilt by tx_sign, legacy sighash on 2 P2PK inputs\n", nex, nsh, nsig, ntx);
    json_decref(j);
}

/* ------------------------------------------------------------------ BIP341 */

static void test_bip341_key_path(void **state)
{
    (void)state;
    json_t *j = load("bip341_wallet_test_vectors.json");
    const json_t *kp = json_array_get(json_object_get(j, "keyPathSpending"), 0);
    const json_t *given = json_object_get(kp, "given");
    kg_chain_btc_tx tx;
    uint8_t *raw = parse_hex_tx(&tx, given, "rawUnsignedTx");
    kg_chain_btc_txout spent[16];
    kg_chain_btc_sign_input ins[16];
    kg_key_ref refs[16];
    uint8_t *spk_bufs[16] = { 0 }, merkle[16][32];
    memset(ins, 0, sizeof ins);
    memset(refs, 0, sizeof refs);
    size_t i, nin = 0;
    json_t *u;
    json_array_foreach(json_object_get(given, "utxosSpent"), i, u) {
        size_t sl = 0;
        spk_bufs[i] = hexf(&sl, u, "scriptPubKey");
        spent[i] = (kg_chain_btc_txout){ (uint64_t)json_integer_value(json_object_get(u, "amountSats")), { spk_bufs[i], sl } };
        ins[i].spent = spent[i];
        nin++;
    }
    assert_int_equal(nin, tx.input_count);
    /* hashPrevouts etc. show up inside sigMsg; check every input's sigMsg, sigHash, witness. */
    json_t *is;
    size_t n = 0;
    json_array_foreach(json_object_get(kp, "inputSpending"), i, is) {
        const json_t *g = json_object_get(is, "given"), *im = json_object_get(is, "intermediary");
        size_t idx = (size_t)json_integer_value(json_object_get(g, "txinIndex"));
        uint8_t ht = (uint8_t)json_integer_value(json_object_get(g, "hashType"));
        size_t ml = 0, hl = 0, kl = 0, rl = 0;
        uint8_t *msg = hexf(&ml, im, "sigMsg"), *hash = hexf(&hl, im, "sigHash");
        uint8_t *sk = hexf(&kl, g, "internalPrivkey"), *mr = hexf(&rl, g, "merkleRoot");
        uint8_t got[KG_CHAIN_BTC_TAPROOT_SIGMSG_MAX], h[32];
        size_t gl = 0;
        assert_int_equal(kg_chain_btc_sighash_taproot_sigmsg(got, sizeof got, &gl, &tx, idx, spent, nin, ht), KG_OK);
        assert_int_equal(gl, ml);
        assert_memory_equal(got, msg, ml);
        assert_int_equal(kg_chain_btc_sighash_taproot(h, &tx, idx, spent, nin, ht), KG_OK);
        assert_memory_equal(h, hash, 32);
        /* The signature with zero aux randomness is the expected witness. */
        uint8_t tsk[32], sig[64];
        memcpy(tsk, sk, 32);
        assert_int_equal(kg_crypto_k1_taproot_tweak_seckey(tsk, mr), KG_OK);
        assert_int_equal(kg_crypto_k1_schnorr_sign(sig, tsk, h, (const uint8_t[32]){ 0 }), KG_OK);
        size_t wl = 0;
        const char *wh = json_string_value(json_array_get(json_object_get(json_object_get(is, "expected"), "witness"), 0));
        uint8_t wb[65];
        assert_int_equal(kg_hex_decode(wb, sizeof wb, &wl, wh), KG_OK);
        assert_memory_equal(wb, sig, 64);
        assert_int_equal(wl, ht == 0 ? 64 : 65);
        /* Set up the same input for tx_sign through the signer. */
        refs[idx].key = json_string_value(json_object_get(g, "internalPrivkey"));
        refs[idx].taproot = true;
        if (mr != NULL)
            memcpy(merkle[idx], mr, 32);
        refs[idx].merkle_root = mr != NULL ? merkle[idx] : NULL;
        ins[idx].key = &refs[idx];
        ins[idx].type = KG_CHAIN_BTC_P2TR;
        ins[idx].hash_type = ht;
        free(msg);
        free(hash);
        free(sk);
        free(mr);
        n++;
    }
    /* Sign all key-path inputs at once and compare with fullySignedTx's witnesses. */
    kg_signer signer = { &RAW_OPS, NULL };
    kg_err e = kg_chain_btc_tx_sign(&tx, &signer, ins, nin);
    if (e != KG_OK)
        fail_msg("tx_sign: %s", kg_err_detail(e));
    kg_chain_btc_tx full;
    uint8_t *fraw = parse_hex_tx(&full, json_object_get(kp, "auxiliary"), "fullySignedTx");
    size_t nsigned = 0;
    for (size_t k = 0; k < nin; k++) {
        if (ins[k].key == NULL) {   /* not a key-path input: copy it from the vector */
            tx.inputs[k].script_sig = full.inputs[k].script_sig;
            tx.inputs[k].witness = full.inputs[k].witness;
            tx.inputs[k].witness_count = full.inputs[k].witness_count;
            continue;
        }
        assert_int_equal(tx.inputs[k].witness_count, 1);
        assert_int_equal(tx.inputs[k].witness[0].len, full.inputs[k].witness[0].len);
        assert_memory_equal(tx.inputs[k].witness[0].data, full.inputs[k].witness[0].data, full.inputs[k].witness[0].len);
        nsigned++;
    }
    assert_tx_equals_hex(&tx, json_object_get(kp, "auxiliary"), "fullySignedTx");
    printf("bip341 keyPathSpending: %zu inputs: sigMsg, sigHash, witness pass; %zu signed by tx_sign; fullySignedTx rebuilt\n",
           n, nsigned);
    /* Bad hash types and SINGLE without an output. */
    uint8_t h[32];
    assert_int_equal(kg_chain_btc_sighash_taproot(h, &tx, 0, spent, nin, 0x04), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_chain_btc_sighash_taproot(h, &tx, 0, spent, nin, 0x80), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_chain_btc_sighash_taproot(h, &tx, 0, spent, nin - 1, 0x00), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_chain_btc_sighash_taproot(h, &tx, 5, spent, nin, 0x03), KG_ERR_BAD_INPUT);
    for (i = 0; i < 16; i++)
        free(spk_bufs[i]);
    kg_chain_btc_tx_free(&tx);
    kg_chain_btc_tx_free(&full);
    free(raw);
    free(fraw);
    json_decref(j);
}

/* ------------------------------------------------------------- bad input */

static kg_err parse_hex(const char *hex)
{
    uint8_t buf[600];
    size_t n = 0;
    assert_int_equal(kg_hex_decode(buf, sizeof buf, &n, hex), KG_OK);
    kg_chain_btc_txin in[4];
    kg_chain_btc_txout out[4];
    kg_chain_btc_bytes items[8];
    kg_chain_btc_tx tx;
    kg_chain_btc_tx_init(&tx, in, 4, out, 4, items, 8, NULL, 0);
    kg_err e = kg_chain_btc_tx_parse(&tx, buf, n);
    if (e != KG_OK)
        assert_int_equal(tx.input_count + tx.output_count + tx.item_count, 0);
    return e;
}

#define PREVOUT "1111111111111111111111111111111111111111111111111111111111111111" "00000000"
#define OK_IN "01" PREVOUT "00" "ffffffff"
#define OK_OUT "01" "e803000000000000" "0151"

static void test_tx_bad_input(void **state)
{
    (void)state;
    assert_int_equal(parse_hex("02000000" OK_IN OK_OUT "00000000"), KG_OK);
    assert_int_equal(parse_hex("02000000" OK_IN OK_OUT "000000"), KG_ERR_BAD_INPUT);       /* truncated */
    kg_err e = parse_hex("02000000" OK_IN OK_OUT "0000000000");                            /* trailing */
    assert_int_equal(e, KG_ERR_BAD_INPUT);
    assert_non_null(strstr(kg_err_detail(e), "trailing"));
    e = parse_hex("02000000" "feffffff7f" PREVOUT "00ffffffff" OK_OUT "00000000");         /* huge count */
    assert_int_equal(e, KG_ERR_BAD_INPUT);
    assert_non_null(strstr(kg_err_detail(e), "input count"));
    e = parse_hex("02000000" "05" PREVOUT "00ffffffff" PREVOUT "00ffffffff" PREVOUT "00ffffffff" PREVOUT "00ffffffff"
                  PREVOUT "00ffffffff" OK_OUT "00000000");                                  /* over capacity */
    assert_non_null(strstr(kg_err_detail(e), "room for 4"));
    assert_int_equal(parse_hex("02000000" "fd0100" PREVOUT "00ffffffff" OK_OUT "00000000"), KG_ERR_BAD_INPUT); /* non-minimal */
    assert_int_equal(parse_hex("02000000" "01" PREVOUT "fdff00" "ffffffff" OK_OUT "00000000"), KG_ERR_BAD_INPUT);
    assert_int_equal(parse_hex("02000000" OK_IN "00" "00000000"), KG_ERR_BAD_INPUT);        /* no outputs */
    assert_int_equal(parse_hex("02000000" "00" OK_OUT "00000000"), KG_ERR_BAD_INPUT);       /* no inputs */
    assert_int_equal(parse_hex("02000000" OK_IN "01" "0040075af0750700" "0151" "00000000"), KG_OK); /* 21e6 BTC */
    assert_int_equal(parse_hex("02000000" OK_IN "01" "0140075af0750700" "0151" "00000000"), KG_ERR_BAD_INPUT);
    assert_int_equal(parse_hex("02000000" "0001" OK_IN OK_OUT "0100" "00000000"), KG_OK);  /* segwit, one empty item */
    assert_int_equal(parse_hex("02000000" "0001" OK_IN OK_OUT "00" "00000000"), KG_ERR_BAD_INPUT); /* all empty */
    assert_int_equal(parse_hex("02000000" "0002" OK_IN OK_OUT "0100" "00000000"), KG_ERR_BAD_INPUT); /* flag 2 */
    assert_int_equal(parse_hex("02000000" "0001" OK_IN OK_OUT "09" "00" "00000000"), KG_ERR_BAD_INPUT);
    assert_int_equal(parse_hex("02000000" "0001" OK_IN OK_OUT "01ff" "00000000"), KG_ERR_BAD_INPUT);
    assert_int_equal(parse_hex(""), KG_ERR_BAD_INPUT);
    /* Every truncation of a valid segwit tx fails cleanly. */
    static const char FULL[] = "02000000" "0001" OK_IN OK_OUT "0201aa0151" "00000000";
    char cut[sizeof FULL];
    for (size_t k = 0; k + 2 < sizeof FULL - 1; k += 2) {
        memcpy(cut, FULL, k);
        cut[k] = '\0';
        assert_int_equal(parse_hex(cut), KG_ERR_BAD_INPUT);
    }
    assert_int_equal(parse_hex(FULL), KG_OK);
}

static void test_tx_build_ids(void **state)
{
    (void)state;
    kg_chain_btc_tx tx;
    assert_int_equal(kg_chain_btc_tx_alloc(&tx, 2, 2, 4, 0), KG_OK);
    uint8_t id[32] = { 1 }, txid[32], wtxid[32];
    static const uint8_t SPK[] = { 0x51 };
    assert_int_equal(kg_chain_btc_tx_add_input(&tx, id, 7, KG_CHAIN_BTC_SEQUENCE_RBF), KG_OK);
    assert_int_equal(kg_chain_btc_tx_add_output(&tx, 1000, SPK, 1), KG_OK);
    assert_int_equal(kg_chain_btc_tx_add_output(&tx, KG_CHAIN_BTC_MAX_MONEY + 1, SPK, 1), KG_ERR_BAD_INPUT);
    kg_chain_btc_tx_txid(txid, &tx);
    kg_chain_btc_tx_wtxid(wtxid, &tx);
    assert_memory_equal(txid, wtxid, 32);     /* no witness: the same */
    assert_int_equal(kg_chain_btc_tx_weight(&tx), 4 * kg_chain_btc_tx_size(&tx, false));
    char hex[65];
    uint8_t back[32];
    kg_chain_btc_txid_hex(hex, txid);
    assert_int_equal(kg_chain_btc_txid_parse(back, hex), KG_OK);
    assert_memory_equal(back, txid, 32);
    assert_int_equal(kg_chain_btc_txid_parse(back, "abcd"), KG_ERR_BAD_INPUT);
    uint8_t small[10];
    size_t n = 5;
    assert_int_equal(kg_chain_btc_tx_serialize(small, sizeof small, &n, &tx, true), KG_ERR_BAD_INPUT);
    assert_int_equal(n, 0);
    /* Legacy SIGHASH_SINGLE bug: no matching output hashes to one. */
    assert_int_equal(kg_chain_btc_tx_add_input(&tx, id, 8, 0), KG_OK);
    uint8_t h[32], one[32] = { 1 };
    assert_int_equal(kg_chain_btc_sighash_legacy(h, &tx, 1, SPK, 1, KG_CHAIN_BTC_SIGHASH_SINGLE), KG_OK);
    assert_memory_equal(h, one, 32);
    assert_int_equal(kg_chain_btc_sighash_legacy(h, &tx, 0, SPK, 1, KG_CHAIN_BTC_SIGHASH_SINGLE), KG_OK);
    assert_memory_not_equal(h, one, 32);
    assert_int_equal(kg_chain_btc_sighash_legacy(h, &tx, 2, SPK, 1, KG_CHAIN_BTC_SIGHASH_ALL), KG_ERR_BAD_INPUT);
    /* DER: strictness. */
    uint8_t s64[64], ht;
    static const uint8_t BAD[] = { 0x30, 0x06, 0x02, 0x01, 0x80, 0x02, 0x01, 0x01, 0x01 }; /* negative R */
    assert_int_equal(kg_chain_btc_sig_der_decode(s64, &ht, BAD, sizeof BAD), KG_ERR_BAD_INPUT);
    static const uint8_t PADDED[] = { 0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01, 0x01 };
    assert_int_equal(kg_chain_btc_sig_der_decode(s64, &ht, PADDED, sizeof PADDED), KG_ERR_BAD_INPUT);
    kg_chain_btc_tx_free(&tx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bip143),
        cmocka_unit_test(test_bip341_key_path),
        cmocka_unit_test(test_tx_bad_input),
        cmocka_unit_test(test_tx_build_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
