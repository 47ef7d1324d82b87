/* The node side of CGGMP21 (src/mpc/node_cggmp*.c) in process: three
 * nodes with their own stores, seal keys, envelope keys and safe-prime
 * pools (pre-filled from tests/mpc/fixtures/safe_primes_1024.txt, distinct
 * lines per node: 2048-bit Paillier moduli) run a 2-of-3 keygen, aux,
 * presign for {1, 3} and sign through the request handlers; this file
 * plays the coordinator (routing envelopes by their headers, as
 * coord_cggmp*.c does over the network).
 *
 * Checked: every node ends with the same group key and aux digest; the
 * two σ_i combine to a signature for the derived child key (m/0/5) that
 * libsecp256k1 verifies; a used presignature cannot sign again, also after
 * the node's store is reopened; malformed START/ROUND/SIGN bodies are
 * refused with KG_ERR_BAD_INPUT and change nothing (no session, the
 * session still completes, the presignature still unused); a validly
 * signed confirmation over another digest is refused with KG_ERR_CONFLICT
 * naming the party and nothing is stored; an expired session is wiped;
 * the store keeps used presignatures used. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <secp256k1.h>

#include "kashguard/crypto.h"
#include "../../src/mpc/cggmp_int.h"
#include "../../src/mpc/node_int.h"
#include "cggmp_fixture.h"

#define GRP KG_MPC_GROUP_SECP256K1
#define NN 3
#define KEY "ecdsa-1"
#define PL 33

static kg_mpc_nd nd[NN];
static kg_mpc_node_config cfg[NN];
static char dir[NN][128], dbp[NN][160];
static kg_mpc_point group_pub;
static uint8_t presig_id[32];

static void wr_u32(kg_mpc_node_wr *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    kg_mpc_node_wr_fixed(w, b, 4);
}

static void node_setup(int i)
{
    uint8_t k[32];
    char path[256];
    memset(&nd[i], 0, sizeof nd[i]);
    snprintf(dir[i], sizeof dir[i], "/tmp/kg-test-cggmp-node-%d-%d", (int)getpid(), i);
    mkdir(dir[i], 0700);
    cfg[i].id = (uint16_t)(i + 1);
    cfg[i].data_dir = dir[i];
    nd[i].cfg = &cfg[i];
    snprintf(dbp[i], sizeof dbp[i], "%s/node.db", dir[i]);
    assert_int_equal(kg_store_open(&nd[i].st, dbp[i]), KG_OK);
    assert_int_equal(kg_crypto_random(k, sizeof k), KG_OK);
    assert_non_null(nd[i].seal_key = kg_secret_from(k, sizeof k));
    assert_int_equal(kg_mpc_net_keys_generate(&nd[i].env, &nd[i].env_pub), KG_OK);
    assert_int_equal(kg_mpc_net_replay_new(&nd[i].replay, 256), KG_OK);
    /* Four distinct fixture primes per node, the pool file as the node keeps it. */
    snprintf(path, sizeof path, "%s/cggmp-primes.txt", dir[i]);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (unsigned j = 0; j < 4; j++) {
        BIGNUM *p = kg_fx_prime(1024, 4 * (unsigned)i + j);
        assert_non_null(p);
        char *hex = BN_bn2hex(p);
        fprintf(f, "%s\n", hex);
        OPENSSL_free(hex);
        kg_mpc_bn_free(p);
    }
    fclose(f);
    assert_int_equal(kg_mpc_prime_pool_open(&nd[i].primes, path, 1024, 0), KG_OK);
}

static int setup(void **state)
{
    (void)state;
    for (int i = 0; i < NN; i++) node_setup(i);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < NN; i++) {
        char p[640];
        for (size_t j = 0; j < KG_MPC_ND_MAX_SESSIONS; j++) kg_mpc_nd_session_free(&nd[i], j);
        kg_mpc_nd_cg_pool_close(&nd[i]);
        kg_store_close(nd[i].st);
        kg_secret_free(nd[i].seal_key);
        kg_secret_free(nd[i].env);
        kg_mpc_net_replay_free(nd[i].replay);
        const char *files[] = {"node.db", "node.db-wal", "node.db-shm", "cggmp-primes.txt"};
        for (size_t j = 0; j < 4; j++) {
            snprintf(p, sizeof p, "%s/%s", dir[i], files[j]);
            unlink(p);
        }
        rmdir(dir[i]);
    }
    return 0;
}

/* Node i answers request type with body b in session sess. */
static kg_err call(kg_bytes *out, int i, uint8_t type, const uint8_t *sess, const uint8_t *b, size_t len)
{
    kg_mpc_node_msg m = {.type = type, .scheme = GRP, .body = b, .body_len = len};
    memcpy(m.session, sess, sizeof m.session);
    kg_mpc_node_wr w = {0};
    kg_err err = kg_mpc_nd_cggmp_handle(&nd[i], kg_mpc_nd_session_find(&nd[i], sess), &m, &w);
    if (!err) err = kg_mpc_node_wr_done(&w);
    if (err) kg_bytes_free(&w.b);
    if (out) *out = err ? (kg_bytes){0} : w.b;
    else kg_bytes_free(&w.b);
    return err;
}

static void start_body(kg_mpc_node_wr *w, uint16_t phase, const char *key, const uint16_t *signers, size_t ns,
                       uint32_t epoch)
{
    *w = (kg_mpc_node_wr){0}; /* callers reuse w after kg_bytes_free */
    kg_mpc_node_wr_u16(w, phase);
    kg_mpc_node_wr_blob(w, (const uint8_t *)key, strlen(key));
    kg_mpc_node_wr_u16(w, 2);
    kg_mpc_node_wr_u16(w, NN);
    for (int i = 0; i < NN; i++) kg_mpc_node_wr_u16(w, (uint16_t)(i + 1));
    for (int i = 0; i < NN; i++) {
        kg_mpc_node_wr_fixed(w, nd[i].env_pub.box, 32);
        kg_mpc_node_wr_fixed(w, nd[i].env_pub.sign, 32);
    }
    kg_mpc_node_wr_u16(w, (uint16_t)ns);
    for (size_t i = 0; i < ns; i++) kg_mpc_node_wr_u16(w, signers[i]);
    wr_u32(w, epoch);
    assert_int_equal(kg_mpc_node_wr_done(w), KG_OK);
}

/* What the coordinator relays: envelopes per receiving node. */
typedef struct {
    kg_mpc_node_wr box[NN];
    unsigned cnt[NN];
} inboxes;

static void inboxes_free(inboxes *x)
{
    for (int i = 0; i < NN; i++) kg_bytes_free(&x->box[i].b);
    memset(x, 0, sizeof *x);
}

/* Route node `from`'s list of envelopes (rd positioned at the list). */
static void route(inboxes *x, kg_mpc_node_rd *rd, int from, const bool *part)
{
    unsigned cnt = kg_mpc_node_rd_u16(rd);
    for (unsigned j = 0; j < cnt; j++) {
        size_t len = 0;
        const uint8_t *p = kg_mpc_node_rd_blob(rd, &len, 1 << 20);
        kg_mpc_net_envelope e;
        assert_non_null(p);
        assert_int_equal(kg_mpc_net_envelope_decode(&e, p, len), KG_OK);
        assert_int_equal(e.h.sender, from + 1);
        for (int r = 0; r < NN; r++) {
            if (r == from || !part[r] || (e.h.receiver && e.h.receiver != r + 1)) continue;
            kg_mpc_node_wr_blob(&x->box[r], p, len);
            x->cnt[r]++;
        }
    }
}

static void round_body(kg_mpc_node_wr *w, uint16_t round, const inboxes *x, int i)
{
    kg_mpc_node_wr_u16(w, round);
    kg_mpc_node_wr_u16(w, (uint16_t)x->cnt[i]);
    if (x->box[i].b.len) kg_mpc_node_wr_fixed(w, x->box[i].b.data, x->box[i].b.len);
    assert_int_equal(kg_mpc_node_wr_done(w), KG_OK);
}

/* The size of a finish result before its confirmation blob. */
static size_t result_len(uint16_t phase)
{
    switch (phase) {
    case KG_MPC_ND_CG_KEYGEN: return 2 + PL + 32 + NN * PL;
    case KG_MPC_ND_CG_AUX: return 2 + 64;
    case KG_MPC_ND_CG_REFRESH: return 2 + 64 + NN * PL;
    default: return 2 + 32 + PL;
    }
}

typedef struct {
    uint8_t sess[32];
    bool part[NN];
    kg_bytes result[NN];
    kg_bytes conf[NN];
} phase_run;

static void phase_free(phase_run *r)
{
    for (int i = 0; i < NN; i++) kg_bytes_free(&r->result[i]), kg_bytes_free(&r->conf[i]);
}

/* START and rounds 2..4 of a phase on the participants; results and
 * confirmations kept in r (no CONFIRM yet). bad_round: before that round,
 * send node 0 a truncated body first (refused, nothing changes). */
static void phase_rounds(phase_run *r, uint16_t phase, const char *key, const uint16_t *signers, size_t ns,
                         uint32_t epoch, uint16_t bad_round)
{
    kg_mpc_node_wr w = {0};
    inboxes x;
    memset(&x, 0, sizeof x);
    assert_int_equal(kg_crypto_random(r->sess, 32), KG_OK);
    start_body(&w, phase, key, signers, ns, epoch);
    for (int i = 0; i < NN; i++) {
        if (!r->part[i]) continue;
        kg_bytes resp = {0};
        assert_int_equal(call(&resp, i, KG_MPC_NODE_CGGMP_START, r->sess, w.b.data, w.b.len), KG_OK);
        kg_mpc_node_rd rd;
        kg_mpc_node_rd_init(&rd, resp.data, resp.len);
        route(&x, &rd, i, r->part);
        assert_int_equal(kg_mpc_node_rd_end(&rd, "start"), KG_OK);
        kg_bytes_free(&resp);
    }
    kg_bytes_free(&w.b);
    for (uint16_t round = 2; round <= 4; round++) {
        inboxes nx;
        memset(&nx, 0, sizeof nx);
        for (int i = 0; i < NN; i++) {
            if (!r->part[i]) continue;
            kg_bytes resp = {0};
            kg_mpc_node_wr rw = {0};
            round_body(&rw, round, &x, i);
            if (round == bad_round && i == 0) {
                assert_int_equal(call(NULL, i, KG_MPC_NODE_CGGMP_ROUND, r->sess, rw.b.data, rw.b.len - 1),
                                 KG_ERR_BAD_INPUT);
                uint8_t wrong[4] = {0, 9, 0, 0}; /* a round that is not next */
                assert_int_equal(call(NULL, i, KG_MPC_NODE_CGGMP_ROUND, r->sess, wrong, 4), KG_ERR_BAD_INPUT);
            }
            assert_int_equal(call(&resp, i, KG_MPC_NODE_CGGMP_ROUND, r->sess, rw.b.data, rw.b.len), KG_OK);
            kg_bytes_free(&rw.b);
            kg_mpc_node_rd rd;
            kg_mpc_node_rd_init(&rd, resp.data, resp.len);
            if (round < 4) route(&nx, &rd, i, r->part);
            else {
                size_t rl = result_len(phase), cl = 0;
                const uint8_t *res = kg_mpc_node_rd_fixed(&rd, rl), *c = kg_mpc_node_rd_blob(&rd, &cl, 1 << 20);
                assert_non_null(res);
                assert_non_null(c);
                assert_int_equal(res[0] << 8 | res[1], phase);
                assert_int_equal(kg_bytes_set(&r->result[i], res, rl), KG_OK);
                assert_int_equal(kg_bytes_set(&r->conf[i], c, cl), KG_OK);
            }
            assert_int_equal(kg_mpc_node_rd_end(&rd, "round"), KG_OK);
            kg_bytes_free(&resp);
        }
        inboxes_free(&x);
        x = nx;
    }
    inboxes_free(&x);
}

static void confirm_body(kg_mpc_node_wr *w, const phase_run *r)
{
    unsigned n = 0;
    for (int i = 0; i < NN; i++) n += r->part[i];
    kg_mpc_node_wr_u16(w, (uint16_t)n);
    for (int i = 0; i < NN; i++)
        if (r->part[i]) kg_mpc_node_wr_blob(w, r->conf[i].data, r->conf[i].len);
    assert_int_equal(kg_mpc_node_wr_done(w), KG_OK);
}

static void run_phase(phase_run *r, uint16_t phase, const uint16_t *signers, size_t ns, uint32_t epoch,
                      uint16_t bad_round)
{
    kg_mpc_node_wr w = {0};
    phase_rounds(r, phase, KEY, signers, ns, epoch, bad_round);
    confirm_body(&w, r);
    for (int i = 0; i < NN; i++) {
        if (!r->part[i]) continue;
        assert_int_equal(call(NULL, i, KG_MPC_NODE_CGGMP_CONFIRM, r->sess, w.b.data, w.b.len), KG_OK);
        assert_memory_equal(r->result[i].data, r->result[0].data, r->result[0].len); /* everyone agrees */
    }
    kg_bytes_free(&w.b);
}

/* INFO of node i: epoch, has aux, number of unused presignatures. */
static void info(int i, uint32_t *epoch, bool *has_aux, unsigned *unused)
{
    kg_mpc_node_wr w = {0};
    kg_bytes resp = {0};
    uint8_t s[32] = {7};
    kg_mpc_node_wr_blob(&w, (const uint8_t *)KEY, strlen(KEY));
    assert_int_equal(kg_mpc_node_wr_done(&w), KG_OK);
    assert_int_equal(call(&resp, i, KG_MPC_NODE_CGGMP_INFO, s, w.b.data, w.b.len), KG_OK);
    assert_true(resp.len >= 4 + 1 + 64 + 2);
    *epoch = (uint32_t)resp.data[0] << 24 | (uint32_t)resp.data[1] << 16 | (uint32_t)resp.data[2] << 8 | resp.data[3];
    *has_aux = resp.data[4] == 1;
    *unused = (unsigned)(resp.data[69] << 8 | resp.data[70]);
    size_t list_end = 71 + *unused * (32 + 2 + 2 * 2); /* 2 signers each */
    /* then the tail: u16 count (= unused) and each presignature's R (33 bytes) */
    assert_int_equal(resp.len, list_end + 2 + *unused * 33);
    assert_int_equal(resp.data[list_end] << 8 | resp.data[list_end + 1], *unused);
    kg_bytes_free(&w.b);
    kg_bytes_free(&resp);
}

/* ------------------------------------------------------------------ tests */

static void test_start_malformed(void **state)
{
    (void)state;
    kg_mpc_node_wr w = {0};
    uint8_t sess[32] = {1, 2, 3};
    start_body(&w, KG_MPC_ND_CG_KEYGEN, KEY, NULL, 0, 0);
    for (size_t cut = 0; cut < w.b.len; cut += 7) /* every truncation is refused, no session is left */
        assert_int_equal(call(NULL, 0, KG_MPC_NODE_CGGMP_START, sess, w.b.data, cut), KG_ERR_BAD_INPUT);
    w.b.data[1] = 9; /* unknown phase */
    assert_int_equal(call(NULL, 0, KG_MPC_NODE_CGGMP_START, sess, w.b.data, w.b.len), KG_ERR_BAD_INPUT);
    kg_bytes_free(&w.b);
    start_body(&w, KG_MPC_ND_CG_KEYGEN, KEY, NULL, 0, 7); /* keygen at epoch 7 */
    assert_int_equal(call(NULL, 0, KG_MPC_NODE_CGGMP_START, sess, w.b.data, w.b.len), KG_ERR_BAD_INPUT);
    kg_bytes_free(&w.b);
    start_body(&w, KG_MPC_ND_CG_PRESIGN, KEY, (uint16_t[]){1, 2}, 2, 0); /* no key yet */
    assert_int_equal(call(NULL, 0, KG_MPC_NODE_CGGMP_START, sess, w.b.data, w.b.len), KG_ERR_NOT_FOUND);
    kg_bytes_free(&w.b);
    assert_null(kg_mpc_nd_session_find(&nd[0], sess));
    /* ABORT of an unknown session is fine; with a body it is not */
    assert_int_equal(call(NULL, 0, KG_MPC_NODE_CGGMP_ABORT, sess, NULL, 0), KG_OK);
    assert_int_equal(call(NULL, 0, KG_MPC_NODE_CGGMP_ABORT, sess, sess, 1), KG_ERR_BAD_INPUT);
    /* ROUND and CONFIRM without a session */
    uint8_t rb[4] = {0, 2, 0, 0};
    assert_int_equal(call(NULL, 0, KG_MPC_NODE_CGGMP_ROUND, sess, rb, 4), KG_ERR_NOT_FOUND);
}

static void test_keygen_aux(void **state)
{
    (void)state;
    phase_run r;
    memset(&r, 0, sizeof r);
    r.part[0] = r.part[1] = r.part[2] = true;
    run_phase(&r, KG_MPC_ND_CG_KEYGEN, NULL, 0, 0, 3);
    kg_mpc_node_rd rd;
    kg_mpc_node_rd_init(&rd, r.result[0].data + 2, PL);
    assert_int_equal(kg_mpc_point_read(&rd, GRP, &group_pub, "pub"), KG_OK);
    for (int i = 0; i < NN; i++) {
        kg_mpc_cggmp_share sh;
        assert_int_equal(kg_mpc_nd_cg_share_load(&nd[i], KEY, &sh), KG_OK);
        assert_int_equal(sh.epoch, 0);
        assert_int_equal(sh.id, i + 1);
        assert_true(kg_mpc_point_eq(GRP, &sh.pub, &group_pub));
        assert_int_equal(kg_mpc_cggmp_share_check(&sh), KG_OK);
        kg_wipe(&sh, sizeof sh);
    }
    /* keygen again under the same key id: refused, nothing changes */
    phase_run r2;
    memset(&r2, 0, sizeof r2);
    kg_mpc_node_wr w = {0};
    start_body(&w, KG_MPC_ND_CG_KEYGEN, KEY, NULL, 0, 0);
    assert_int_equal(call(NULL, 1, KG_MPC_NODE_CGGMP_START, r2.sess, w.b.data, w.b.len), KG_ERR_CONFLICT);
    kg_bytes_free(&w.b);
    phase_free(&r);

    memset(&r, 0, sizeof r);
    r.part[0] = r.part[1] = r.part[2] = true;
    run_phase(&r, KG_MPC_ND_CG_AUX, NULL, 0, 0, 2);
    for (int i = 0; i < NN; i++) {
        uint32_t e;
        bool has;
        unsigned u;
        info(i, &e, &has, &u);
        assert_int_equal(e, 0);
        assert_true(has);
        assert_int_equal(u, 0);
    }
    phase_free(&r);
}

/* σ_i of node i from presignature id for path m/0/5. */
static kg_err sign_call(kg_bytes *out, int i, const uint8_t id[32], const uint8_t digest[32], bool hardened,
                        size_t cut)
{
    kg_mpc_node_wr w = {0};
    uint8_t s[32] = {9};
    kg_mpc_node_wr_blob(&w, (const uint8_t *)KEY, strlen(KEY));
    kg_mpc_node_wr_fixed(&w, id, 32);
    kg_mpc_node_wr_fixed(&w, digest, 32);
    kg_mpc_node_wr_u16(&w, 2);
    wr_u32(&w, 0);
    wr_u32(&w, hardened ? 0x80000005u : 5);
    assert_int_equal(kg_mpc_node_wr_done(&w), KG_OK);
    kg_err err = call(out, i, KG_MPC_NODE_CGGMP_SIGN, s, w.b.data, w.b.len - cut);
    kg_bytes_free(&w.b);
    return err;
}

static void reopen(int i)
{
    kg_store_close(nd[i].st);
    assert_int_equal(kg_store_open(&nd[i].st, dbp[i]), KG_OK);
}

static void test_presign_sign(void **state)
{
    (void)state;
    const uint16_t signers[2] = {1, 3};
    phase_run r;
    memset(&r, 0, sizeof r);
    r.part[0] = r.part[2] = true;
    run_phase(&r, KG_MPC_ND_CG_PRESIGN, signers, 2, 0, 4);
    memcpy(presig_id, r.result[0].data + 2, 32);
    assert_memory_equal(r.result[2].data + 2, presig_id, 32);
    phase_free(&r);
    uint32_t e;
    bool has;
    unsigned u;
    info(0, &e, &has, &u);
    assert_int_equal(u, 1);

    uint8_t digest[32];
    kg_crypto_sha256(digest, (const uint8_t *)"pay 1 BTC", 9);
    /* malformed requests burn nothing */
    assert_int_equal(sign_call(NULL, 0, presig_id, digest, false, 1), KG_ERR_BAD_INPUT);
    assert_int_equal(sign_call(NULL, 0, presig_id, digest, true, 0), KG_ERR_BAD_INPUT);
    uint8_t other[32] = {1};
    assert_int_equal(sign_call(NULL, 0, other, digest, false, 0), KG_ERR_NOT_FOUND);
    info(0, &e, &has, &u);
    assert_int_equal(u, 1);

    kg_mpc_scalar sig_i[2];
    kg_mpc_point child[2];
    int nodes[2] = {0, 2};
    for (int k = 0; k < 2; k++) {
        kg_bytes resp = {0};
        assert_int_equal(sign_call(&resp, nodes[k], presig_id, digest, false, 0), KG_OK);
        assert_int_equal(resp.len, 32 + PL);
        memcpy(sig_i[k].b, resp.data, 32);
        kg_mpc_node_rd rd;
        kg_mpc_node_rd_init(&rd, resp.data + 32, PL);
        assert_int_equal(kg_mpc_point_read(&rd, GRP, &child[k], "child"), KG_OK);
        kg_bytes_free(&resp);
    }
    assert_true(kg_mpc_point_eq(GRP, &child[0], &child[1]));
    assert_false(kg_mpc_point_eq(GRP, &child[0], &group_pub));
    /* the child key is the BIP32 child of the group key */
    kg_mpc_cggmp_share sh;
    kg_mpc_scalar tw;
    kg_mpc_point cp;
    uint8_t cc[32];
    assert_int_equal(kg_mpc_nd_cg_share_load(&nd[1], KEY, &sh), KG_OK);
    assert_int_equal(kg_mpc_cggmp_hd_derive(GRP, &sh.pub, sh.chain_code, (uint32_t[]){0, 5}, 2, &tw, &cp, cc), KG_OK);
    kg_wipe(&sh, sizeof sh);
    assert_true(kg_mpc_point_eq(GRP, &cp, &child[0]));

    /* combine: R from the presignature (node 0 keeps it) */
    kg_mpc_cggmp_presig *ps = NULL;
    kg_mpc_nd_cg_presig_meta meta;
    assert_int_equal(kg_mpc_nd_cg_presig_load(&nd[0], KEY, presig_id, &ps, &meta), KG_OK);
    assert_true(meta.used);
    uint8_t sig[64];
    int recid = 0;
    assert_int_equal(kg_mpc_cggmp_sign_combine(GRP, kg_mpc_cggmp_presig_R(ps), &child[0], digest, sig_i, 2, sig, &recid),
                     KG_OK);
    kg_mpc_cggmp_presig_free(ps);
    secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_VERIFY);
    secp256k1_ecdsa_signature s;
    secp256k1_pubkey pk;
    assert_int_equal(secp256k1_ecdsa_signature_parse_compact(ctx, &s, sig), 1);
    assert_int_equal(secp256k1_ec_pubkey_parse(ctx, &pk, child[0].b, PL), 1);
    assert_int_equal(secp256k1_ecdsa_verify(ctx, &s, digest, &pk), 1);
    digest[0] ^= 1;
    assert_int_equal(secp256k1_ecdsa_verify(ctx, &s, digest, &pk), 0);
    secp256k1_context_destroy(ctx);

    /* single use: again (another digest), and after reopening the store */
    assert_int_equal(sign_call(NULL, 0, presig_id, digest, false, 0), KG_ERR_CONFLICT);
    reopen(0);
    assert_int_equal(sign_call(NULL, 0, presig_id, digest, false, 0), KG_ERR_CONFLICT);
    info(0, &e, &has, &u);
    assert_int_equal(u, 0);
}

/* BLAME kind 2 for the used presignature: only for what it signed. */
static void test_blame_sigma(void **state)
{
    (void)state;
    uint8_t digest[32], s[32] = {5};
    kg_crypto_sha256(digest, (const uint8_t *)"pay 1 BTC", 9);
    for (int k = 0; k < 2; k++) {
        kg_mpc_node_wr w = {0};
        kg_bytes resp = {0};
        kg_mpc_node_wr_u16(&w, 2);
        kg_mpc_node_wr_blob(&w, (const uint8_t *)KEY, strlen(KEY));
        kg_mpc_node_wr_fixed(&w, presig_id, 32);
        kg_mpc_node_wr_fixed(&w, digest, 32);
        kg_mpc_node_wr_u16(&w, 2);
        wr_u32(&w, 0);
        wr_u32(&w, 5);
        kg_mpc_node_wr_u16(&w, 2);
        kg_mpc_node_wr_u16(&w, 1);
        kg_mpc_node_wr_u16(&w, 3);
        assert_int_equal(kg_mpc_node_wr_done(&w), KG_OK);
        kg_err err = call(&resp, 0, KG_MPC_NODE_CGGMP_BLAME, s, w.b.data, w.b.len);
        if (k == 0) {
            assert_int_equal(err, KG_OK);
            kg_mpc_node_rd rd;
            size_t bl = 0;
            kg_mpc_node_rd_init(&rd, resp.data, resp.len);
            const uint8_t *b = kg_mpc_node_rd_blob(&rd, &bl, 1 << 20);
            assert_non_null(b);
            kg_mpc_cggmp_blame_sigma bs;
            memset(&bs, 0, sizeof bs);
            kg_mpc_node_rd_init(&rd, b, bl);
            assert_int_equal(kg_mpc_cggmp_blame_sigma_read(&rd, GRP, &bs), KG_OK);
            assert_int_equal(bs.n_ver, 2);
            kg_mpc_cggmp_blame_sigma_clear(&bs);
        } else {
            assert_int_equal(err, KG_ERR_CONFLICT); /* another digest: no proof (it would need another σ) */
        }
        digest[0] ^= 1;
        kg_bytes_free(&w.b);
        kg_bytes_free(&resp);
    }
}

/* BLAME kind 1 of node 1 in presign session sess (signers {1, 2}), checked
 * by node 2 from its own presign state: the proof of δ_1 verifies. */
static void blame_delta_check(const uint8_t *sess)
{
    kg_mpc_node_wr w = {0};
    kg_bytes resp = {0};
    kg_mpc_node_wr_u16(&w, 1);
    kg_mpc_node_wr_u16(&w, 2);
    kg_mpc_node_wr_u16(&w, 1);
    kg_mpc_node_wr_u16(&w, 2);
    assert_int_equal(kg_mpc_node_wr_done(&w), KG_OK);
    assert_int_equal(call(&resp, 0, KG_MPC_NODE_CGGMP_BLAME, sess, w.b.data, w.b.len), KG_OK);
    kg_mpc_node_rd rd;
    size_t bl = 0;
    kg_mpc_node_rd_init(&rd, resp.data, resp.len);
    const uint8_t *b = kg_mpc_node_rd_blob(&rd, &bl, 1 << 20);
    assert_non_null(b);
    kg_mpc_cggmp_blame_delta bd;
    memset(&bd, 0, sizeof bd);
    kg_mpc_node_rd_init(&rd, b, bl);
    assert_int_equal(kg_mpc_cggmp_blame_delta_read(&rd, &bd), KG_OK);
    const kg_mpc_nd_session *s2 = kg_mpc_nd_session_find(&nd[1], sess);
    const kg_mpc_cggmp_aux *aux2 = kg_mpc_nd_cggmp_aux_of(s2);
    kg_mpc_cggmp_blame_inputs bi;
    assert_non_null(aux2);
    assert_int_equal(kg_mpc_cggmp_presign_blame_inputs(kg_mpc_nd_cggmp_presign_of(s2), &bi), KG_OK);
    const BIGNUM *Din[1] = {bi.D[0 * 2 + 1]}, *Fout[1] = {bi.F[1 * 2 + 0]};
    kg_mpc_zk_ctx ctx = {.group = GRP, .sid = bi.sid, .sid_len = 64, .prover = 1};
    assert_int_equal(kg_mpc_cggmp_blame_delta_verify(&bd, &ctx, &aux2->rp[1], 1, &aux2->pk[0], bi.K[0], bi.G[0], Din,
                                                     Fout, 1, &bi.delta[0]),
                     KG_OK);
    /* the proof for verifier 2 under other ring-Pedersen parameters, or for another δ: refused */
    assert_int_not_equal(kg_mpc_cggmp_blame_delta_verify(&bd, &ctx, &aux2->rp[0], 1, &aux2->pk[0], bi.K[0], bi.G[0],
                                                         Din, Fout, 1, &bi.delta[0]),
                         KG_OK);
    assert_int_not_equal(kg_mpc_cggmp_blame_delta_verify(&bd, &ctx, &aux2->rp[1], 1, &aux2->pk[0], bi.K[0], bi.G[0],
                                                         Din, Fout, 1, &bi.delta[1]),
                         KG_OK);
    kg_mpc_cggmp_blame_delta_clear(&bd);
    kg_bytes_free(&w.b);
    kg_bytes_free(&resp);
}

static void test_confirm_wrong_digest(void **state)
{
    (void)state;
    const uint16_t signers[2] = {1, 2};
    phase_run r;
    memset(&r, 0, sizeof r);
    r.part[0] = r.part[1] = true;
    phase_rounds(&r, KG_MPC_ND_CG_PRESIGN, KEY, signers, 2, 0, 0);
    blame_delta_check(r.sess);
    /* party 2 signs another digest: a valid signature, a different transcript */
    kg_mpc_net_envelope e;
    const uint8_t *pl = NULL;
    size_t pl_len = 0;
    uint8_t d[32];
    assert_int_equal(kg_mpc_net_envelope_decode(&e, r.conf[1].data, r.conf[1].len), KG_OK);
    assert_int_equal(kg_mpc_net_envelope_verify(&pl, &pl_len, &e, nd[1].env_pub.sign), KG_OK);
    assert_int_equal(pl_len, 32);
    memcpy(d, pl, 32);
    d[0] ^= 1;
    kg_mpc_net_header h = e.h;
    kg_bytes forged = {0};
    assert_int_equal(kg_mpc_net_envelope_sign(&forged, &h, nd[1].env, d, 32), KG_OK);
    kg_bytes_free(&r.conf[1]);
    r.conf[1] = forged;
    kg_mpc_node_wr w = {0};
    confirm_body(&w, &r);
    /* a truncated request first: refused, the session still waits */
    assert_int_equal(call(NULL, 0, KG_MPC_NODE_CGGMP_CONFIRM, r.sess, w.b.data, w.b.len - 1), KG_ERR_BAD_INPUT);
    assert_non_null(kg_mpc_nd_session_find(&nd[0], r.sess));
    kg_err err = call(NULL, 0, KG_MPC_NODE_CGGMP_CONFIRM, r.sess, w.b.data, w.b.len);
    assert_int_equal(err, KG_ERR_CONFLICT);
    assert_non_null(strstr(kg_err_detail(err), "party 2 "));
    assert_null(kg_mpc_nd_session_find(&nd[0], r.sess)); /* the phase ended here, pending result wiped */
    uint32_t ep;
    bool has;
    unsigned u;
    info(0, &ep, &has, &u);
    assert_int_equal(u, 0); /* nothing stored */
    assert_int_equal(call(NULL, 1, KG_MPC_NODE_CGGMP_ABORT, r.sess, NULL, 0), KG_OK);
    assert_null(kg_mpc_nd_session_find(&nd[1], r.sess));
    kg_bytes_free(&w.b);
    phase_free(&r);
}

static void test_session_expiry(void **state)
{
    (void)state;
    kg_mpc_node_wr w = {0};
    uint8_t sess[32] = {0x55};
    start_body(&w, KG_MPC_ND_CG_PRESIGN, KEY, (uint16_t[]){1, 3}, 2, 0);
    assert_int_equal(call(NULL, 0, KG_MPC_NODE_CGGMP_START, sess, w.b.data, w.b.len), KG_OK);
    kg_mpc_nd_session *s = kg_mpc_nd_session_find(&nd[0], sess);
    assert_non_null(s);
    s->created -= KG_MPC_ND_SESSION_TTL_S + 1;
    uint8_t rb[4] = {0, 2, 0, 0};
    assert_int_equal(call(NULL, 0, KG_MPC_NODE_CGGMP_ROUND, sess, rb, 4), KG_ERR_NOT_FOUND);
    assert_null(kg_mpc_nd_session_find(&nd[0], sess));
    /* a presign for another epoch names the epochs */
    kg_bytes_free(&w.b);
    start_body(&w, KG_MPC_ND_CG_PRESIGN, KEY, (uint16_t[]){1, 3}, 2, 4);
    kg_err err = call(NULL, 0, KG_MPC_NODE_CGGMP_START, sess, w.b.data, w.b.len);
    assert_int_equal(err, KG_ERR_CONFLICT);
    assert_non_null(strstr(kg_err_detail(err), "epoch 0"));
    kg_bytes_free(&w.b);
}

/* A presignature activated in a session the coordinator aborts is deleted
 * again; a refresh moves every node to epoch 1 with the same group key
 * and new shares, and deletes the presignatures of epoch 0. */
static void test_abort_refresh(void **state)
{
    (void)state;
    const uint16_t signers[2] = {2, 3};
    phase_run r;
    uint32_t ep;
    bool has;
    unsigned u;
    memset(&r, 0, sizeof r);
    r.part[1] = r.part[2] = true;
    run_phase(&r, KG_MPC_ND_CG_PRESIGN, signers, 2, 0, 0);
    info(1, &ep, &has, &u);
    assert_int_equal(u, 1);
    assert_int_equal(call(NULL, 1, KG_MPC_NODE_CGGMP_ABORT, r.sess, NULL, 0), KG_OK);
    info(1, &ep, &has, &u);
    assert_int_equal(u, 0);
    info(2, &ep, &has, &u);
    assert_int_equal(u, 1); /* node 3 was not told: it keeps its (now useless) one until the refresh */
    phase_free(&r);

    kg_mpc_cggmp_share before, after;
    assert_int_equal(kg_mpc_nd_cg_share_load(&nd[0], KEY, &before), KG_OK);
    memset(&r, 0, sizeof r);
    r.part[0] = r.part[1] = r.part[2] = true;
    run_phase(&r, KG_MPC_ND_CG_REFRESH, NULL, 0, 0, 0);
    for (int i = 0; i < NN; i++) {
        info(i, &ep, &has, &u);
        assert_int_equal(ep, 1);
        assert_true(has);
        assert_int_equal(u, 0);
    }
    assert_int_equal(kg_mpc_nd_cg_share_load(&nd[0], KEY, &after), KG_OK);
    assert_true(kg_mpc_point_eq(GRP, &after.pub, &group_pub));
    assert_memory_not_equal(after.x.b, before.x.b, sizeof before.x.b);
    assert_int_equal(kg_mpc_cggmp_share_check(&after), KG_OK);
    kg_wipe(&before, sizeof before);
    kg_wipe(&after, sizeof after);
    phase_free(&r);
}

/* Decoders: round trip and refusal. */
static void test_decoders(void **state)
{
    (void)state;
    kg_mpc_nd_cg_sign_req q;
    kg_mpc_node_wr w = {0};
    kg_mpc_node_wr_blob(&w, (const uint8_t *)"k", 1);
    uint8_t z[64] = {3};
    kg_mpc_node_wr_fixed(&w, z, 64);
    kg_mpc_node_wr_u16(&w, 1);
    wr_u32(&w, 7);
    assert_int_equal(kg_mpc_node_wr_done(&w), KG_OK);
    assert_int_equal(kg_mpc_nd_cg_sign_read(&q, w.b.data, w.b.len), KG_OK);
    assert_int_equal(q.depth, 1);
    assert_int_equal(q.path[0], 7);
    assert_string_equal(q.key_id, "k");
    for (size_t cut = 0; cut < w.b.len; cut++) {
        assert_int_equal(kg_mpc_nd_cg_sign_read(&q, w.b.data, cut), KG_ERR_BAD_INPUT);
        assert_int_equal(q.depth, 0);
    }
    kg_bytes_free(&w.b);
    kg_mpc_nd_cg_start_req sq;
    start_body(&w, KG_MPC_ND_CG_PRESIGN, "k", (uint16_t[]){2, 1}, 2, 0); /* signers not ascending */
    assert_int_equal(kg_mpc_nd_cg_start_read(&sq, w.b.data, w.b.len), KG_ERR_BAD_INPUT);
    assert_int_equal(sq.phase, 0);
    kg_bytes_free(&w.b);
    start_body(&w, KG_MPC_ND_CG_PRESIGN, "k", (uint16_t[]){1}, 1, 0); /* fewer than t */
    assert_int_equal(kg_mpc_nd_cg_start_read(&sq, w.b.data, w.b.len), KG_ERR_BAD_INPUT);
    kg_bytes_free(&w.b);
    start_body(&w, KG_MPC_ND_CG_AUX, "k", NULL, 0, 3);
    assert_int_equal(kg_mpc_nd_cg_start_read(&sq, w.b.data, w.b.len), KG_OK);
    assert_int_equal(sq.n, 3);
    assert_int_equal(sq.epoch, 3);
    kg_bytes_free(&w.b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decoders),
        cmocka_unit_test(test_start_malformed),
        cmocka_unit_test(test_keygen_aux),
        cmocka_unit_test(test_presign_sign),
        cmocka_unit_test(test_blame_sigma),
        cmocka_unit_test(test_confirm_wrong_digest),
        cmocka_unit_test(test_session_expiry),
        cmocka_unit_test(test_abort_refresh),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
