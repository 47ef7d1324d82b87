/* libFuzzer target for the readers of the CGGMP21 identifiable-abort
 * proofs (src/mpc/cggmp_blame.c: the δ-failure and σ-failure blame
 * proofs, which a party receives from every other signer after a failed
 * presign check or an invalid signature). The first byte picks the proof
 * (bit 0: δ or σ) and the group (bit 1: secp256k1 or P-256); the rest is
 * the encoding.
 *
 * Whatever the bytes: no crash, no leak, no read past the input. A refused
 * encoding leaves the struct empty; an accepted one writes back to exactly
 * the bytes it consumed (the encoding is canonical), and its verification
 * against a fixed statement (a 2048-bit modulus from public fixture primes,
 * small constant ciphertexts) returns an error without crashing (nobody
 * knows a proof for it). */
#include <stdlib.h>
#include <string.h>

#include "../src/mpc/cggmp_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Safe primes of tests/mpc/fixtures/safe_primes_1024.txt, lines 1-2. */
static const char *const primes[2] = {
    "C0FF9FE3079626B2A62D94BE3DA42625464EC7424687B967E138D1690CBDE0A5906EC8EEB31FDEC45F695B56BED2682030D63F72F03FAF16916E413023117BC9B1E4321E3097F538C6B19673819D9724D6CDE3F6E84286D2E479AD06DB521A9E2434122AF758E6EE8A5CB438DB07FEC4B52C8037325ECBC40BCA121606693EAF",
    "E340714CE0300AD75EA3B259B988D9DB22A98233702C105182D0D2BDC7EAB070ABE2EB173903875780D6B1BA224732B5F938C6C8AB6D4F0EA20A01149919CBAAECE5A21BD3B69F80C67FA2B5F4E9E1C4956B3CEFC99AA6C6D0A71EEFBB5F904CB83FD634D5E5817250049D2A9A70C5A931C0F58A197D0372CEBB0DEF7EBAE457",
};

static struct {
    kg_mpc_paillier_pk pk;
    kg_mpc_rped aux;
    BIGNUM *K, *G, *D, *F;
    kg_mpc_point W[2];
    kg_mpc_scalar one[2];
} fx;

static const kg_mpc_group_id groups[2] = {KG_MPC_GROUP_SECP256K1, KG_MPC_GROUP_P256};

static BIGNUM *word(BN_ULONG v)
{
    BIGNUM *x = BN_new();
    if (!x || !BN_set_word(x, v)) abort();
    return x;
}

static void fixture(void)
{
    static bool done;
    if (done) return;
    BIGNUM *p = NULL, *q = NULL, *n = BN_new(), *s = word(4), *t = word(9);
    BN_CTX *bc = BN_CTX_new();
    if (!n || !bc || !BN_hex2bn(&p, primes[0]) || !BN_hex2bn(&q, primes[1]) || !BN_mul(n, p, q, bc)) abort();
    if (kg_mpc_paillier_pk_set(&fx.pk, n) || kg_mpc_rped_set(&fx.aux, n, s, t)) abort();
    fx.K = word(2);
    fx.G = word(3);
    fx.D = word(5);
    fx.F = word(7);
    for (int i = 0; i < 2; i++) {
        kg_mpc_scalar_from_u64(groups[i], &fx.one[i], 1);
        kg_mpc_point_base_mul(groups[i], &fx.W[i], &fx.one[i]);
    }
    BN_free(p);
    BN_free(q);
    BN_free(n);
    BN_free(s);
    BN_free(t);
    BN_CTX_free(bc);
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
    int gi = (data[0] >> 1) & 1;
    kg_mpc_group_id g = groups[gi];
    kg_mpc_zk_ctx ctx = {.group = g, .sid = (const uint8_t *)"fuzz", .sid_len = 4, .prover = 1};
    kg_mpc_node_rd r;
    kg_mpc_node_rd_init(&r, data + 1, size - 1);
    kg_mpc_node_wr w = {0};
    const BIGNUM *Din[1] = {fx.D}, *Fout[1] = {fx.F};
    static const uint8_t digest[32] = {1, 2, 3};
    kg_err err;
    if ((data[0] & 1) == 0) {
        static kg_mpc_cggmp_blame_delta b; /* large: off the stack */
        if (kg_mpc_cggmp_blame_delta_read(&r, &b)) {
            if (b.H || b.n_dec || b.mul.A || b.dec[0].S) abort();
            return 0;
        }
        kg_mpc_cggmp_blame_delta_write(&w, &b);
        same_bytes(&w, data + 1, size - 1 - r.left);
        err = kg_mpc_cggmp_blame_delta_verify(&b, &ctx, &fx.aux, 0, &fx.pk, fx.K, fx.G, Din, Fout, 1, &fx.one[gi]);
        kg_mpc_cggmp_blame_delta_clear(&b);
    } else {
        static kg_mpc_cggmp_blame_sigma b;
        if (kg_mpc_cggmp_blame_sigma_read(&r, g, &b)) {
            if (b.H || b.n_ver || b.mulstar[0].A || b.dec[0].S) abort();
            return 0;
        }
        kg_mpc_cggmp_blame_sigma_write(&w, g, &b);
        same_bytes(&w, data + 1, size - 1 - r.left);
        err = kg_mpc_cggmp_blame_sigma_verify(&b, &ctx, &fx.aux, 0, &fx.pk, fx.K, &fx.W[gi], Din, Fout, 1, digest,
                                              &fx.one[gi], NULL, &fx.one[gi]);
        kg_mpc_cggmp_blame_sigma_clear(&b);
    }
    /* Nobody knows a proof for the fixed statement. */
    if (err == KG_OK) abort();
    return 0;
}
