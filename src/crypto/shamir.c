/* Shamir secret sharing over GF(2^8), byte by byte.
 *
 * Used for the unseal keys: the root key is split into n shares of which
 * any t reconstruct it. Each secret byte gets its own random polynomial of
 * degree t-1 whose constant term is that byte; share i holds the values of
 * all these polynomials at x = i (1..n). Combining evaluates the Lagrange
 * interpolation at x = 0.
 *
 * The field is GF(2^8) with the AES polynomial x^8 + x^4 + x^3 + x + 1
 * (0x11b). Arithmetic is constant time: multiplication is a fixed
 * eight-round shift-and-add whose reduction and accumulation use masks, not
 * branches, and there are no log/exp tables (a table lookup indexed by a
 * secret byte leaks it through the cache). The inverse is a^254 by a fixed
 * square-and-multiply chain (a^255 = 1 for a != 0; 0 maps to 0, never used).
 *
 * What is public: n, t, the secret length and the x coordinates. Polynomial
 * coefficients and y values are secret; they live in kg_secret buffers and
 * are wiped. The coefficients come from the OS CSPRNG. Shamir shares are not
 * authenticated: with fewer than t shares, or a corrupted share, combine
 * returns garbage, which callers detect (the KMS decrypts an AES-GCM check
 * value with the result). */
#include "crypto_int.h"

#include <sodium.h>
#include <string.h>

static uint8_t gf_mul(uint8_t a, uint8_t b)
{
    uint8_t r = 0;
    for (int i = 0; i < 8; i++) {
        r ^= (uint8_t)(-(b & 1) & a);                 /* add a when b's low bit is set */
        uint8_t hi = (uint8_t)-(a >> 7);              /* all ones when a overflows */
        a = (uint8_t)((a << 1) ^ (hi & 0x1b));        /* a *= x, reduced mod 0x11b */
        b >>= 1;
    }
    return r;
}

/* a^254 = a^-1: 254 = 0b11111110, so square and multiply 7 times. */
static uint8_t gf_inv(uint8_t a)
{
    uint8_t r = a;                  /* a^1 */
    for (int i = 0; i < 6; i++)
        r = gf_mul(gf_mul(r, r), a); /* a^3, a^7, ..., a^127 */
    return gf_mul(r, r);            /* a^254 */
}

kg_err kg_crypto_shamir_split(kg_secret **shares, const kg_secret *secret,
                              unsigned n, unsigned t)
{
    KG_ARG_CHECK(shares != NULL && secret != NULL);
    for (unsigned i = 0; i < n && i < 255; i++)
        shares[i] = NULL;
    if (t < 1 || t > n || n > 255)
        return kg_err_set(KG_ERR_BAD_INPUT, "a %u-of-%u split is not possible; the threshold "
                          "must be between 1 and the number of shares, at most 255", t, n);
    size_t len = kg_secret_len(secret);
    if (len == 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "cannot split an empty secret");
    kg_err err = kg_crypto_ensure();
    if (err != KG_OK)
        return err;
    /* coeff[j*(t-1) + k] is the coefficient of x^(k+1) for byte j. */
    kg_secret *coeff = kg_secret_new(len * (t - 1));
    if (coeff == NULL)
        return kg_err_set(KG_ERR_NOMEM, "cannot allocate the Shamir coefficients");
    randombytes_buf(kg_secret_data(coeff), kg_secret_len(coeff));
    const uint8_t *s = kg_secret_cdata(secret), *c = kg_secret_cdata(coeff);
    for (unsigned i = 0; i < n; i++) {
        shares[i] = kg_secret_new(1 + len);
        if (shares[i] == NULL) {
            for (unsigned k = 0; k < i; k++) {
                kg_secret_free(shares[k]);
                shares[k] = NULL;
            }
            kg_secret_free(coeff);
            return kg_err_set(KG_ERR_NOMEM, "cannot allocate the Shamir shares");
        }
        uint8_t x = (uint8_t)(i + 1), *out = kg_secret_data(shares[i]);
        out[0] = x;
        for (size_t j = 0; j < len; j++) {
            /* Horner: ((c_{t-1} x + c_{t-2}) x + ... + c_1) x + s_j */
            uint8_t y = 0;
            for (unsigned k = t - 1; k > 0; k--)
                y = gf_mul(y, x) ^ c[j * (t - 1) + (k - 1)];
            out[1 + j] = gf_mul(y, x) ^ s[j];
        }
    }
    kg_secret_free(coeff);
    return KG_OK;
}

static kg_err check_shares(const kg_secret *const *shares, unsigned k)
{
    if (k < 1 || k > 255)
        return kg_err_set(KG_ERR_BAD_INPUT, "between 1 and 255 shares are needed; got %u", k);
    size_t len = kg_secret_len(shares[0]);
    uint8_t seen[256] = {0};
    for (unsigned i = 0; i < k; i++) {
        if (kg_secret_len(shares[i]) != len || len < 2)
            return kg_err_set(KG_ERR_BAD_INPUT, "share %u has %zu bytes but share 1 has %zu; "
                              "the shares do not belong together", i + 1,
                              kg_secret_len(shares[i]), len);
        uint8_t x = kg_secret_cdata(shares[i])[0]; /* x is public */
        if (x == 0)
            return kg_err_set(KG_ERR_BAD_INPUT, "share %u is malformed (its index is 0)", i + 1);
        if (seen[x])
            return kg_err_set(KG_ERR_BAD_INPUT, "share %u repeats share index %u; give each "
                              "share only once", i + 1, (unsigned)x);
        seen[x] = 1;
    }
    return KG_OK;
}

kg_err kg_crypto_shamir_combine(kg_secret **secret, const kg_secret *const *shares, unsigned k)
{
    KG_ARG_CHECK(secret != NULL && shares != NULL);
    *secret = NULL;
    for (unsigned i = 0; i < k; i++)
        KG_ARG_CHECK(shares[i] != NULL);
    kg_err err = check_shares(shares, k);
    if (err != KG_OK)
        return err;
    size_t len = kg_secret_len(shares[0]) - 1;
    kg_secret *out = kg_secret_new(len);
    if (out == NULL)
        return kg_err_set(KG_ERR_NOMEM, "cannot allocate the recovered secret");
    uint8_t *o = kg_secret_data(out);
    for (unsigned i = 0; i < k; i++) {
        /* Lagrange basis at 0: l_i = prod_{m != i} x_m / (x_m - x_i); minus is XOR. */
        uint8_t xi = kg_secret_cdata(shares[i])[0], num = 1, den = 1;
        for (unsigned m = 0; m < k; m++) {
            if (m == i)
                continue;
            uint8_t xm = kg_secret_cdata(shares[m])[0];
            num = gf_mul(num, xm);
            den = gf_mul(den, xm ^ xi);
        }
        uint8_t li = gf_mul(num, gf_inv(den));
        const uint8_t *y = kg_secret_cdata(shares[i]) + 1;
        for (size_t j = 0; j < len; j++)
            o[j] ^= gf_mul(li, y[j]);
    }
    *secret = out;
    return KG_OK;
}
