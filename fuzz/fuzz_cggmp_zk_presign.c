/* libFuzzer target for the readers of the four CGGMP21 range proofs
 * (cggmp_zk.h: Πenc, Πaff-g, Πlog*, Πmul*), which parse what other
 * parties send in presigning and in the signing-phase identification.
 * The first byte picks the proof (bits 0-1) and the group (bit 2:
 * secp256k1 or P-256); the rest is the encoding.
 *
 * Whatever the bytes: no crash, no leak, no read past the input. A refused
 * encoding leaves the struct empty; an accepted one writes back to exactly
 * the bytes it consumed (the encoding is canonical), and its verification
 * against a fixed statement (2048-bit moduli from public fixture primes,
 * small constant ciphertexts, the generator as X) returns without crashing. */
#include <stdlib.h>
#include <string.h>

#include "../src/mpc/cggmp_zk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Safe primes of tests/mpc/fixtures/safe_primes_1024.txt, lines 1-4. */
static const char *const primes[4] = {
    "C0FF9FE3079626B2A62D94BE3DA42625464EC7424687B967E138D1690CBDE0A5906EC8EEB31FDEC45F695B56BED2682030D63F72F03FAF16916E413023117BC9B1E4321E3097F538C6B19673819D9724D6CDE3F6E84286D2E479AD06DB521A9E2434122AF758E6EE8A5CB438DB07FEC4B52C8037325ECBC40BCA121606693EAF",
    "E340714CE0300AD75EA3B259B988D9DB22A98233702C105182D0D2BDC7EAB070ABE2EB173903875780D6B1BA224732B5F938C6C8AB6D4F0EA20A01149919CBAAECE5A21BD3B69F80C67FA2B5F4E9E1C4956B3CEFC99AA6C6D0A71EEFBB5F904CB83FD634D5E5817250049D2A9A70C5A931C0F58A197D0372CEBB0DEF7EBAE457",
    "CBACE647E45275ED7354BA3D31CB1BD2DCDBE509B683DEC0951FB441F12300CABCA1F35EA243DBA41353C48CCE8B50A019FE7BF71D1BE1CB746E324E9A800FBCF3F5F704F270314D2EFDD1593A1B42898AE52B9D8D7FD9E51D3EA73BDDD145670557ED7A143C54391D8F752D97382AAA293D936910B0E4F18F1A0B09E32F8B47",
    "E2D68B47728631C7918CB161C7004FBE8C1C26B2CC71FE5C0FCD3FE13EB3A554685951C825DA6DC1BE31D2CE8928007B5E33AF275427BD475521A92F90A5ECC885C1FA7007940793DF9A46534AAA732AB4B8B3250B6C80182EE8FD4EBEC0020F30B670BC12A4D2C81F5EC96C72EEC7A967F19FA6B793675CCF4B9C824E090ECB",
};

static struct {
    kg_mpc_paillier_pk n0, n1;
    kg_mpc_rped aux;
    BIGNUM *C, *D, *Y;
    kg_mpc_point X[2];
} fx;

static const kg_mpc_group_id groups[2] = {KG_MPC_GROUP_SECP256K1, KG_MPC_GROUP_P256};

static BIGNUM *modulus(const char *p_hex, const char *q_hex)
{
    BIGNUM *p = NULL, *q = NULL, *n = BN_new();
    BN_CTX *bc = BN_CTX_new();
    if (!n || !bc || !BN_hex2bn(&p, p_hex) || !BN_hex2bn(&q, q_hex) || !BN_mul(n, p, q, bc)) abort();
    BN_free(p);
    BN_free(q);
    BN_CTX_free(bc);
    return n;
}

static void fixture(void)
{
    static bool done;
    if (done) return;
    BIGNUM *n0 = modulus(primes[0], primes[1]), *n1 = modulus(primes[2], primes[3]);
    BIGNUM *s = BN_new(), *t = BN_new();
    if (!s || !t || !BN_set_word(s, 4) || !BN_set_word(t, 9)) abort();
    if (kg_mpc_paillier_pk_set(&fx.n0, n0) || kg_mpc_paillier_pk_set(&fx.n1, n1) ||
        kg_mpc_rped_set(&fx.aux, n0, s, t))
        abort();
    fx.C = BN_new();
    fx.D = BN_new();
    fx.Y = BN_new();
    if (!fx.C || !fx.D || !fx.Y || !BN_set_word(fx.C, 2) || !BN_set_word(fx.D, 3) || !BN_set_word(fx.Y, 5)) abort();
    for (int i = 0; i < 2; i++) {
        kg_mpc_scalar one;
        kg_mpc_scalar_from_u64(groups[i], &one, 1);
        kg_mpc_point_base_mul(groups[i], &fx.X[i], &one);
    }
    BN_free(n0);
    BN_free(n1);
    BN_free(s);
    BN_free(t);
    done = true;
}

/* The encoding written back must be the bytes consumed. */
static void same_bytes(kg_mpc_node_wr *w, const uint8_t *in, size_t consumed)
{
    if (kg_mpc_node_wr_done(w)) abort();
    if (w->b.len != consumed || memcmp(w->b.data, in, consumed)) abort();
    kg_bytes_free(&w->b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    fixture();
    unsigned which = data[0] & 3;
    int gi = (data[0] >> 2) & 1;
    kg_mpc_group_id g = groups[gi];
    kg_mpc_zk_ctx ctx = {.group = g, .sid = (const uint8_t *)"fuzz", .sid_len = 4, .prover = 1};
    kg_mpc_node_rd r;
    kg_mpc_node_rd_init(&r, data + 1, size - 1);
    kg_mpc_node_wr w = {0};
    kg_err err;
    if (which == 0) {
        kg_mpc_zk_enc pf;
        if (kg_mpc_zk_enc_read(&r, &pf)) {
            if (pf.S || pf.z3) abort();
            return 0;
        }
        kg_mpc_zk_enc_write(&w, &pf);
        same_bytes(&w, data + 1, size - 1 - r.left);
        err = kg_mpc_zk_enc_verify(&pf, &ctx, &fx.aux, &fx.n0, fx.C);
        kg_mpc_zk_enc_clear(&pf);
    } else if (which == 1) {
        kg_mpc_zk_affg pf;
        if (kg_mpc_zk_affg_read(&r, g, &pf)) {
            if (pf.A || pf.wy) abort();
            return 0;
        }
        kg_mpc_zk_affg_write(&w, g, &pf);
        same_bytes(&w, data + 1, size - 1 - r.left);
        err = kg_mpc_zk_affg_verify(&pf, &ctx, &fx.aux, &fx.n0, &fx.n1, fx.C, fx.D, fx.Y, &fx.X[gi]);
        kg_mpc_zk_affg_clear(&pf);
    } else if (which == 2) {
        kg_mpc_zk_logstar pf;
        if (kg_mpc_zk_logstar_read(&r, g, &pf)) {
            if (pf.S || pf.z3) abort();
            return 0;
        }
        kg_mpc_zk_logstar_write(&w, g, &pf);
        same_bytes(&w, data + 1, size - 1 - r.left);
        err = kg_mpc_zk_logstar_verify(&pf, &ctx, &fx.aux, &fx.n0, fx.C, &fx.X[gi], NULL);
        kg_mpc_zk_logstar_clear(&pf);
    } else {
        kg_mpc_zk_mulstar pf;
        if (kg_mpc_zk_mulstar_read(&r, g, &pf)) {
            if (pf.A || pf.w) abort();
            return 0;
        }
        kg_mpc_zk_mulstar_write(&w, g, &pf);
        same_bytes(&w, data + 1, size - 1 - r.left);
        err = kg_mpc_zk_mulstar_verify(&pf, &ctx, &fx.aux, &fx.n0, fx.C, fx.D, &fx.X[gi]);
        kg_mpc_zk_mulstar_clear(&pf);
    }
    /* Nobody knows a proof for the fixed statement. */
    if (err == KG_OK) abort();
    return 0;
}
