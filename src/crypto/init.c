/* Library start-up and the CSPRNG.
 *
 * The crypto layer owns two pieces of process-wide state:
 *   - libsodium's initialisation (sodium_init picks the fastest
 *     implementations and seeds randombytes), and
 *   - one secp256k1 context created with SIGN|VERIFY and randomised with 32
 *     bytes from the OS CSPRNG. Randomisation blinds the scalar
 *     multiplications of signing and key derivation, a defence in depth
 *     against side channels that constant-time source cannot rule out
 *     (compilers and CPUs may still leak).
 *
 * Both are set up exactly once, through pthread_once, either by an explicit
 * kg_crypto_init() or lazily by the first call that needs them
 * (kg_crypto_ensure). Threading rules, which follow libsecp256k1's:
 *   - the context is written only inside the once-routine (create,
 *     randomize); afterwards every thread uses it through a const pointer,
 *     which libsecp256k1 documents as safe to share without locking;
 *   - nothing here ever calls secp256k1_context_randomize again, because
 *     that needs exclusive access and we have no lock to give it;
 *   - the context lives until process exit (never destroyed), so no thread
 *     can see it freed underneath it.
 * OpenSSL 3 initialises itself on first use and is thread-safe. */
#include "crypto_int.h"

#include <pthread.h>
#include <sodium.h>

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static kg_err g_init_err = KG_ERR_INTERNAL;
static secp256k1_context *g_secp;

static void crypto_init_once(void)
{
    if (sodium_init() < 0) {
        g_init_err = KG_ERR_CRYPTO;
        return;
    }
    /* SIGN|VERIFY are no-ops since libsecp256k1 0.2 (every context can do
     * both) but state the intent and keep older libraries working. */
    secp256k1_context *ctx =
        secp256k1_context_create(SECP256K1_CONTEXT_SIGN | SECP256K1_CONTEXT_VERIFY);
    if (ctx == NULL) {
        g_init_err = KG_ERR_NOMEM;
        return;
    }
    uint8_t seed[32];
    randombytes_buf(seed, sizeof seed);
    int ok = secp256k1_context_randomize(ctx, seed);
    sodium_memzero(seed, sizeof seed);
    if (!ok) {
        secp256k1_context_destroy(ctx);
        g_init_err = KG_ERR_CRYPTO;
        return;
    }
    g_secp = ctx;
    g_init_err = KG_OK;
}

kg_err kg_crypto_ensure(void)
{
    if (pthread_once(&g_once, crypto_init_once) != 0)
        return kg_err_set(KG_ERR_INTERNAL, "pthread_once failed while initialising the crypto layer");
    if (g_init_err != KG_OK)
        return kg_err_set(g_init_err, "the crypto libraries could not be initialised "
                          "(libsodium or libsecp256k1 failed; check that /dev/urandom is readable)");
    return KG_OK;
}

kg_err kg_crypto_init(void)
{
    return kg_crypto_ensure();
}

const secp256k1_context *kg_crypto_secp(void)
{
    return g_secp;
}

/* OpenSSL 3 looks an algorithm up by name (a "fetch": provider lock, method
 * store) every time a legacy EVP_sha256()/EVP_aes_256_gcm() object is used.
 * Fetching the hot ones once saves that on every request; the objects live
 * until process exit. A failed fetch falls back to the legacy object. */
static pthread_once_t g_alg_once = PTHREAD_ONCE_INIT;
static EVP_MD *g_sha256, *g_sha512;
static EVP_CIPHER *g_aes256gcm;

static void alg_fetch_once(void)
{
    g_sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL);
    g_sha512 = EVP_MD_fetch(NULL, "SHA2-512", NULL);
    g_aes256gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

const EVP_MD *kg_crypto_md_sha256(void)
{
    pthread_once(&g_alg_once, alg_fetch_once);
    return g_sha256 != NULL ? g_sha256 : EVP_sha256();
}

const EVP_MD *kg_crypto_md_sha512(void)
{
    pthread_once(&g_alg_once, alg_fetch_once);
    return g_sha512 != NULL ? g_sha512 : EVP_sha512();
}

const EVP_CIPHER *kg_crypto_cipher_aes256gcm(void)
{
    pthread_once(&g_alg_once, alg_fetch_once);
    return g_aes256gcm != NULL ? g_aes256gcm : EVP_aes_256_gcm();
}

kg_err kg_crypto_random(uint8_t *out, size_t len)
{
    KG_ARG_CHECK(out != NULL || len == 0);
    kg_err err = kg_crypto_ensure();
    if (err != KG_OK)
        return err;
    if (len > 0)
        randombytes_buf(out, len);
    return KG_OK;
}
