/* PSBT (BIP174 / BIP370) against every vector of shared/vectors/bip174.json:
 * the invalid PSBTs are rejected (the reason printed), the valid ones parse
 * and re-serialize byte for byte (hex and base64), the signer refuses the
 * "fails_signer_checks" PSBTs, the full creator -> updater -> signer ->
 * combiner -> finalizer -> extractor workflow reproduces every PSBT of the
 * BIP and its final transaction, and the unknown-key combine gives the
 * BIP's sorted result. The BIP's signers are played by a kg_signer over the
 * BIP's tprv, derived here with BIP32 from raw secp256k1 operations
 * (crypto.h), restricted to the paths each signer of the BIP holds; the
 * derived keys are checked against the BIP's WIFs. Plus: v0 <-> v2
 * conversion, P2WPKH / P2SH-P2WPKH / P2PKH / P2TR signing checked with the
 * verifiers, truncations, bad base64 and a full arena. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include <kashguard/crypto.h>
#include <kashguard/chain.h>

#define ARENA (256 * 1024)

static uint8_t *hexd(const char *hex, size_t *len)
{
    size_t n = strlen(hex) / 2;
    uint8_t *out = malloc(n ? n : 1);
    assert_non_null(out);
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
    *len = n;
    return out;
}

static json_t *load(void)
{
    json_error_t e;
    json_t *root = json_load_file(KG_VECTORS_DIR "/bip174.json", 0, &e);
    if (root == NULL)
        fail_msg("cannot load bip174.json: %s", e.text);
    return root;
}

static const char *jstr(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    if (s == NULL)
        fail_msg("vector field '%s' missing", k);
    return s;
}

/* Parse hex into p (fresh arena); returns the kg_err. */
static kg_err parse_hex(kg_chain_psbt *p, const char *hex)
{
    size_t n = 0;
    uint8_t *b = hexd(hex, &n);
    kg_err e = kg_chain_psbt_parse(p, b, n);
    free(b);
    return e;
}

/* Serialize p and compare with hex. */
static void expect_hex(const kg_chain_psbt *p, const char *hex, const char *what)
{
    size_t n = 0, en = 0;
    assert_int_equal(kg_chain_psbt_serialize(NULL, 0, &n, p), KG_OK);
    uint8_t *b = malloc(n);
    assert_non_null(b);
    assert_int_equal(kg_chain_psbt_serialize(b, n, &n, p), KG_OK);
    uint8_t *exp = hexd(hex, &en);
    if (n != en || memcmp(b, exp, n) != 0) {
        char *got = malloc(2 * n + 1);
        kg_hex_encode(got, b, n);
        FILE *f = fopen("psbt_got.hex", "w");
        if (f != NULL) {
            fprintf(f, "%s\n%s\n", got, hex);
            fclose(f);
        }
        fail_msg("%s differs (got/want written to psbt_got.hex)", what);
    }
    free(exp);
    free(b);
}

/* ------------------------------------------------ a BIP32 test signer */

typedef struct {
    uint8_t key[32], chain[32];
    const char *const *paths; /* the paths this signer holds; NULL = all */
} tsigner;

static bool parse_path(kg_key_ref *ref, const char *s)
{
    ref->path_len = 0;
    assert_true(s[0] == 'm');
    s++;
    while (*s == '/') {
        char *end = NULL;
        unsigned long v = strtoul(s + 1, &end, 10);
        if (*end == '\'' || *end == 'h') {
            v |= KG_HARDENED;
            end++;
        }
        ref->path[ref->path_len++] = (uint32_t)v;
        s = end;
    }
    return *s == 0;
}

/* BIP32 CKDpriv along ref->path from the master. */
static void derive(uint8_t key[32], const tsigner *t, const kg_key_ref *ref)
{
    uint8_t chain[32], data[37], I[64];
    memcpy(key, t->key, 32);
    memcpy(chain, t->chain, 32);
    for (size_t k = 0; k < ref->path_len; k++) {
        uint32_t i = ref->path[k];
        if (i & KG_HARDENED) {
            data[0] = 0;
            memcpy(data + 1, key, 32);
        } else {
            assert_int_equal(kg_crypto_k1_pubkey(data, 33, key), KG_OK);
        }
        data[33] = (uint8_t)(i >> 24); data[34] = (uint8_t)(i >> 16);
        data[35] = (uint8_t)(i >> 8); data[36] = (uint8_t)i;
        assert_int_equal(kg_crypto_hmac_sha512(I, chain, 32, data, 37), KG_OK);
        assert_int_equal(kg_crypto_k1_seckey_tweak_add(key, I), KG_OK);
        memcpy(chain, I + 32, 32);
    }
    kg_wipe(I, sizeof I);
}

static bool holds(const tsigner *t, const kg_key_ref *ref)
{
    if (t->paths == NULL)
        return true;
    for (size_t k = 0; t->paths[k] != NULL; k++) {
        kg_key_ref r;
        memset(&r, 0, sizeof r);
        parse_path(&r, t->paths[k]);
        if (r.path_len == ref->path_len && memcmp(r.path, ref->path, r.path_len * 4) == 0)
            return true;
    }
    return false;
}

static kg_err ts_pub(kg_signer *s, kg_pubkey *out, const kg_key_ref *ref, kg_sig_scheme scheme)
{
    tsigner *t = s->impl;
    uint8_t k[32];
    memset(out, 0, sizeof *out);
    if (!holds(t, ref))
        return kg_err_set(KG_ERR_NOT_FOUND, "test signer does not hold that path");
    derive(k, t, ref);
    kg_err e;
    if (scheme == KG_SIG_BIP340) {
        int par = 0;
        uint8_t x[32];
        e = kg_crypto_k1_xonly(x, &par, k);
        if (e == KG_OK && ref->taproot)
            e = kg_crypto_k1_taproot_output(out->data, &par, x, ref->merkle_root);
        else
            memcpy(out->data, x, 32);
        out->len = 32;
    } else {
        e = kg_crypto_k1_pubkey(out->data, 33, k);
        out->len = 33;
    }
    kg_wipe(k, 32);
    return e;
}

static kg_err ts_sign(kg_signer *s, kg_signature *out, const kg_key_ref *ref, kg_sig_scheme scheme,
                      const uint8_t *msg, size_t msg_len)
{
    tsigner *t = s->impl;
    uint8_t k[32], aux[32] = { 0 };
    memset(out, 0, sizeof *out);
    assert_int_equal(msg_len, 32);
    if (!holds(t, ref))
        return kg_err_set(KG_ERR_NOT_FOUND, "test signer does not hold that path");
    derive(k, t, ref);
    kg_err e;
    out->len = 64;
    out->recid = -1;
    if (scheme == KG_SIG_BIP340) {
        e = ref->taproot ? kg_crypto_k1_taproot_tweak_seckey(k, ref->merkle_root) : KG_OK;
        if (e == KG_OK)
            e = kg_crypto_k1_schnorr_sign(out->data, k, msg, aux);
    } else {
        e = kg_crypto_k1_sign_recoverable(out->data, &out->recid, k, msg);
    }
    kg_wipe(k, 32);
    return e;
}

static const kg_signer_ops ts_ops = { ts_pub, ts_sign, NULL };

/* The BIP's master key (tprv) and its fingerprint. */
static void master_from_tprv(tsigner *t, uint8_t fp[4], const char *tprv)
{
    uint8_t raw[82], pub[33], h[20];
    size_t n = 0;
    assert_int_equal(kg_chain_base58check_decode(raw, sizeof raw, &n, tprv), KG_OK);
    assert_int_equal(n, 78);
    assert_int_equal(raw[45], 0);
    memcpy(t->chain, raw + 13, 32);
    memcpy(t->key, raw + 46, 32);
    assert_int_equal(kg_crypto_k1_pubkey(pub, 33, t->key), KG_OK);
    kg_crypto_hash160(h, pub, 33);
    memcpy(fp, h, 4);
}

/* ---------------------------------------------------------------- tests */

static void test_invalid(void **state)
{
    (void)state;
    json_t *root = load(), *v;
    size_t i, n = 0;
    kg_chain_psbt p;
    assert_int_equal(kg_chain_psbt_alloc(&p, ARENA), KG_OK);
    json_array_foreach(json_object_get(root, "invalid"), i, v) {
        kg_err e = parse_hex(&p, jstr(v, "hex"));
        if (e == KG_OK)
            fail_msg("invalid vector %zu accepted: %s", i, jstr(v, "description"));
        assert_int_equal(p.n_in, 0);
        assert_int_equal(kg_chain_psbt_parse_base64(&p, jstr(v, "base64")), e);
        printf("  invalid %2zu rejected: %-66.66s -> %s\n", i, jstr(v, "description"), kg_err_detail(e));
        n++;
    }
    printf("bip174 invalid: %zu/%zu rejected\n", n, json_array_size(json_object_get(root, "invalid")));
    assert_int_equal(n, 20);
    kg_chain_psbt_free(&p);
    json_decref(root);
}

static void test_valid(void **state)
{
    (void)state;
    json_t *root = load(), *v;
    size_t i, n = 0;
    kg_chain_psbt p;
    assert_int_equal(kg_chain_psbt_alloc(&p, ARENA), KG_OK);
    json_array_foreach(json_object_get(root, "valid"), i, v) {
        kg_err e = parse_hex(&p, jstr(v, "hex"));
        if (e != KG_OK)
            fail_msg("valid vector %zu rejected (%s): %s", i, jstr(v, "description"), kg_err_detail(e));
        expect_hex(&p, jstr(v, "hex"), jstr(v, "description"));
        char *b64 = NULL;
        assert_int_equal(kg_chain_psbt_to_base64(&b64, &p), KG_OK);
        assert_string_equal(b64, jstr(v, "base64"));
        free(b64);
        assert_int_equal(kg_chain_psbt_parse_base64(&p, jstr(v, "base64")), KG_OK);
        expect_hex(&p, jstr(v, "hex"), "base64 round trip");
        n++;
    }
    printf("bip174 valid: %zu/%zu parsed and re-serialized byte-identical\n", n,
           json_array_size(json_object_get(root, "valid")));
    assert_int_equal(n, 10);
    kg_chain_psbt_free(&p);
    json_decref(root);
}

static void test_fails_signer_checks(void **state)
{
    (void)state;
    json_t *root = load(), *v;
    size_t i, n = 0;
    kg_chain_psbt p;
    tsigner t = { .paths = NULL };
    uint8_t fp[4];
    master_from_tprv(&t, fp, jstr(json_object_get(json_object_get(root, "workflow"), "master_key"), "tprv"));
    kg_signer s = { &ts_ops, &t };
    assert_int_equal(kg_chain_psbt_alloc(&p, ARENA), KG_OK);
    json_array_foreach(json_object_get(root, "fails_signer_checks"), i, v) {
        assert_int_equal(parse_hex(&p, jstr(v, "hex")), KG_OK);
        size_t before = 0, after = 0, signed_n = 99;
        assert_int_equal(kg_chain_psbt_serialize(NULL, 0, &before, &p), KG_OK);
        kg_err e = kg_chain_psbt_sign(&p, &signed_n, &s, NULL, fp);
        if (e != KG_ERR_BAD_INPUT)
            fail_msg("signer check vector %zu (%s) gave %d", i, jstr(v, "description"), (int)e);
        assert_int_equal(signed_n, 0);
        assert_int_equal(kg_chain_psbt_serialize(NULL, 0, &after, &p), KG_OK);
        assert_int_equal(before, after);
        printf("  signer refuses %zu: %-60.60s -> %s\n", i, jstr(v, "description"), kg_err_detail(e));
        n++;
    }
    printf("bip174 fails_signer_checks: %zu/4 refused\n", n);
    assert_int_equal(n, 4);
    kg_chain_psbt_free(&p);
    json_decref(root);
}

static uint64_t btc_amount(const char *s)
{
    uint64_t whole = 0, frac = 0;
    unsigned digits = 0;
    while (*s && *s != '.')
        whole = whole * 10 + (uint64_t)(*s++ - '0');
    if (*s == '.')
        for (s++; *s; s++, digits++)
            frac = frac * 10 + (uint64_t)(*s - '0');
    for (; digits < 8; digits++)
        frac *= 10;
    return whole * 100000000u + frac;
}

/* Creator: version 2, locktime 0, final sequences. */
static void wf_create(kg_chain_psbt *p, const json_t *cr)
{
    uint8_t tx[1024];
    size_t len = 0, i;
    json_t *v;
    tx[len++] = 2; tx[len++] = 0; tx[len++] = 0; tx[len++] = 0;
    tx[len++] = (uint8_t)json_array_size(json_object_get(cr, "inputs"));
    json_array_foreach(json_object_get(cr, "inputs"), i, v) {
        assert_int_equal(kg_chain_btc_txid_parse(tx + len, jstr(v, "txid")), KG_OK);
        len += 32;
        uint32_t idx = (uint32_t)json_integer_value(json_object_get(v, "index"));
        memcpy(tx + len, (uint8_t[]){ (uint8_t)idx, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff }, 9);
        len += 9;
    }
    tx[len++] = (uint8_t)json_array_size(json_object_get(cr, "outputs"));
    json_array_foreach(json_object_get(cr, "outputs"), i, v) {
        uint64_t a = btc_amount(jstr(v, "amount_btc"));
        for (int k = 0; k < 8; k++)
            tx[len++] = (uint8_t)(a >> (8 * k));
        size_t sl = 0;
        uint8_t *spk = hexd(jstr(v, "scriptPubKey"), &sl);
        tx[len++] = (uint8_t)sl;
        memcpy(tx + len, spk, sl);
        len += sl;
        free(spk);
    }
    memset(tx + len, 0, 4);
    len += 4;
    assert_int_equal(kg_chain_psbt_create_v0(p, tx, len), KG_OK);
}

/* Updater, as the BIP describes it: input 0 spends the second previous tx
 * (P2SH multisig), input 1 output 1 of the first (P2SH-P2WSH). */
static void wf_update(kg_chain_psbt *p, const json_t *up, const uint8_t fp[4])
{
    size_t l0 = 0, l1 = 0, r0 = 0, r1 = 0, w0 = 0;
    uint8_t *prev0 = hexd(json_string_value(json_array_get(json_object_get(up, "previous_transactions"), 0)), &l0);
    uint8_t *prev1 = hexd(json_string_value(json_array_get(json_object_get(up, "previous_transactions"), 1)), &l1);
    uint8_t *rs0 = hexd(json_string_value(json_array_get(json_object_get(up, "redeem_scripts"), 0)), &r0);
    uint8_t *rs1 = hexd(json_string_value(json_array_get(json_object_get(up, "redeem_scripts"), 1)), &r1);
    uint8_t *ws0 = hexd(json_string_value(json_array_get(json_object_get(up, "witness_scripts"), 0)), &w0);
    assert_int_equal(kg_chain_psbt_set_non_witness_utxo(p, 0, prev1, l1), KG_OK);
    assert_int_equal(kg_chain_psbt_set_non_witness_utxo(p, 1, prev1, l1), KG_ERR_BAD_INPUT); /* wrong txid */
    /* the witness UTXO of input 1: output 1 of prev0 (value, script) */
    kg_chain_btc_tx ptx;
    assert_int_equal(kg_chain_btc_tx_alloc(&ptx, 4, 4, 8, 0), KG_OK);
    assert_int_equal(kg_chain_btc_tx_parse(&ptx, prev0, l0), KG_OK);
    assert_int_equal(kg_chain_psbt_set_witness_utxo(p, 1, ptx.outputs[1].value, ptx.outputs[1].script.data,
                                                    ptx.outputs[1].script.len), KG_OK);
    assert_int_equal(kg_chain_psbt_set_redeem_script(p, false, 0, rs0, r0), KG_OK);
    assert_int_equal(kg_chain_psbt_set_redeem_script(p, false, 1, rs1, r1), KG_OK);
    assert_int_equal(kg_chain_psbt_set_witness_script(p, false, 1, ws0, w0), KG_OK);
    json_t *k;
    size_t i;
    json_array_foreach(json_object_get(up, "public_keys"), i, k) {
        size_t pl = 0;
        uint8_t *pub = hexd(jstr(k, "key"), &pl);
        kg_key_ref ref;
        memset(&ref, 0, sizeof ref);
        assert_true(parse_path(&ref, jstr(k, "path")));
        bool out = i >= 4;
        size_t idx = out ? i - 4 : i / 2;
        assert_int_equal(kg_chain_psbt_add_bip32(p, out, idx, pub, fp, ref.path, ref.path_len), KG_OK);
        free(pub);
    }
    kg_chain_btc_tx_free(&ptx);
    free(prev0); free(prev1); free(rs0); free(rs1); free(ws0);
}

/* The WIFs of a BIP signer are the keys our BIP32 derivation gives. */
static void check_wifs(const tsigner *t, const json_t *keys)
{
    json_t *k;
    size_t i;
    json_array_foreach(keys, i, k) {
        uint8_t raw[40], mine[32];
        size_t n = 0;
        kg_key_ref ref;
        memset(&ref, 0, sizeof ref);
        assert_int_equal(kg_chain_base58check_decode(raw, sizeof raw, &n, jstr(k, "wif")), KG_OK);
        assert_int_equal(n, 34);
        assert_true(parse_path(&ref, jstr(k, "path")));
        derive(mine, t, &ref);
        assert_memory_equal(mine, raw + 1, 32);
    }
}

static void wf_sign(kg_chain_psbt *p, const tsigner *master, const json_t *step, const uint8_t fp[4])
{
    const char *paths[4] = { NULL, NULL, NULL, NULL };
    json_t *k;
    size_t i;
    json_array_foreach(json_object_get(step, "keys"), i, k)
        paths[i] = jstr(k, "path");
    tsigner t = *master;
    t.paths = paths;
    check_wifs(&t, json_object_get(step, "keys"));
    kg_signer s = { &ts_ops, &t };
    size_t n = 0;
    kg_err e = kg_chain_psbt_sign(p, &n, &s, NULL, fp);
    if (e != KG_OK)
        fail_msg("sign: %s", kg_err_detail(e));
    assert_int_equal(n, 2);
    expect_hex(p, jstr(json_object_get(step, "psbt"), "hex"), "signer output");
}

static void test_workflow(void **state)
{
    (void)state;
    json_t *root = load(), *wf = json_object_get(root, "workflow");
    kg_chain_psbt p, q;
    tsigner master = { .paths = NULL };
    uint8_t fp[4];
    master_from_tprv(&master, fp, jstr(json_object_get(wf, "master_key"), "tprv"));
    assert_memory_equal(fp, "\xd9\x0c\x6a\x4f", 4);
    assert_int_equal(kg_chain_psbt_alloc(&p, ARENA), KG_OK);
    assert_int_equal(kg_chain_psbt_alloc(&q, ARENA), KG_OK);

    wf_create(&p, json_object_get(wf, "creator"));
    expect_hex(&p, jstr(json_object_get(json_object_get(wf, "creator"), "psbt"), "hex"), "creator");
    wf_update(&p, json_object_get(wf, "updater"), fp);
    expect_hex(&p, jstr(json_object_get(json_object_get(wf, "updater"), "psbt"), "hex"), "updater");
    assert_int_equal(kg_chain_psbt_set_sighash(&p, 0, 1), KG_OK);
    assert_int_equal(kg_chain_psbt_set_sighash(&p, 1, 1), KG_OK);
    const char *upd = jstr(json_object_get(json_object_get(wf, "updater_sighash_all"), "psbt"), "hex");
    expect_hex(&p, upd, "updater (SIGHASH_ALL)");

    wf_sign(&p, &master, json_object_get(wf, "signer_1"), fp);
    assert_int_equal(parse_hex(&q, upd), KG_OK);
    wf_sign(&q, &master, json_object_get(wf, "signer_2"), fp);

    assert_int_equal(kg_chain_psbt_combine(&p, &q), KG_OK);
    expect_hex(&p, jstr(json_object_get(json_object_get(wf, "combiner"), "psbt"), "hex"), "combiner");
    /* combining again changes nothing */
    assert_int_equal(kg_chain_psbt_combine(&p, &q), KG_OK);
    expect_hex(&p, jstr(json_object_get(json_object_get(wf, "combiner"), "psbt"), "hex"), "combiner again");

    assert_int_equal(kg_chain_psbt_extract(NULL, 0, &(size_t){ 0 }, &p), KG_ERR_BAD_INPUT);
    kg_err e = kg_chain_psbt_finalize(&p);
    if (e != KG_OK)
        fail_msg("finalize: %s", kg_err_detail(e));
    expect_hex(&p, jstr(json_object_get(json_object_get(wf, "input_finalizer"), "psbt"), "hex"), "finalizer");

    size_t n = 0, en = 0;
    assert_int_equal(kg_chain_psbt_extract(NULL, 0, &n, &p), KG_OK);
    uint8_t *tx = malloc(n);
    assert_int_equal(kg_chain_psbt_extract(tx, n, &n, &p), KG_OK);
    uint8_t *exp = hexd(jstr(json_object_get(wf, "transaction_extractor"), "tx_hex"), &en);
    assert_int_equal(n, en);
    assert_memory_equal(tx, exp, n);
    printf("bip174 workflow: creator, updater, updater(sighash), signer 1, signer 2, combiner, finalizer, "
           "extractor: 8/8 byte-identical\n");
    free(tx);
    free(exp);
    kg_chain_psbt_free(&p);
    kg_chain_psbt_free(&q);
    json_decref(root);
}

static void test_combiner_unknown_keys(void **state)
{
    (void)state;
    json_t *root = load(), *c = json_object_get(root, "combiner_unknown_keys");
    kg_chain_psbt a, b;
    assert_int_equal(kg_chain_psbt_alloc(&a, ARENA), KG_OK);
    assert_int_equal(kg_chain_psbt_alloc(&b, ARENA), KG_OK);
    assert_int_equal(parse_hex(&a, jstr(json_array_get(json_object_get(c, "inputs"), 0), "hex")), KG_OK);
    assert_int_equal(parse_hex(&b, jstr(json_array_get(json_object_get(c, "inputs"), 1), "hex")), KG_OK);
    assert_int_equal(kg_chain_psbt_combine(&a, &b), KG_OK);
    expect_hex(&a, jstr(json_object_get(c, "expected_lexicographic_combine"), "hex"), "combine unknown keys");
    printf("bip174 combiner_unknown_keys: 1/1\n");
    /* a PSBT over another transaction is refused */
    json_t *wf = json_object_get(root, "workflow");
    assert_int_equal(parse_hex(&b, jstr(json_object_get(json_object_get(wf, "creator"), "psbt"), "hex")), KG_OK);
    assert_int_equal(kg_chain_psbt_combine(&a, &b), KG_ERR_BAD_INPUT);
    kg_chain_psbt_free(&a);
    kg_chain_psbt_free(&b);
    json_decref(root);
}

/* v0 -> v2: the same workflow on a version 2 PSBT gives the same final
 * transaction, and v2 -> v0 gives the original bytes back. */
static void test_v2_workflow(void **state)
{
    (void)state;
    json_t *root = load(), *wf = json_object_get(root, "workflow");
    kg_chain_psbt p, q;
    tsigner master = { .paths = NULL };
    uint8_t fp[4];
    master_from_tprv(&master, fp, jstr(json_object_get(wf, "master_key"), "tprv"));
    assert_int_equal(kg_chain_psbt_alloc(&p, ARENA), KG_OK);
    assert_int_equal(kg_chain_psbt_alloc(&q, ARENA), KG_OK);
    const char *upd = jstr(json_object_get(json_object_get(wf, "updater_sighash_all"), "psbt"), "hex");
    assert_int_equal(parse_hex(&p, upd), KG_OK);
    assert_int_equal(kg_chain_psbt_convert(&p, 2), KG_OK);
    assert_int_equal(p.version, 2);
    assert_null(kg_chain_psbt_map_find(&p.global, KG_PSBT_GLOBAL_UNSIGNED_TX));
    /* through bytes: the v2 parser accepts what we wrote */
    char *b64 = NULL;
    assert_int_equal(kg_chain_psbt_to_base64(&b64, &p), KG_OK);
    assert_int_equal(kg_chain_psbt_parse_base64(&q, b64), KG_OK);
    assert_int_equal(q.version, 2);
    assert_int_equal(q.n_in, 2);
    kg_chain_psbt_in in;
    assert_int_equal(kg_chain_psbt_tx_input(&in, &q, 1), KG_OK);
    assert_int_equal(in.vout, 1);
    assert_int_equal(in.sequence, 0xffffffffu);
    /* back to v0: byte-identical to the BIP's PSBT */
    assert_int_equal(kg_chain_psbt_convert(&q, 0), KG_OK);
    expect_hex(&q, upd, "v0 -> v2 -> v0");
    assert_int_equal(kg_chain_psbt_parse_base64(&q, b64), KG_OK);
    free(b64);

    const char *p1[] = { "m/0'/0'/0'", "m/0'/0'/2'", NULL }, *p2[] = { "m/0'/0'/1'", "m/0'/0'/3'", NULL };
    tsigner t1 = master, t2 = master;
    t1.paths = p1;
    t2.paths = p2;
    kg_signer s1 = { &ts_ops, &t1 }, s2 = { &ts_ops, &t2 };
    size_t n = 0;
    assert_int_equal(kg_chain_psbt_sign(&p, &n, &s1, NULL, fp), KG_OK);
    assert_int_equal(n, 2);
    assert_int_equal(kg_chain_psbt_sign(&q, &n, &s2, NULL, fp), KG_OK);
    assert_int_equal(kg_chain_psbt_combine(&p, &q), KG_OK);
    assert_int_equal(kg_chain_psbt_finalize(&p), KG_OK);
    size_t tl = 0, el = 0;
    uint8_t tx[1024];
    assert_int_equal(kg_chain_psbt_extract(tx, sizeof tx, &tl, &p), KG_OK);
    uint8_t *exp = hexd(jstr(json_object_get(wf, "transaction_extractor"), "tx_hex"), &el);
    assert_int_equal(tl, el);
    assert_memory_equal(tx, exp, tl);
    free(exp);
    /* a second signing pass adds nothing */
    assert_int_equal(kg_chain_psbt_sign(&p, &n, &s1, NULL, fp), KG_ERR_NOT_FOUND);
    assert_int_equal(n, 0);
    printf("bip370: v0 -> v2 -> v0 identical; v2 sign/combine/finalize/extract = the BIP's final tx\n");
    kg_chain_psbt_free(&p);
    kg_chain_psbt_free(&q);
    json_decref(root);
}

/* Single-key inputs: P2PKH, P2WPKH, P2SH-P2WPKH, P2TR key path, each signed
 * by our BIP32 signer, finalized and extracted; every signature of the
 * extracted transaction is checked with the verifiers. */
static void test_single_key_types(void **state)
{
    (void)state;
    static const char tprv[] = "tprv8ZgxMBicQKsPd9TeAdPADNnSyH9SSUUbTVeFszDE23Ki6TBB5nCefAdHkK8Fm3qMQR6sHwA56zqRmKmxnHk37JkiFzvncDqoKmPWubu7hDF";
    tsigner t = { .paths = NULL };
    uint8_t fp[4], pub[4][33], h160[4][20], xonly[32], outkey[32];
    master_from_tprv(&t, fp, tprv);
    kg_signer s = { &ts_ops, &t };
    kg_key_ref ref[4];
    const char *paths[4] = { "m/44'/1'/0'/0/0", "m/84'/1'/0'/0/0", "m/49'/1'/0'/0/0", "m/86'/1'/0'/0/0" };
    kg_chain_btc_spk spk[4];
    for (int k = 0; k < 4; k++) {
        kg_pubkey pk;
        memset(&ref[k], 0, sizeof ref[k]);
        assert_true(parse_path(&ref[k], paths[k]));
        assert_int_equal(ts_pub(&s, &pk, &ref[k], KG_SIG_ECDSA_SECP256K1), KG_OK);
        memcpy(pub[k], pk.data, 33);
        kg_crypto_hash160(h160[k], pub[k], 33);
    }
    kg_chain_btc_spk_p2pkh(&spk[0], h160[0]);
    /* segwit templates by hand (BIP141: OP_0 <20>, BIP341: OP_1 <32>) */
    spk[1].data[0] = 0x00;
    spk[1].data[1] = 0x14;
    memcpy(spk[1].data + 2, h160[1], 20);
    spk[1].len = 22;
    uint8_t redeem[22] = { 0x00, 0x14 }, rh[20];
    memcpy(redeem + 2, h160[2], 20);
    kg_crypto_hash160(rh, redeem, 22);
    kg_chain_btc_spk_p2sh(&spk[2], rh);
    memcpy(xonly, pub[3] + 1, 32);
    int par = 0;
    assert_int_equal(kg_crypto_k1_taproot_output(outkey, &par, xonly, NULL), KG_OK);
    spk[3].data[0] = 0x51;
    spk[3].data[1] = 0x20;
    memcpy(spk[3].data + 2, outkey, 32);
    spk[3].len = 34;

    /* the previous transaction paying the four scripts */
    uint8_t prev[512];
    size_t pl = 0;
    memcpy(prev, "\x02\x00\x00\x00\x01", 5);
    pl = 5;
    memset(prev + pl, 0x11, 32);
    pl += 32;
    memcpy(prev + pl, "\x00\x00\x00\x00\x00\xff\xff\xff\xff\x04", 10);
    pl += 10;
    for (int k = 0; k < 4; k++) {
        uint64_t a = 100000u * (uint64_t)(k + 1);
        for (int b = 0; b < 8; b++)
            prev[pl++] = (uint8_t)(a >> (8 * b));
        prev[pl++] = (uint8_t)spk[k].len;
        memcpy(prev + pl, spk[k].data, spk[k].len);
        pl += spk[k].len;
    }
    memset(prev + pl, 0, 4);
    pl += 4;
    kg_chain_btc_tx ptx;
    uint8_t prev_txid[32];
    assert_int_equal(kg_chain_btc_tx_alloc(&ptx, 4, 4, 8, 0), KG_OK);
    assert_int_equal(kg_chain_btc_tx_parse(&ptx, prev, pl), KG_OK);
    kg_chain_btc_tx_txid(prev_txid, &ptx);

    kg_chain_psbt_in ins[4];
    for (int k = 0; k < 4; k++)
        ins[k] = (kg_chain_psbt_in){ .vout = (uint32_t)k, .sequence = 0xfffffffdu };
    for (int k = 0; k < 4; k++)
        memcpy(ins[k].txid, prev_txid, 32);
    kg_chain_psbt_out outs[1] = { { 990000, spk[1].data, spk[1].len } };
    kg_chain_psbt p;
    assert_int_equal(kg_chain_psbt_alloc(&p, ARENA), KG_OK);
    assert_int_equal(kg_chain_psbt_create_v2(&p, 2, 0, ins, 4, outs, 1), KG_OK);
    assert_int_equal(kg_chain_psbt_set_non_witness_utxo(&p, 0, prev, pl), KG_OK);
    for (int k = 1; k < 4; k++)
        assert_int_equal(kg_chain_psbt_set_witness_utxo(&p, (size_t)k, ptx.outputs[k].value, spk[k].data,
                                                        spk[k].len), KG_OK);
    assert_int_equal(kg_chain_psbt_set_redeem_script(&p, false, 2, redeem, 22), KG_OK);
    for (int k = 0; k < 3; k++)
        assert_int_equal(kg_chain_psbt_add_bip32(&p, false, (size_t)k, pub[k], fp, ref[k].path, ref[k].path_len),
                         KG_OK);
    assert_int_equal(kg_chain_psbt_set_tap_internal_key(&p, false, 3, xonly), KG_OK);
    assert_int_equal(kg_chain_psbt_add_tap_bip32(&p, false, 3, xonly, fp, ref[3].path, ref[3].path_len), KG_OK);
    /* finalizing before signing fails and names the input */
    assert_int_equal(kg_chain_psbt_finalize(&p), KG_ERR_BAD_INPUT);
    size_t n = 0;
    kg_err e = kg_chain_psbt_sign(&p, &n, &s, "test", fp);
    if (e != KG_OK)
        fail_msg("sign: %s", kg_err_detail(e));
    assert_int_equal(n, 4);
    assert_non_null(kg_chain_psbt_map_find(&p.in[3], KG_PSBT_IN_TAP_KEY_SIG));
    assert_int_equal(kg_chain_psbt_finalize(&p), KG_OK);
    uint8_t raw[2048];
    size_t rl = 0;
    assert_int_equal(kg_chain_psbt_extract(raw, sizeof raw, &rl, &p), KG_OK);

    kg_chain_btc_tx tx;
    assert_int_equal(kg_chain_btc_tx_alloc(&tx, 4, 1, 16, 0), KG_OK);
    assert_int_equal(kg_chain_btc_tx_parse(&tx, raw, rl), KG_OK);
    assert_int_equal(tx.input_count, 4);
    kg_chain_btc_txout spent[4];
    for (int k = 0; k < 4; k++)
        spent[k] = ptx.outputs[k];
    uint8_t digest[32], sig64[64], ht = 0, code[25];
    /* P2PKH: scriptSig <sig> <pub> */
    const uint8_t *ss = tx.inputs[0].script_sig.data;
    assert_int_equal(kg_chain_btc_sighash_legacy(digest, &tx, 0, spk[0].data, spk[0].len, 1), KG_OK);
    assert_int_equal(kg_chain_btc_sig_der_decode(sig64, &ht, ss + 1, ss[0]), KG_OK);
    assert_int_equal(ht, 1);
    assert_memory_equal(ss + 1 + ss[0] + 1, pub[0], 33);
    assert_int_equal(kg_crypto_k1_verify(pub[0], 33, sig64, digest), KG_OK);
    /* P2WPKH and P2SH-P2WPKH: witness [sig, pub] */
    for (int k = 1; k <= 2; k++) {
        kg_chain_btc_spk pkh;
        kg_chain_btc_spk_p2pkh(&pkh, h160[k]);
        memcpy(code, pkh.data, 25);
        assert_int_equal(tx.inputs[k].witness_count, 2);
        assert_memory_equal(tx.inputs[k].witness[1].data, pub[k], 33);
        assert_int_equal(kg_chain_btc_sighash_segwit_v0(digest, &tx, (size_t)k, code, 25, spent[k].value, 1), KG_OK);
        assert_int_equal(kg_chain_btc_sig_der_decode(sig64, &ht, tx.inputs[k].witness[0].data,
                                                     tx.inputs[k].witness[0].len), KG_OK);
        assert_int_equal(kg_crypto_k1_verify(pub[k], 33, sig64, digest), KG_OK);
    }
    assert_int_equal(tx.inputs[2].script_sig.len, 23);
    assert_memory_equal(tx.inputs[2].script_sig.data + 1, redeem, 22);
    /* P2TR key path: witness [sig64] (SIGHASH_DEFAULT) */
    assert_int_equal(tx.inputs[3].witness_count, 1);
    assert_int_equal(tx.inputs[3].witness[0].len, 64);
    assert_int_equal(kg_chain_btc_sighash_taproot(digest, &tx, 3, spent, 4, 0), KG_OK);
    assert_int_equal(kg_crypto_k1_schnorr_verify(tx.inputs[3].witness[0].data, digest, 32, outkey), KG_OK);
    printf("single-key inputs: P2PKH, P2WPKH, P2SH-P2WPKH, P2TR signed, finalized, extracted, verified: 4/4\n");
    kg_chain_btc_tx_free(&tx);
    kg_chain_btc_tx_free(&ptx);
    kg_chain_psbt_free(&p);
}

/* Every truncation of a PSBT is rejected; a small arena is reported;
 * malformed base64 is rejected; the caller-arena form needs no heap. */
static void test_bad_input(void **state)
{
    (void)state;
    json_t *root = load(), *wf = json_object_get(root, "workflow");
    size_t n = 0;
    uint8_t *b = hexd(jstr(json_object_get(json_object_get(wf, "combiner"), "psbt"), "hex"), &n);
    static uint8_t arena[64 * 1024];
    kg_chain_psbt p;
    kg_chain_psbt_init(&p, arena, sizeof arena);
    for (size_t k = 0; k < n; k++)
        assert_int_not_equal(kg_chain_psbt_parse(&p, b, k), KG_OK);
    assert_int_equal(kg_chain_psbt_parse(&p, b, n), KG_OK);
    /* one byte changed in the magic, and trailing garbage */
    b[4] = 0xfe;
    assert_int_equal(kg_chain_psbt_parse(&p, b, n), KG_ERR_BAD_INPUT);
    b[4] = 0xff;
    kg_chain_psbt_init(&p, arena, 600);
    assert_int_equal(kg_chain_psbt_parse(&p, b, n), KG_ERR_TOO_LARGE);
    kg_chain_psbt_init(&p, arena, sizeof arena);
    assert_int_equal(kg_chain_psbt_parse_base64(&p, "cHNidP8=="), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_chain_psbt_parse_base64(&p, "not base64!"), KG_ERR_BAD_INPUT);
    /* serialize into a short buffer */
    assert_int_equal(kg_chain_psbt_parse(&p, b, n), KG_OK);
    uint8_t small[10];
    size_t need = 0;
    assert_int_equal(kg_chain_psbt_serialize(small, sizeof small, &need, &p), KG_ERR_TOO_LARGE);
    assert_int_equal(need, n);
    /* v2 PSBT without its required fields */
    static const uint8_t v2bad[] = { 'p', 's', 'b', 't', 0xff, 0x01, 0xfb, 0x04, 0x02, 0, 0, 0, 0x00 };
    assert_int_equal(kg_chain_psbt_parse(&p, v2bad, sizeof v2bad), KG_ERR_BAD_INPUT);
    printf("bad input: %zu truncations rejected, arena limit, base64, v2 required fields\n", n);
    free(b);
    json_decref(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_fails_signer_checks),
        cmocka_unit_test(test_workflow),
        cmocka_unit_test(test_combiner_unknown_keys),
        cmocka_unit_test(test_v2_workflow),
        cmocka_unit_test(test_single_key_types),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
