/* bench_wallet_bench: how fast the wallet layer derives keys and signs.
 *
 *   bench_wallet_bench [--seconds S]      (default 1 second per row)
 *
 * Rows, each run for S seconds (after a short warm-up) and reported as
 * operations per second and microseconds per operation:
 *
 *   bip39-seed          BIP39 "From mnemonic to seed": validate a 24-word
 *                       mnemonic and PBKDF2-HMAC-SHA512 with 2048 rounds
 *   bip32-derive-84     BIP32 m/84'/0'/0'/0/i from the master key (5 CKDpriv
 *                       steps, i changes every time)
 *   bip32-derive-last   one non-hardened CKDpriv step (the /i of an account
 *                       key already derived, as a wallet scanning addresses does)
 *   k1-ecdsa-raw        libsecp256k1 recoverable ECDSA on a fixed key, through
 *                       crypto.h (the floor for the rows below)
 *   k1-ecdsa-signer     the local signer: derive m/44'/60'/0'/0/0 from the seed,
 *                       sign a digest, wipe (what every wallet signature costs)
 *   bip340-raw          BIP340 Schnorr on a fixed key, fresh aux randomness
 *   bip340-signer       the local signer, BIP86 taproot-tweaked key path
 *   eth-1559-sign       EIP-1559 transfer: signing hash, local-signer ECDSA,
 *                       raw encoding
 *   psbt-sign-2in       parse a 2-input P2WPKH PSBT (BIP174 v0) with BIP32
 *                       derivations, sign both inputs (BIP143 sighash, two
 *                       derivations + ECDSA), serialize it back
 *
 * It prints the machine first (nproc, CPU model, kernel) and one table; the
 * figures go into docs/benchmarks.md with the command. Single-threaded: the
 * wallet CLI signs one request at a time. No network, no files.
 *
 * Exit status: 0, or 1 when a setup or an operation fails (the error is
 * printed; a failing operation is never timed). */
#include "bench_machine.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "kashguard/chain/ethereum.h"
#include "kashguard/chain/psbt.h"
#include "kashguard/crypto.h"
#include "kashguard/wallet/hd.h"
#include "kashguard/wallet/signers.h"

/* The BIP39 vector with entropy 0x80 * 32 (24 words). */
static const char MNEMONIC[] =
    "letter advice cage absurd amount doctor acoustic avoid letter advice cage absurd "
    "amount doctor acoustic avoid letter advice cage absurd amount doctor acoustic bless";

typedef struct {
    uint8_t seed[KG_WALLET_SEED_BYTES];
    kg_wallet_hdkey master;
    kg_wallet_hdkey account;      /* m/84'/0'/0'/0 */
    uint8_t fp[4];                /* master fingerprint */
    kg_signer *signer;            /* local signer over seed */
    uint8_t seckey[32];           /* m/44'/60'/0'/0/0, for the raw rows */
    uint8_t psbt[2048];           /* the unsigned 2-input PSBT */
    size_t psbt_len;
    uint8_t arena[16384];
    uint32_t i;                   /* changes per iteration */
} bench_ctx;

typedef kg_err (*bench_fn)(bench_ctx *c);

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int die(const char *what, kg_err err)
{
    fprintf(stderr, "bench_wallet_bench: %s: %s (%s)\n", what, kg_err_str(err),
            kg_err_detail(err) != NULL ? kg_err_detail(err) : "");
    return 1;
}

/* ---------------------------------------------------------- operations */

static kg_err op_bip39_seed(bench_ctx *c)
{
    (void)c;
    uint8_t seed[KG_WALLET_SEED_BYTES];
    kg_err err = kg_wallet_bip39_to_seed(seed, MNEMONIC, "");
    kg_wipe(seed, sizeof(seed));
    return err;
}

static kg_err op_bip32_derive_84(bench_ctx *c)
{
    uint32_t path[5];
    kg_wallet_hdkey k;
    kg_err err = kg_wallet_bip44_path(path, KG_WALLET_PURPOSE_BIP84, 0, 0, 0, c->i++ & 0x7fffffffu);
    if (err == KG_OK)
        err = kg_wallet_hd_derive_path(&k, &c->master, path, 5);
    kg_wallet_hdkey_wipe(&k);
    return err;
}

static kg_err op_bip32_derive_last(bench_ctx *c)
{
    kg_wallet_hdkey k;
    kg_err err = kg_wallet_hd_derive(&k, &c->account, c->i++ & 0x7fffffffu);
    kg_wallet_hdkey_wipe(&k);
    return err;
}

static void digest_of(uint8_t d[32], uint32_t i)
{
    uint8_t in[4] = { (uint8_t)i, (uint8_t)(i >> 8), (uint8_t)(i >> 16), (uint8_t)(i >> 24) };
    kg_crypto_sha256(d, in, sizeof(in));
}

static kg_err op_ecdsa_raw(bench_ctx *c)
{
    uint8_t d[32], sig[64];
    int recid = 0;
    digest_of(d, c->i++);
    return kg_crypto_k1_sign_recoverable(sig, &recid, c->seckey, d);
}

static void eth_ref(kg_key_ref *ref)
{
    memset(ref, 0, sizeof(*ref));
    const uint32_t p[5] = { 44 | KG_HARDENED, 60 | KG_HARDENED, KG_HARDENED, 0, 0 };
    memcpy(ref->path, p, sizeof(p));
    ref->path_len = 5;
}

static kg_err op_ecdsa_signer(bench_ctx *c)
{
    kg_key_ref ref;
    kg_signature sig;
    uint8_t d[32];
    eth_ref(&ref);
    digest_of(d, c->i++);
    return kg_signer_sign(c->signer, &sig, &ref, KG_SIG_ECDSA_SECP256K1, d, sizeof(d));
}

static kg_err op_bip340_raw(bench_ctx *c)
{
    uint8_t d[32], sig[64];
    digest_of(d, c->i++);
    return kg_crypto_k1_schnorr_sign(sig, c->seckey, d, NULL);
}

static kg_err op_bip340_signer(bench_ctx *c)
{
    kg_key_ref ref;
    kg_signature sig;
    uint8_t d[32];
    memset(&ref, 0, sizeof(ref));
    const uint32_t p[5] = { 86 | KG_HARDENED, KG_HARDENED, KG_HARDENED, 0, 0 };
    memcpy(ref.path, p, sizeof(p));
    ref.path_len = 5;
    ref.taproot = true;
    digest_of(d, c->i++);
    return kg_signer_sign(c->signer, &sig, &ref, KG_SIG_BIP340, d, sizeof(d));
}

static kg_err op_eth_1559(bench_ctx *c)
{
    kg_chain_eth_tx tx;
    kg_key_ref ref;
    uint8_t raw[256];
    size_t raw_len = 0;
    memset(&tx, 0, sizeof(tx));
    tx.type = KG_CHAIN_ETH_TX_DYNAMIC_FEE;
    tx.chain_id = 1;
    tx.nonce = c->i++;
    tx.gas_limit = 21000;
    tx.max_priority_fee[31] = 0x77;                 /* small fees, a 1.25 ETH value */
    tx.max_fee[30] = 0x12;
    tx.max_fee[31] = 0x34;
    tx.has_to = true;
    memset(tx.to, 0x35, sizeof(tx.to));
    kg_err err = kg_chain_eth_u256_from_dec(tx.value, "1250000000000000000");
    eth_ref(&ref);
    if (err == KG_OK)
        err = kg_chain_eth_tx_sign(c->signer, &tx, &ref);
    if (err == KG_OK)
        err = kg_chain_eth_tx_encode(raw, sizeof(raw), &raw_len, &tx);
    return err;
}

static kg_err op_psbt_sign(bench_ctx *c)
{
    kg_chain_psbt p;
    size_t n = 0, len = 0;
    uint8_t out[4096];
    kg_chain_psbt_init(&p, c->arena, sizeof(c->arena));
    kg_err err = kg_chain_psbt_parse(&p, c->psbt, c->psbt_len);
    if (err == KG_OK)
        err = kg_chain_psbt_sign(&p, &n, c->signer, NULL, c->fp);
    if (err == KG_OK && n != 2)
        err = kg_err_set(KG_ERR_INTERNAL, "the PSBT signer signed %zu inputs, expected 2", n);
    if (err == KG_OK)
        err = kg_chain_psbt_serialize(out, sizeof(out), &len, &p);
    kg_chain_psbt_reset(&p);
    return err;
}

/* ------------------------------------------------------------- set-up */

/* A v2-created, v0-converted PSBT with two P2WPKH inputs of m/84'/0'/0'/0/{0,1}. */
static kg_err make_psbt(bench_ctx *c)
{
    kg_chain_psbt p;
    kg_chain_psbt_in ins[2];
    kg_chain_psbt_out outs[1];
    uint8_t spk[2][22], out_spk[22];
    kg_wallet_hdkey k;
    uint32_t path[5];
    kg_err err = KG_OK;
    memset(ins, 0, sizeof(ins));
    out_spk[0] = 0x00;
    out_spk[1] = 0x14;
    memset(out_spk + 2, 0x42, 20);
    outs[0] = (kg_chain_psbt_out){ .amount = 90000, .script = out_spk, .script_len = sizeof(out_spk) };
    for (int i = 0; i < 2; i++) {
        memset(ins[i].txid, 0x11 * (i + 1), 32);
        ins[i].vout = (uint32_t)i;
        ins[i].sequence = 0xfffffffdu;
    }
    kg_chain_psbt_init(&p, c->arena, sizeof(c->arena));
    err = kg_chain_psbt_create_v2(&p, 2, 0, ins, 2, outs, 1);
    for (uint32_t i = 0; err == KG_OK && i < 2; i++) {
        err = kg_wallet_bip44_path(path, KG_WALLET_PURPOSE_BIP84, 0, 0, 0, i);
        if (err == KG_OK)
            err = kg_wallet_hd_derive_path(&k, &c->master, path, 5);
        if (err != KG_OK)
            break;
        spk[i][0] = 0x00;
        spk[i][1] = 0x14;
        kg_crypto_hash160(spk[i] + 2, k.pub, 33);
        err = kg_chain_psbt_set_witness_utxo(&p, i, 50000, spk[i], sizeof(spk[i]));
        if (err == KG_OK)
            err = kg_chain_psbt_add_bip32(&p, false, i, k.pub, c->fp, path, 5);
    }
    kg_wallet_hdkey_wipe(&k);
    if (err == KG_OK)
        err = kg_chain_psbt_convert(&p, 0);
    if (err == KG_OK)
        err = kg_chain_psbt_serialize(c->psbt, sizeof(c->psbt), &c->psbt_len, &p);
    kg_chain_psbt_reset(&p);
    return err;
}

static kg_err setup(bench_ctx *c)
{
    kg_wallet_hdkey k;
    kg_err err = kg_crypto_init();
    if (err == KG_OK)
        err = kg_wallet_bip39_to_seed(c->seed, MNEMONIC, "");
    if (err == KG_OK)
        err = kg_wallet_hd_from_seed(&c->master, KG_WALLET_CURVE_SECP256K1, c->seed, sizeof(c->seed));
    if (err == KG_OK)
        err = kg_wallet_hd_derive_str(&c->account, &c->master, "m/84'/0'/0'/0");
    if (err == KG_OK)
        err = kg_wallet_hd_derive_str(&k, &c->master, "m/44'/60'/0'/0/0");
    if (err == KG_OK)
        memcpy(c->seckey, k.priv, 32);
    kg_wallet_hdkey_wipe(&k);
    kg_wallet_hd_fingerprint(c->fp, &c->master);
    if (err == KG_OK) {
        kg_secret *s = kg_secret_from(c->seed, sizeof(c->seed));
        err = s == NULL ? KG_ERR_NOMEM : kg_wallet_signer_local(&c->signer, s);
        kg_secret_free(s);
    }
    if (err == KG_OK)
        err = make_psbt(c);
    return err;
}

/* ------------------------------------------------------------- report */

/* Run fn for `seconds` (after ~10% warm-up); print one table row. */
static int run_row(bench_ctx *c, const char *name, bench_fn fn, double seconds)
{
    unsigned long n = 0;
    kg_err err = KG_OK;
    double t0 = now_s(), warm = t0 + seconds / 10;
    while (now_s() < warm && (err = fn(c)) == KG_OK)
        ;
    if (err != KG_OK)
        return die(name, err);
    t0 = now_s();
    double t1 = t0;
    /* Check the clock every 16 operations: cheap rows run ~10^5/s. */
    while (t1 - t0 < seconds) {
        for (int j = 0; j < 16; j++, n++)
            if ((err = fn(c)) != KG_OK)
                return die(name, err);
        t1 = now_s();
    }
    double ops = (double)n / (t1 - t0);
    printf("| %-18s | %10.0f | %10.2f |\n", name, ops, 1e6 / ops);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    double seconds = 1.0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            seconds = atof(argv[++i]);
        } else {
            fprintf(stderr, "usage: %s [--seconds S]\n", argv[0]);
            return 1;
        }
    }
    if (!(seconds > 0 && seconds <= 600)) {
        fprintf(stderr, "bench_wallet_bench: --seconds must be in (0, 600]\n");
        return 1;
    }
    static bench_ctx c;
    kg_err err = setup(&c);
    if (err != KG_OK)
        return die("setup", err);
    bench_print_machine();
    printf("seconds per row: %.1f, single thread\n\n", seconds);
    printf("| %-18s | %10s | %10s |\n|%s|%s|%s|\n", "operation", "ops/s", "us/op",
           "--------------------", "-----------:", "-----------:");
    static const struct { const char *name; bench_fn fn; } rows[] = {
        { "bip39-seed", op_bip39_seed },
        { "bip32-derive-84", op_bip32_derive_84 },
        { "bip32-derive-last", op_bip32_derive_last },
        { "k1-ecdsa-raw", op_ecdsa_raw },
        { "k1-ecdsa-signer", op_ecdsa_signer },
        { "bip340-raw", op_bip340_raw },
        { "bip340-signer", op_bip340_signer },
        { "eth-1559-sign", op_eth_1559 },
        { "psbt-sign-2in", op_psbt_sign },
    };
    int rc = 0;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]) && rc == 0; i++)
        rc = run_row(&c, rows[i].name, rows[i].fn, seconds);
    kg_signer_close(c.signer);
    kg_wallet_hdkey_wipe(&c.master);
    kg_wallet_hdkey_wipe(&c.account);
    kg_wipe(c.seed, sizeof(c.seed));
    kg_wipe(c.seckey, sizeof(c.seckey));
    return rc;
}
