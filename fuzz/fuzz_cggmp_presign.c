/* libFuzzer target for the CGGMP21 presigning decoders (cggmp_presign.c,
 * cggmp_sign.c): the sealed presignature (kg_mpc_cggmp_presig_decode) and
 * the round-2, round-3 and finish message parsers, which read what other
 * parties send. The first byte picks the target:
 *   0      presignature: an accepted encoding re-encodes to the same bytes
 *   1..3   a message pair from party 2 to party 1 of a 2-party run whose
 *          party-1 state is waiting for round 2, 3 or finish: bytes
 *          1..2 (u16) split the rest into the broadcast and the p2p body.
 * Whatever the bytes: no crash, no leak; a round refuses them (forging the
 * proofs is out of reach) with no output and can still be driven (its
 * state is unchanged: the next input meets the same state).
 * The states are built once, on fixture primes copied from
 * tests/mpc/fixtures/safe_primes_1024.txt (2048-bit moduli). */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>

#include "kashguard/crypto.h"
#include "kashguard/mpc/cggmp.h"
#include "../src/mpc/cggmp_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const primes_hex[4] = {
    "C0FF9FE3079626B2A62D94BE3DA42625464EC7424687B967E138D1690CBDE0A5906EC8EEB31FDEC45F695B56BED2682030D63F72F03FAF16916E413023117BC9B1E4321E3097F538C6B19673819D9724D6CDE3F6E84286D2E479AD06DB521A9E2434122AF758E6EE8A5CB438DB07FEC4B52C8037325ECBC40BCA121606693EAF",
    "E340714CE0300AD75EA3B259B988D9DB22A98233702C105182D0D2BDC7EAB070ABE2EB173903875780D6B1BA224732B5F938C6C8AB6D4F0EA20A01149919CBAAECE5A21BD3B69F80C67FA2B5F4E9E1C4956B3CEFC99AA6C6D0A71EEFBB5F904CB83FD634D5E5817250049D2A9A70C5A931C0F58A197D0372CEBB0DEF7EBAE457",
    "CBACE647E45275ED7354BA3D31CB1BD2DCDBE509B683DEC0951FB441F12300CABCA1F35EA243DBA41353C48CCE8B50A019FE7BF71D1BE1CB746E324E9A800FBCF3F5F704F270314D2EFDD1593A1B42898AE52B9D8D7FD9E51D3EA73BDDD145670557ED7A143C54391D8F752D97382AAA293D936910B0E4F18F1A0B09E32F8B47",
    "E2D68B47728631C7918CB161C7004FBE8C1C26B2CC71FE5C0FCD3FE13EB3A554685951C825DA6DC1BE31D2CE8928007B5E33AF275427BD475521A92F90A5ECC885C1FA7007940793DF9A46534AAA732AB4B8B3250B6C80182EE8FD4EBEC0020F30B670BC12A4D2C81F5EC96C72EEC7A967F19FA6B793675CCF4B9C824E090ECB",
};

static kg_mpc_cggmp_aux *auxes[2];
static kg_mpc_cggmp_share shares[2];
static kg_mpc_cggmp_presign *waiting[4]; /* [r]: party 1's state before round r (4: finish) */

static void die(void) { abort(); }

/* Run a 2-party presigning until party 1 has done round r-1; keep its state. */
static kg_mpc_cggmp_presign *state_before(int r)
{
    static const uint16_t set[] = {1, 2};
    static const uint8_t session[] = "fuzz";
    kg_mpc_cggmp_presign *st[2] = {0};
    kg_mpc_cggmp_msg *out[2] = {0}, *nout[2] = {0};
    size_t n[2] = {0}, nn[2] = {0};
    uint16_t c;
    for (int i = 0; i < 2; i++)
        if (kg_mpc_cggmp_presign_new(&st[i], &shares[i], auxes[i], set, 2, session, sizeof session) ||
            kg_mpc_cggmp_presign_round1(st[i], &out[i], &n[i]))
            die();
    for (int round = 2; round < r; round++) {
        for (int i = 0; i < 2; i++) {
            kg_err e = round == 2 ? kg_mpc_cggmp_presign_round2(st[i], out[1 - i], n[1 - i], &nout[i], &nn[i], &c)
                                  : kg_mpc_cggmp_presign_round3(st[i], out[1 - i], n[1 - i], &nout[i], &nn[i], &c);
            if (e) die();
        }
        for (int i = 0; i < 2; i++) {
            kg_mpc_cggmp_msgs_free(out[i], n[i]);
            out[i] = nout[i];
            n[i] = nn[i];
            nout[i] = NULL;
        }
    }
    for (int i = 0; i < 2; i++) kg_mpc_cggmp_msgs_free(out[i], n[i]);
    kg_mpc_cggmp_presign_free(st[1]);
    return st[0];
}

static void init(void)
{
    BIGNUM *p[4] = {0};
    static const uint16_t ids[] = {1, 2};
    if (kg_crypto_init()) die();
    for (int i = 0; i < 4; i++)
        if (!BN_hex2bn(&p[i], primes_hex[i])) die();
    if (kg_mpc_cggmp_aux_dealer(auxes, ids, 2, p) || kg_mpc_cggmp_dealer(KG_MPC_GROUP_SECP256K1, 2, 2, NULL, shares))
        die();
    for (int i = 0; i < 4; i++) BN_clear_free(p[i]);
    for (int r = 2; r <= 4; r++) waiting[r - 2] = state_before(r);
}

static void presig(const uint8_t *b, size_t len)
{
    kg_mpc_cggmp_presig *ps = NULL;
    if (kg_mpc_cggmp_presig_decode(&ps, b, len)) {
        if (ps) die();
        return;
    }
    kg_bytes enc = {0};
    if (kg_mpc_cggmp_presig_encode(&enc, ps) || enc.len != len || memcmp(enc.data, b, len)) die();
    kg_bytes_free(&enc);
    kg_mpc_cggmp_presig_free(ps);
}

static void round_msg(int r, const uint8_t *b, size_t len)
{
    if (len < 2) return;
    size_t split = (size_t)(b[0] << 8 | b[1]);
    b += 2;
    len -= 2;
    if (split > len) split = len;
    kg_mpc_cggmp_msg in[2] = {{.from = 2, .to = 0, .body = {(uint8_t *)b, split}},
                              {.from = 2, .to = 1, .body = {(uint8_t *)b + split, len - split}}};
    kg_mpc_cggmp_msg *out = NULL;
    size_t n = 0;
    kg_mpc_cggmp_presig *ps = NULL;
    uint16_t c = 0;
    kg_mpc_cggmp_presign *st = waiting[r - 1];
    kg_err e = r == 1   ? kg_mpc_cggmp_presign_round2(st, in, 2, &out, &n, &c)
               : r == 2 ? kg_mpc_cggmp_presign_round3(st, in, 2, &out, &n, &c)
                        : kg_mpc_cggmp_presign_finish(st, in, 2, &ps, &c);
    if (e == KG_OK || out || n || ps) die();
    if (c != 2 && c != 0) die();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) { init(); ready = 1; }
    if (size < 1) return 0;
    if (data[0] % 4 == 0) presig(data + 1, size - 1);
    else round_msg(data[0] % 4, data + 1, size - 1);
    return 0;
}
