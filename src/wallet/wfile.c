/* Encrypted wallet files: the self-custody wallet's seed at rest.
 *
 * A wallet directory (--wallet-dir; default $KASHGUARD_WALLET_DIR, else
 * ~/.kashguard/wallets, created 0700) holds one file per wallet, NAME.kgw:
 *
 *   {"version":1,"name":"main","created_at":"2026-11-26T03:31:50Z",
 *    "kdf":{"alg":"argon2id","ops":3,"mem":67108864,"salt":"<b64 16 bytes>"},
 *    "cipher":{"alg":"xchacha20poly1305","nonce":"<b64 24 bytes>"},
 *    "ciphertext":"<b64>","public":{"fingerprint":"<hex>",...}}
 *
 * key = Argon2id(passphrase, salt, ops, mem) (RFC 9106, libsodium's
 * crypto_pwhash); ciphertext = XChaCha20-Poly1305(key, nonce, AAD,
 * plaintext). The AAD binds every header field an attacker could usefully
 * edit: the version, the name (so a.kgw cannot be renamed b.kgw and opened
 * as b), created_at, the kdf algorithm and parameters, the cipher algorithm
 * and SHA-256 of the canonical JSON (sorted keys, compact) of "public" --
 * the xpubs shown as receive addresses must not be swappable without the
 * passphrase. "public" is shown by list without a passphrase, so it is
 * authenticated only when the wallet is opened.
 *
 * Plaintext (version 1), a small binary record so that firmware could read
 * it too:
 *   0x01 (mnemonic) | u8 lang_len | lang ("english", hd.h's list names) |
 *        u8 entropy_len (16..32, multiple of 4) | entropy |
 *        u16be pp_len (<= 1024) | BIP39 passphrase (UTF-8, as typed)
 *   0x02 (raw seed) | u8 seed_len (16..64) | seed
 *   0x03 (single key) | 32-byte secp256k1 private key (an imported
 *        keystore v3: no seed, no derivation; "public" says "kind":"key")
 * We keep the entropy rather than the seed because it is what a backup
 * needs (the mnemonic is re-created from it) and the seed is a function of
 * it; open re-derives the seed with BIP39's PBKDF2 (kg_wallet_bip39_to_seed).
 *
 * Argon2id defaults: ops 3, mem 64 MiB (libsodium's "moderate" is 3 / 256
 * MiB; 64 MiB keeps small machines usable). KASHGUARD_WALLET_KDF=fast
 * (ops 1, mem 64 KiB) is for tests only: it makes the passphrase cheap to
 * brute-force. Open accepts ops 1..16 and mem 8 KiB..1 GiB, whatever wrote
 * the file.
 *
 * Writes are atomic: NAME.kgw.tmp is created in the same directory with
 * O_EXCL and mode 0600 (which also keeps two writers apart), written,
 * fsync'd, then link(2)ed to NAME.kgw (fails if a wallet of that name
 * exists) or rename(2)d over it (overwrite, change of passphrase), and the
 * directory is fsync'd. A crash leaves the old file or the new one, and at
 * worst a stale .tmp that the next write names in its error. */
#include "wstore_int.h"

#include <kashguard/crypto.h>
#include <kashguard/wallet/hd.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define WF_VERSION 1
#define WF_KIND_MNEMONIC 0x01
#define WF_KIND_SEED 0x02
#define WF_KIND_KEY 0x03
#define WF_KEY_BYTES 32
#define WF_SALT_BYTES 16
#define WF_NONCE_BYTES 24
#define WF_TAG_BYTES 16
#define WF_PT_MAX (1 + 1 + 32 + 1 + 32 + 2 + KG_WALLET_PASSPHRASE_MAX)
#define WF_OPS_DEFAULT 3u
#define WF_MEM_DEFAULT (64u << 20)
#define WF_OPS_FAST 1u
#define WF_MEM_FAST (64u << 10)
#define WF_OPS_MAX 16u
#define WF_MEM_MIN (8u << 10)
#define WF_MEM_MAX (1u << 30)
#define WF_AAD_MAX 256

/* The parsed, not yet decrypted header of one wallet file. */
typedef struct {
    char name[KG_WALLET_NAME_MAX + 1];
    char created_at[21];
    uint64_t ops;
    uint64_t mem;
    uint8_t salt[WF_SALT_BYTES];
    uint8_t nonce[WF_NONCE_BYTES];
    kg_bytes ct;
    json_t *pub; /* borrowed from the document, or NULL */
} wf_header;

/* ---------------------------------------------------------- names, paths */

kg_err kg_wallet_name_check(const char *name)
{
    if (name == NULL || name[0] == '\0')
        return kg_err_set(KG_ERR_BAD_INPUT, "a wallet name is required");
    size_t n = strlen(name);
    if (n > KG_WALLET_NAME_MAX)
        return kg_err_set(KG_ERR_BAD_INPUT, "wallet name is %zu characters; the limit is %d", n,
                          KG_WALLET_NAME_MAX);
    if (name[0] == '.')
        return kg_err_set(KG_ERR_BAD_INPUT, "wallet name '%s' must not start with '.'", name);
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return kg_err_set(KG_ERR_BAD_INPUT, "wallet name '%.64s' may use only letters, digits, "
                              "'.', '_' and '-'", name);
    }
    return KG_OK;
}

kg_err kg_wallet_dir_default(char **out)
{
    KG_ARG_CHECK(out != NULL);
    *out = NULL;
    const char *env = getenv("KASHGUARD_WALLET_DIR");
    if (env != NULL && env[0] != '\0') {
        *out = strdup(env);
    } else {
        const char *home = getenv("HOME");
        if (home == NULL || home[0] == '\0')
            return kg_err_set(KG_ERR_BAD_INPUT, "HOME is not set; pass --wallet-dir or set "
                              "KASHGUARD_WALLET_DIR");
        size_t len = strlen(home) + sizeof("/.kashguard/wallets");
        *out = malloc(len);
        if (*out != NULL)
            snprintf(*out, len, "%s/.kashguard/wallets", home);
    }
    return *out ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
}

/* dir or the default, as a malloc'd string. */
static kg_err dir_resolve(char **out, const char *dir)
{
    if (dir == NULL)
        return kg_wallet_dir_default(out);
    *out = strdup(dir);
    return *out ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
}

static kg_err io_error(const char *what, const char *path)
{
    return kg_err_set(KG_ERR_IO, "%s '%.300s': %s", what, path, strerror(errno));
}

/* mkdir -p with mode 0700 for every directory it creates. */
static kg_err dir_ensure(const char *dir)
{
    char path[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof(path))
        return kg_err_set(KG_ERR_BAD_INPUT, "the wallet directory path is empty or too long");
    memcpy(path, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        char saved = path[i];
        path[i] = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return io_error("cannot create wallet directory", path);
        path[i] = saved;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return kg_err_set(KG_ERR_IO, "wallet directory '%.300s' is not a directory", dir);
    return KG_OK;
}

static kg_err wallet_path(char *out, size_t cap, const char *dir, const char *name, const char *suffix)
{
    if ((size_t)snprintf(out, cap, "%s/%s.kgw%s", dir, name, suffix) >= cap)
        return kg_err_set(KG_ERR_BAD_INPUT, "the wallet directory path is too long");
    return KG_OK;
}

/* ------------------------------------------------------------ parameters */

static void kdf_defaults(uint64_t *ops, uint64_t *mem)
{
    const char *env = getenv("KASHGUARD_WALLET_KDF");
    bool fast = env != NULL && strcmp(env, "fast") == 0;
    *ops = fast ? WF_OPS_FAST : WF_OPS_DEFAULT;
    *mem = fast ? WF_MEM_FAST : WF_MEM_DEFAULT;
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

/* The associated data (see the file comment). */
static kg_err aad_build(uint8_t out[static WF_AAD_MAX], size_t *out_len, const wf_header *h)
{
    static const char tag[] = "kashguard-wallet-file";
    uint8_t *p = out;
    size_t nl = strlen(h->name), cl = strlen(h->created_at);
    memcpy(p, tag, sizeof(tag));                 p += sizeof(tag);
    *p++ = WF_VERSION;
    *p++ = (uint8_t)nl;  memcpy(p, h->name, nl);        p += nl;
    *p++ = (uint8_t)cl;  memcpy(p, h->created_at, cl);  p += cl;
    memcpy(p, "argon2id", 9);                    p += 9;
    put_u64(p, h->ops);                          p += 8;
    put_u64(p, h->mem);                          p += 8;
    memcpy(p, h->salt, WF_SALT_BYTES);           p += WF_SALT_BYTES;
    memcpy(p, "xchacha20poly1305", 18);          p += 18;
    *p++ = h->pub != NULL;
    if (h->pub != NULL) {
        char *canon = json_dumps(h->pub, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        if (canon == NULL)
            return kg_err_set(KG_ERR_NOMEM, "out of memory encoding the wallet's public metadata");
        kg_crypto_sha256(p, (const uint8_t *)canon, strlen(canon));
        free(canon);
        p += 32;
    }
    *out_len = (size_t)(p - out);
    return KG_OK;
}

/* ------------------------------------------------------------- plaintext */

/* Encode the plaintext record into pt (WF_PT_MAX bytes). */
static kg_err pt_encode_mnemonic(uint8_t *pt, size_t *pt_len, const char *lang,
                                 const uint8_t *entropy, size_t entropy_len, const char *pp)
{
    size_t ll = strlen(lang), pl = pp ? strlen(pp) : 0;
    if (entropy_len < 16 || entropy_len > 32 || entropy_len % 4 != 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "BIP39 entropy must be 16, 20, 24, 28 or 32 bytes (got %zu)",
                          entropy_len);
    if (pl > KG_WALLET_PASSPHRASE_MAX)
        return kg_err_set(KG_ERR_BAD_INPUT, "the BIP39 passphrase is over %d bytes",
                          KG_WALLET_PASSPHRASE_MAX);
    uint8_t *p = pt;
    *p++ = WF_KIND_MNEMONIC;
    *p++ = (uint8_t)ll;            memcpy(p, lang, ll);               p += ll;
    *p++ = (uint8_t)entropy_len;   memcpy(p, entropy, entropy_len);   p += entropy_len;
    *p++ = (uint8_t)(pl >> 8);
    *p++ = (uint8_t)pl;
    if (pl > 0)
        memcpy(p, pp, pl);
    p += pl;
    *pt_len = (size_t)(p - pt);
    return KG_OK;
}

/* Take n bytes at *p (bounded by end); NULL when they are not there. */
static const uint8_t *take(const uint8_t **p, const uint8_t *end, size_t n)
{
    if ((size_t)(end - *p) < n)
        return NULL;
    const uint8_t *r = *p;
    *p += n;
    return r;
}

static kg_err pt_decode_mnemonic(kg_wallet_unlocked *w, const uint8_t *p, const uint8_t *end)
{
    const uint8_t *ll = take(&p, end, 1), *lang = ll ? take(&p, end, *ll) : NULL;
    const uint8_t *el = lang ? take(&p, end, 1) : NULL, *ent = el ? take(&p, end, *el) : NULL;
    const uint8_t *pl = ent ? take(&p, end, 2) : NULL;
    size_t pp_len = pl ? ((size_t)pl[0] << 8 | pl[1]) : 0;
    const uint8_t *pp = pl ? take(&p, end, pp_len) : NULL;
    kg_wallet_lang lg;
    char lname[sizeof(w->language)] = "";
    if (pp == NULL || p != end || *ll >= sizeof(lname) || *el < 16 || *el > 32 || *el % 4 != 0 ||
        pp_len > KG_WALLET_PASSPHRASE_MAX)
        return kg_err_set(KG_ERR_BAD_INPUT, "the wallet's decrypted record is malformed");
    memcpy(lname, lang, *ll);
    if (kg_wallet_bip39_lang_parse(&lg, lname) != KG_OK)
        return kg_err_set(KG_ERR_BAD_INPUT, "the wallet uses an unknown BIP39 wordlist '%s'", lname);
    memcpy(w->language, lname, sizeof(lname));
    w->kind = KG_WALLET_KIND_MNEMONIC;
    w->entropy = kg_secret_from(ent, *el);
    w->bip39_passphrase = kg_secret_from(pp, pp_len);
    if (w->entropy == NULL || w->bip39_passphrase == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory opening the wallet");
    return KG_OK;
}

/* The BIP39 seed of a decoded mnemonic wallet. */
static kg_err seed_from_mnemonic(kg_wallet_unlocked *w)
{
    char mnemonic[KG_WALLET_MNEMONIC_MAX_BYTES], pp[KG_WALLET_PASSPHRASE_MAX + 1];
    size_t pl = kg_secret_len(w->bip39_passphrase);
    memcpy(pp, kg_secret_cdata(w->bip39_passphrase), pl);
    pp[pl] = '\0';
    kg_wallet_lang lg = KG_WALLET_LANG_ENGLISH;
    kg_err e = kg_wallet_bip39_lang_parse(&lg, w->language);
    if (e == KG_OK)
        e = kg_wallet_bip39_from_entropy(mnemonic, sizeof(mnemonic), lg, kg_secret_cdata(w->entropy),
                                         kg_secret_len(w->entropy));
    if (e == KG_OK) {
        w->seed = kg_secret_new(KG_WALLET_SEED_BYTES);
        if (w->seed == NULL)
            e = kg_err_set(KG_ERR_NOMEM, "out of memory opening the wallet");
    }
    if (e == KG_OK)
        e = kg_wallet_bip39_to_seed(kg_secret_data(w->seed), mnemonic, pp);
    kg_wipe(mnemonic, sizeof(mnemonic));
    kg_wipe(pp, sizeof(pp));
    return e;
}

static kg_err pt_decode(kg_wallet_unlocked *w, const uint8_t *pt, size_t pt_len)
{
    const uint8_t *p = pt, *end = pt + pt_len;
    const uint8_t *kind = take(&p, end, 1);
    if (kind != NULL && *kind == WF_KIND_MNEMONIC) {
        kg_err e = pt_decode_mnemonic(w, p, end);
        return e == KG_OK ? seed_from_mnemonic(w) : e;
    }
    if (kind != NULL && *kind == WF_KIND_KEY) {
        const uint8_t *k = take(&p, end, 32);
        if (k == NULL || p != end || !kg_crypto_k1_seckey_valid(k))
            return kg_err_set(KG_ERR_BAD_INPUT, "the wallet's decrypted record is malformed");
        w->kind = KG_WALLET_KIND_KEY;
        w->key = kg_secret_from(k, 32);
        return w->key ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory opening the wallet");
    }
    const uint8_t *sl = take(&p, end, 1), *seed = sl ? take(&p, end, *sl) : NULL;
    if (kind == NULL || *kind != WF_KIND_SEED || seed == NULL || p != end ||
        *sl < KG_WALLET_SEED_MIN_BYTES || *sl > KG_WALLET_SEED_MAX_BYTES)
        return kg_err_set(KG_ERR_BAD_INPUT, "the wallet's decrypted record is malformed");
    w->kind = KG_WALLET_KIND_SEED;
    w->seed = kg_secret_from(seed, *sl);
    return w->seed ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory opening the wallet");
}

/* ------------------------------------------------------------ encryption */

static kg_err derive_key(uint8_t key[static WF_KEY_BYTES], const wf_header *h, const char *passphrase)
{
    size_t pl = strlen(passphrase);
    if (pl > KG_WALLET_PASSPHRASE_MAX)
        return kg_err_set(KG_ERR_BAD_INPUT, "the passphrase is over %d bytes", KG_WALLET_PASSPHRASE_MAX);
    return kg_crypto_argon2id(key, WF_KEY_BYTES, passphrase, pl, h->salt, h->ops, (size_t)h->mem);
}

/* Fill h's kdf/cipher fields afresh and encrypt pt into h->ct. */
static kg_err seal(wf_header *h, const char *passphrase, const uint8_t *pt, size_t pt_len)
{
    uint8_t key[WF_KEY_BYTES], aad[WF_AAD_MAX];
    size_t aad_len = 0;
    kdf_defaults(&h->ops, &h->mem);
    kg_bytes_free(&h->ct);
    kg_err e = kg_crypto_random(h->salt, sizeof(h->salt));
    if (e == KG_OK)
        e = kg_crypto_random(h->nonce, sizeof(h->nonce));
    if (e == KG_OK)
        e = aad_build(aad, &aad_len, h);
    if (e == KG_OK)
        e = derive_key(key, h, passphrase);
    if (e == KG_OK) {
        h->ct.data = malloc(pt_len + WF_TAG_BYTES);
        h->ct.len = pt_len + WF_TAG_BYTES;
        e = h->ct.data ? kg_crypto_xchacha_encrypt(h->ct.data, key, h->nonce, aad, aad_len, pt, pt_len)
                       : kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
    kg_wipe(key, sizeof(key));
    if (e != KG_OK)
        kg_bytes_free(&h->ct);
    return e;
}

/* Decrypt h->ct into a new secret. */
static kg_err unseal(kg_secret **pt, const wf_header *h, const char *passphrase)
{
    uint8_t key[WF_KEY_BYTES], aad[WF_AAD_MAX];
    size_t aad_len = 0;
    *pt = NULL;
    if (h->ct.len < WF_TAG_BYTES || h->ct.len > WF_PT_MAX + WF_TAG_BYTES)
        return kg_err_set(KG_ERR_BAD_INPUT, "wallet '%s': the ciphertext has an impossible size", h->name);
    kg_err e = aad_build(aad, &aad_len, h);
    if (e == KG_OK)
        e = derive_key(key, h, passphrase);
    if (e == KG_OK) {
        *pt = kg_secret_new(h->ct.len - WF_TAG_BYTES);
        if (*pt == NULL)
            e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
    if (e == KG_OK &&
        kg_crypto_xchacha_decrypt(kg_secret_data(*pt), key, h->nonce, aad, aad_len,
                                  h->ct.data, h->ct.len) != KG_OK)
        e = kg_err_set(KG_ERR_DECRYPT, "wrong passphrase for wallet '%s' (or the file was modified)",
                       h->name);
    kg_wipe(key, sizeof(key));
    if (e != KG_OK) {
        kg_secret_free(*pt);
        *pt = NULL;
    }
    return e;
}


/* ------------------------------------------------------------ the header */

static kg_err parse_time(int64_t *out, const char *s)
{
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0, n = 0;
    *out = 0;
    if (strlen(s) != 20 || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &y, &mo, &d, &h, &mi, &se, &n) != 6 ||
        n != 20 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return kg_err_set(KG_ERR_BAD_INPUT, "wallet field 'created_at' must be RFC 3339 UTC "
                          "(2026-01-31T12:00:00Z)");
    struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
                     .tm_hour = h, .tm_min = mi, .tm_sec = se };
    *out = (int64_t)timegm(&tm);
    return KG_OK;
}

/* A base64 field of exactly len bytes into out. */
static kg_err get_b64_fixed(uint8_t *out, size_t len, const json_t *obj, const char *field)
{
    kg_bytes b = { 0 };
    kg_err e = kg_json_get_b64(&b, obj, field, true, len);
    if (e == KG_OK && b.len != len)
        e = kg_err_set(KG_ERR_BAD_INPUT, "wallet field '%s' must be %zu bytes of base64", field, len);
    if (e == KG_OK)
        memcpy(out, b.data, len);
    kg_bytes_free(&b);
    return e;
}

static kg_err parse_kdf_cipher(wf_header *h, const json_t *kdf, const json_t *cipher)
{
    static const char *const kdf_fields[] = { "alg", "ops", "mem", "salt", NULL };
    static const char *const cipher_fields[] = { "alg", "nonce", NULL };
    const char *alg = NULL;
    int64_t ops = 0, mem = 0;
    kg_err e;
    if (!json_is_object(kdf) || !json_is_object(cipher))
        return kg_err_set(KG_ERR_BAD_INPUT, "wallet fields 'kdf' and 'cipher' must be objects");
    if ((e = kg_json_check_fields(kdf, kdf_fields)) != KG_OK ||
        (e = kg_json_check_fields(cipher, cipher_fields)) != KG_OK)
        return e;
    if (kg_json_get_str(&alg, kdf, "alg", true) != KG_OK || strcmp(alg, "argon2id") != 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "wallet kdf must be \"argon2id\"");
    if ((e = kg_json_get_int(&ops, kdf, "ops", true)) != KG_OK ||
        (e = kg_json_get_int(&mem, kdf, "mem", true)) != KG_OK)
        return e;
    if (ops < 1 || ops > WF_OPS_MAX || mem < WF_MEM_MIN || mem > WF_MEM_MAX)
        return kg_err_set(KG_ERR_BAD_INPUT, "wallet kdf parameters are out of range (ops %lld must be "
                          "1..%u, mem %lld must be %u..%u bytes)", (long long)ops, WF_OPS_MAX,
                          (long long)mem, WF_MEM_MIN, WF_MEM_MAX);
    h->ops = (uint64_t)ops;
    h->mem = (uint64_t)mem;
    if ((e = get_b64_fixed(h->salt, WF_SALT_BYTES, kdf, "salt")) != KG_OK)
        return e;
    if (kg_json_get_str(&alg, cipher, "alg", true) != KG_OK || strcmp(alg, "xchacha20poly1305") != 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "wallet cipher must be \"xchacha20poly1305\"");
    return get_b64_fixed(h->nonce, WF_NONCE_BYTES, cipher, "nonce");
}

/* Parse doc into h (h->pub borrows from doc). want_name: the file's name. */
static kg_err parse_header(wf_header *h, int64_t *created, const json_t *doc, const char *want_name)
{
    static const char *const fields[] = { "version", "name", "created_at", "kdf", "cipher",
                                          "ciphertext", "public", NULL };
    const char *name = NULL, *ts = NULL;
    int64_t version = 0;
    kg_err e = kg_json_check_fields(doc, fields);
    if (e != KG_OK)
        return e;
    if (kg_json_get_int(&version, doc, "version", true) != KG_OK || version != WF_VERSION)
        return kg_err_set(KG_ERR_BAD_INPUT, "not a version 1 kashguard wallet file");
    if ((e = kg_json_get_str(&name, doc, "name", true)) != KG_OK ||
        (e = kg_json_get_str(&ts, doc, "created_at", true)) != KG_OK)
        return e;
    if (kg_wallet_name_check(name) != KG_OK || strcmp(name, want_name) != 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "wallet file '%s.kgw' names another wallet; files must "
                          "not be renamed", want_name);
    if ((e = parse_time(created, ts)) != KG_OK)
        return e;
    memcpy(h->name, name, strlen(name) + 1);
    memcpy(h->created_at, ts, 21);
    if ((e = parse_kdf_cipher(h, json_object_get(doc, "kdf"), json_object_get(doc, "cipher"))) != KG_OK)
        return e;
    if ((e = kg_json_get_b64(&h->ct, doc, "ciphertext", true, WF_PT_MAX + WF_TAG_BYTES)) != KG_OK)
        return e;
    h->pub = json_object_get(doc, "public");
    if (json_is_null(h->pub))
        h->pub = NULL;
    if (h->pub != NULL && !json_is_object(h->pub))
        return kg_err_set(KG_ERR_BAD_INPUT, "wallet field 'public' must be an object");
    return KG_OK;
}

static json_t *render_header(const wf_header *h)
{
    json_t *doc = json_pack("{s:i,s:s,s:s,s:{s:s,s:I,s:I,s:o},s:{s:s,s:o},s:o}",
                            "version", WF_VERSION, "name", h->name, "created_at", h->created_at,
                            "kdf", "alg", "argon2id", "ops", (json_int_t)h->ops, "mem", (json_int_t)h->mem,
                            "salt", kg_json_b64(h->salt, WF_SALT_BYTES),
                            "cipher", "alg", "xchacha20poly1305",
                            "nonce", kg_json_b64(h->nonce, WF_NONCE_BYTES),
                            "ciphertext", kg_json_b64(h->ct.data, h->ct.len));
    if (doc != NULL && h->pub != NULL && json_object_set(doc, "public", h->pub) != 0) {
        json_decref(doc);
        doc = NULL;
    }
    return doc;
}

/* ------------------------------------------------------------------- I/O */

static kg_err read_doc(json_t **doc, const char *path, const char *name)
{
    *doc = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT)
        return kg_err_set(KG_ERR_NOT_FOUND, "no wallet '%s' (%.300s); list wallets with "
                          "`kashguard wallet list`", name, path);
    if (fd < 0)
        return io_error("cannot open wallet file", path);
    char *buf = malloc(KG_WALLET_FILE_MAX_BYTES + 1);
    size_t len = 0;
    ssize_t r = 1;
    while (buf != NULL && len <= KG_WALLET_FILE_MAX_BYTES &&
           ((r = read(fd, buf + len, KG_WALLET_FILE_MAX_BYTES + 1 - len)) > 0 || (r < 0 && errno == EINTR)))
        len += r > 0 ? (size_t)r : 0;
    kg_err e = KG_OK;
    if (buf == NULL)
        e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    else if (r < 0)
        e = io_error("cannot read wallet file", path);
    else if (len > KG_WALLET_FILE_MAX_BYTES)
        e = kg_err_set(KG_ERR_BAD_INPUT, "wallet file '%.300s' is over %d bytes; it is not a wallet",
                       path, KG_WALLET_FILE_MAX_BYTES);
    else
        e = kg_json_parse_object(doc, buf, len);
    close(fd);
    free(buf);
    return e;
}

static kg_err write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return KG_ERR_IO;
        p += w;
        len -= (size_t)w;
    }
    return KG_OK;
}

static kg_err sync_dir(const char *dir)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return io_error("cannot open wallet directory", dir);
    int rc = fsync(dfd);
    close(dfd);
    return rc == 0 ? KG_OK : io_error("cannot sync wallet directory", dir);
}

/* Write text as dir/name.kgw atomically (see the file comment). */
static kg_err write_atomic(const char *dir, const char *name, const char *text, bool overwrite)
{
    char tmp[4200], path[4200];
    kg_err e = wallet_path(tmp, sizeof(tmp), dir, name, ".tmp");
    if (e == KG_OK)
        e = wallet_path(path, sizeof(path), dir, name, "");
    if (e != KG_OK)
        return e;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 && errno == EEXIST)
        return kg_err_set(KG_ERR_CONFLICT, "'%.300s' exists: another write of wallet '%s' is running, "
                          "or one was interrupted; if none is running, remove that file", tmp, name);
    if (fd < 0)
        return io_error("cannot create", tmp);
    if (write_all(fd, text, strlen(text)) != KG_OK || fsync(fd) != 0)
        e = io_error("cannot write", tmp);
    if (close(fd) != 0 && e == KG_OK)
        e = io_error("cannot write", tmp);
    bool renamed = false;
    if (e == KG_OK && overwrite) {
        renamed = rename(tmp, path) == 0;
        if (!renamed)
            e = io_error("cannot rename into place", path);
    }
    if (e == KG_OK && !overwrite && link(tmp, path) != 0)
        e = errno == EEXIST
            ? kg_err_set(KG_ERR_CONFLICT, "wallet '%s' already exists in %.300s; choose another name "
                         "or delete it first", name, dir)
            : io_error("cannot link into place", path);
    /* After link the temp name is a second name of the file; after a
     * rename it is gone (and may already belong to the next writer). */
    if (!renamed)
        unlink(tmp);
    if (e == KG_OK)
        e = sync_dir(dir);
    return e;
}

/* ---------------------------------------------------------------- the API */

void kg_wallet_unlocked_free(kg_wallet_unlocked *w)
{
    if (w == NULL)
        return;
    kg_secret_free(w->entropy);
    kg_secret_free(w->bip39_passphrase);
    kg_secret_free(w->seed);
    kg_secret_free(w->key);
    json_decref(w->public_meta);
    kg_wipe(w, sizeof(*w));
    free(w);
}

/* The public metadata of a new wallet: the caller's object plus the BIP32
 * master key fingerprint (hex), unless the caller gave one. */
static kg_err public_meta_new(json_t **out, const json_t *given, const kg_secret *seed)
{
    *out = given ? json_deep_copy(given) : json_object();
    if (*out == NULL || !json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return kg_err_set(KG_ERR_BAD_INPUT, "the wallet's public metadata must be a JSON object");
    }
    kg_wallet_hdkey m;
    memset(&m, 0, sizeof(m));
    if (seed == NULL) /* a single-key wallet: nothing to fingerprint */
        return json_object_set_new(*out, "kind", json_string("key")) == 0
            ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (json_object_get(*out, "fingerprint") == NULL &&
        kg_wallet_hd_from_seed(&m, KG_WALLET_CURVE_SECP256K1, kg_secret_cdata(seed),
                               kg_secret_len(seed)) == KG_OK) {
        uint8_t fp[4];
        char hex[9];
        kg_wallet_hd_fingerprint(fp, &m);
        kg_hex_encode(hex, fp, sizeof(fp));
        json_object_set_new(*out, "fingerprint", json_string(hex));
    }
    kg_wallet_hdkey_wipe(&m);
    kg_err_clear();
    return KG_OK;
}

/* Encrypt a plaintext record and write it as a new wallet. */
static kg_err create_common(const kg_wallet_create_opts *o, const uint8_t *pt, size_t pt_len)
{
    char *dir = NULL, *text = NULL;
    wf_header h;
    memset(&h, 0, sizeof(h));
    json_t *pub = NULL, *doc = NULL;
    kg_wallet_unlocked w;
    memset(&w, 0, sizeof(w));
    kg_err e = kg_wallet_name_check(o->name);
    if (e == KG_OK && (o->passphrase == NULL || o->passphrase[0] == '\0'))
        e = kg_err_set(KG_ERR_BAD_INPUT, "a passphrase is required to encrypt wallet '%s'", o->name);
    if (e == KG_OK)
        e = pt_decode(&w, pt, pt_len); /* the seed, and a check of the record */
    if (e == KG_OK)
        e = public_meta_new(&pub, o->public_meta, w.seed);
    if (e == KG_OK)
        e = dir_resolve(&dir, o->dir);
    if (e == KG_OK)
        e = dir_ensure(dir);
    if (e == KG_OK) {
        memcpy(h.name, o->name, strlen(o->name) + 1);
        kg_time_rfc3339(h.created_at, kg_now());
        h.pub = pub;
        e = seal(&h, o->passphrase, pt, pt_len);
    }
    if (e == KG_OK && ((doc = render_header(&h)) == NULL ||
                       (text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) == NULL))
        e = kg_err_set(KG_ERR_NOMEM, "out of memory writing the wallet");
    if (e == KG_OK)
        e = write_atomic(dir, o->name, text, o->overwrite);
    kg_secret_free(w.entropy);
    kg_secret_free(w.bip39_passphrase);
    kg_secret_free(w.seed);
    kg_secret_free(w.key);
    kg_bytes_free(&h.ct);
    json_decref(pub);
    json_decref(doc);
    free(text);
    free(dir);
    return e;
}

kg_err kg_wallet_file_create_entropy(const kg_wallet_create_opts *opts, const char *language,
                                     const uint8_t *entropy, size_t entropy_len)
{
    KG_ARG_CHECK(opts != NULL && entropy != NULL);
    kg_wallet_lang lg;
    const char *lname = language ? language : "english";
    if (kg_wallet_bip39_lang_parse(&lg, lname) != KG_OK)
        return kg_err_set(KG_ERR_BAD_INPUT, "unknown BIP39 wordlist '%.32s' (english, japanese, ...)", lname);
    kg_secret *pt = kg_secret_new(WF_PT_MAX);
    if (pt == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    size_t pt_len = 0;
    kg_err e = pt_encode_mnemonic(kg_secret_data(pt), &pt_len, kg_wallet_bip39_lang_name(lg), entropy,
                                  entropy_len, opts->bip39_passphrase);
    if (e == KG_OK)
        e = create_common(opts, kg_secret_cdata(pt), pt_len);
    kg_secret_free(pt);
    return e;
}

kg_err kg_wallet_file_create_mnemonic(const kg_wallet_create_opts *opts, const char *mnemonic)
{
    KG_ARG_CHECK(opts != NULL && mnemonic != NULL);
    uint8_t entropy[KG_WALLET_ENTROPY_MAX_BYTES];
    size_t len = 0;
    kg_wallet_lang lg = KG_WALLET_LANG_ENGLISH;
    kg_err e = kg_wallet_bip39_to_entropy(entropy, sizeof(entropy), &len, &lg, KG_WALLET_LANG_AUTO, mnemonic);
    if (e == KG_OK)
        e = kg_wallet_file_create_entropy(opts, kg_wallet_bip39_lang_name(lg), entropy, len);
    kg_wipe(entropy, sizeof(entropy));
    return e;
}

kg_err kg_wallet_file_create_seed(const kg_wallet_create_opts *opts, const kg_secret *seed)
{
    KG_ARG_CHECK(opts != NULL && seed != NULL);
    size_t n = kg_secret_len(seed);
    if (n < KG_WALLET_SEED_MIN_BYTES || n > KG_WALLET_SEED_MAX_BYTES)
        return kg_err_set(KG_ERR_BAD_INPUT, "a BIP32 seed is 16..64 bytes (got %zu)", n);
    if (opts->bip39_passphrase != NULL)
        return kg_err_set(KG_ERR_BAD_INPUT, "a BIP39 passphrase applies to mnemonic wallets only; a raw "
                          "seed already includes it");
    kg_secret *pt = kg_secret_new(2 + n);
    if (pt == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    uint8_t *p = kg_secret_data(pt);
    p[0] = WF_KIND_SEED;
    p[1] = (uint8_t)n;
    memcpy(p + 2, kg_secret_cdata(seed), n);
    kg_err e = create_common(opts, p, 2 + n);
    kg_secret_free(pt);
    return e;
}

kg_err kg_wallet_file_create_key(const kg_wallet_create_opts *opts, const kg_secret *priv)
{
    KG_ARG_CHECK(opts != NULL && priv != NULL);
    if (kg_secret_len(priv) != 32 || !kg_crypto_k1_seckey_valid(kg_secret_cdata(priv)))
        return kg_err_set(KG_ERR_BAD_INPUT, "not a valid secp256k1 private key (32 bytes, 0 < k < n)");
    if (opts->bip39_passphrase != NULL)
        return kg_err_set(KG_ERR_BAD_INPUT, "a BIP39 passphrase applies to mnemonic wallets only");
    kg_secret *pt = kg_secret_new(1 + 32);
    if (pt == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    uint8_t *p = kg_secret_data(pt);
    p[0] = WF_KIND_KEY;
    memcpy(p + 1, kg_secret_cdata(priv), 32);
    kg_err e = create_common(opts, p, 33);
    kg_secret_free(pt);
    return e;
}

/* Read, parse and decrypt dir/name.kgw. On KG_OK the caller frees *doc, h->ct
 * and *pt; h->pub borrows from *doc. */
static kg_err load(json_t **doc, wf_header *h, int64_t *created, kg_secret **pt,
                   const char *dir, const char *name, const char *passphrase)
{
    char path[4200];
    *doc = NULL;
    *pt = NULL;
    memset(h, 0, sizeof(*h));
    kg_err e = kg_wallet_name_check(name);
    if (e == KG_OK)
        e = wallet_path(path, sizeof(path), dir, name, "");
    if (e == KG_OK)
        e = read_doc(doc, path, name);
    if (e == KG_OK)
        e = parse_header(h, created, *doc, name);
    if (e == KG_OK)
        e = unseal(pt, h, passphrase);
    if (e != KG_OK) {
        kg_bytes_free(&h->ct);
        json_decref(*doc);
        *doc = NULL;
    }
    return e;
}

kg_err kg_wallet_file_open(kg_wallet_unlocked **out, const char *dir, const char *name,
                           const char *passphrase)
{
    KG_ARG_CHECK(out != NULL && name != NULL && passphrase != NULL);
    *out = NULL;
    char *d = NULL;
    json_t *doc = NULL;
    kg_secret *pt = NULL;
    wf_header h;
    int64_t created = 0;
    kg_wallet_unlocked *w = calloc(1, sizeof(*w));
    kg_err e = w ? dir_resolve(&d, dir) : kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (e == KG_OK)
        e = load(&doc, &h, &created, &pt, d, name, passphrase);
    if (e == KG_OK) {
        memcpy(w->name, h.name, sizeof(w->name));
        w->created_at = created;
        w->public_meta = h.pub ? json_deep_copy(h.pub) : NULL;
        kg_bytes_free(&h.ct);
        e = pt_decode(w, kg_secret_cdata(pt), kg_secret_len(pt));
    }
    kg_secret_free(pt);
    json_decref(doc);
    free(d);
    if (e != KG_OK) {
        kg_wallet_unlocked_free(w);
        w = NULL;
    }
    *out = w;
    return e;
}

kg_err kg_wallet_file_change_passphrase(const char *dir, const char *name, const char *old_passphrase,
                                        const char *new_passphrase)
{
    KG_ARG_CHECK(name != NULL && old_passphrase != NULL && new_passphrase != NULL);
    if (new_passphrase[0] == '\0')
        return kg_err_set(KG_ERR_BAD_INPUT, "the new passphrase must not be empty");
    char *d = NULL, *text = NULL;
    json_t *doc = NULL, *out = NULL;
    kg_secret *pt = NULL;
    wf_header h;
    memset(&h, 0, sizeof(h));
    int64_t created = 0;
    kg_err e = dir_resolve(&d, dir);
    if (e == KG_OK)
        e = load(&doc, &h, &created, &pt, d, name, old_passphrase);
    if (e == KG_OK) /* same name, created_at and public; new salt, nonce, kdf */
        e = seal(&h, new_passphrase, kg_secret_cdata(pt), kg_secret_len(pt));
    if (e == KG_OK && ((out = render_header(&h)) == NULL ||
                       (text = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) == NULL))
        e = kg_err_set(KG_ERR_NOMEM, "out of memory writing the wallet");
    if (e == KG_OK)
        e = write_atomic(d, name, text, true);
    kg_bytes_free(&h.ct);
    kg_secret_free(pt);
    json_decref(doc);
    json_decref(out);
    free(text);
    free(d);
    return e;
}

kg_err kg_wallet_file_delete(const char *dir, const char *name, const char *passphrase)
{
    KG_ARG_CHECK(name != NULL && passphrase != NULL);
    char *d = NULL, path[4200];
    json_t *doc = NULL;
    kg_secret *pt = NULL;
    wf_header h;
    int64_t created = 0;
    kg_err e = dir_resolve(&d, dir);
    if (e == KG_OK)
        e = load(&doc, &h, &created, &pt, d, name, passphrase);
    if (e == KG_OK) {
        kg_bytes_free(&h.ct);
        e = wallet_path(path, sizeof(path), d, name, "");
    }
    if (e == KG_OK && unlink(path) != 0)
        e = io_error("cannot delete", path);
    if (e == KG_OK)
        e = sync_dir(d);
    kg_secret_free(pt);
    json_decref(doc);
    free(d);
    return e;
}

/* One entry of list: the header fields, or the reason it does not parse. */
static json_t *list_entry(const char *dir, const char *name)
{
    char path[4200];
    json_t *doc = NULL, *ent = json_pack("{s:s}", "name", name);
    wf_header h;
    memset(&h, 0, sizeof(h));
    int64_t created = 0;
    kg_err e = wallet_path(path, sizeof(path), dir, name, "");
    if (e == KG_OK)
        e = read_doc(&doc, path, name);
    if (e == KG_OK)
        e = parse_header(&h, &created, doc, name);
    if (ent != NULL && e == KG_OK) {
        json_object_set_new(ent, "created_at", json_string(h.created_at));
        if (h.pub != NULL)
            json_object_set(ent, "public", h.pub);
    } else if (ent != NULL) {
        json_object_set_new(ent, "error", json_string(kg_err_detail(e)));
    }
    kg_bytes_free(&h.ct);
    json_decref(doc);
    return ent;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The wallet names in dir (files NAME.kgw with a valid NAME), sorted. */
static kg_err list_names(char ***names, size_t *count, const char *dir)
{
    *names = NULL;
    *count = 0;
    DIR *dp = opendir(dir);
    if (dp == NULL)
        return errno == ENOENT ? KG_OK : io_error("cannot read wallet directory", dir);
    size_t cap = 0;
    kg_err e = KG_OK;
    struct dirent *de;
    while (e == KG_OK && (de = readdir(dp)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n <= 4 || strcmp(de->d_name + n - 4, ".kgw") != 0)
            continue;
        char *nm = strndup(de->d_name, n - 4);
        if (nm != NULL && kg_wallet_name_check(nm) != KG_OK) {
            free(nm);
            continue;
        }
        if (nm != NULL && *count == cap) {
            char **grown = realloc(*names, (cap = cap ? 2 * cap : 16) * sizeof(char *));
            if (grown == NULL) {
                free(nm);
                nm = NULL;
            } else {
                *names = grown;
            }
        }
        if (nm == NULL)
            e = kg_err_set(KG_ERR_NOMEM, "out of memory listing wallets");
        else
            (*names)[(*count)++] = nm;
    }
    closedir(dp);
    kg_err_clear();
    if (*count > 1)
        qsort(*names, *count, sizeof(char *), cmp_str);
    return e;
}

kg_err kg_wallet_file_list(json_t **out, const char *dir)
{
    KG_ARG_CHECK(out != NULL);
    *out = NULL;
    char *d = NULL, **names = NULL;
    size_t count = 0;
    kg_err e = dir_resolve(&d, dir);
    if (e == KG_OK)
        e = list_names(&names, &count, d);
    json_t *arr = json_array();
    if (e == KG_OK && arr == NULL)
        e = kg_err_set(KG_ERR_NOMEM, "out of memory listing wallets");
    for (size_t i = 0; e == KG_OK && i < count; i++)
        if (json_array_append_new(arr, list_entry(d, names[i])) != 0)
            e = kg_err_set(KG_ERR_NOMEM, "out of memory listing wallets");
    if (e == KG_OK && (*out = json_pack("{s:O}", "wallets", arr)) == NULL)
        e = kg_err_set(KG_ERR_NOMEM, "out of memory listing wallets");
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
    json_decref(arr);
    free(d);
    return e;
}
