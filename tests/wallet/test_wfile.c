/* Encrypted wallet files: create from BIP39 mnemonics (the trezor vectors,
 * passphrase "TREZOR": the opened seed must equal the vector's seed),
 * entropy and raw seeds; wrong passphrases and every edit of the file are
 * refused without changing it; atomic writes, modes, no silent overwrite;
 * list, change of passphrase, delete. Argon2id runs with
 * KASHGUARD_WALLET_KDF=fast (tests only). */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 /* nftw */
#endif
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <kashguard/wallet.h>
#include <kashguard/wallet/hd.h>
#include <kashguard/crypto.h>

static char g_dir[256];

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    return remove(p);
}

static int setup(void **state)
{
    (void)state;
    strcpy(g_dir, "/tmp/kg-wfile-XXXXXX");
    assert_non_null(mkdtemp(g_dir));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    nftw(g_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

static kg_wallet_create_opts opts(const char *name, const char *pass)
{
    kg_wallet_create_opts o = { .dir = g_dir, .name = name, .passphrase = pass };
    return o;
}

static char *slurp(const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s.kgw", g_dir, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = calloc(1, 70000);
    size_t n = fread(buf, 1, 69999, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void spit(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s.kgw", g_dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void seed_hex_equal(const kg_wallet_unlocked *w, const char *hex)
{
    char got[129];
    kg_hex_encode(got, kg_secret_cdata(w->seed), kg_secret_len(w->seed));
    assert_string_equal(got, hex);
}

/* Every BIP39 vector of each supported language: create from the mnemonic
 * (BIP39 passphrase TREZOR), open, compare seed, entropy and language. */
static void test_bip39_vectors(void **state)
{
    (void)state;
    json_t *all = json_load_file(KG_VECTORS_DIR "/bip39_vectors.json", 0, NULL);
    assert_non_null(all);
    size_t total = 0;
    for (int l = 0; l < KG_WALLET_LANG_COUNT; l++) {
        const char *lang = kg_wallet_bip39_lang_name((kg_wallet_lang)l);
        json_t *list = json_object_get(all, lang);
        size_t i, n = 0;
        json_t *v;
        json_array_foreach(list, i, v) {
            /* all of english; the first four of the others (the HD suite checks every one) */
            if (l != KG_WALLET_LANG_ENGLISH && i >= 4)
                break;
            char name[32];
            snprintf(name, sizeof(name), "v-%s-%zu", lang, i);
            kg_wallet_create_opts o = opts(name, "file pass");
            o.bip39_passphrase = "TREZOR";
            kg_err e = kg_wallet_file_create_mnemonic(&o, json_string_value(json_array_get(v, 1)));
            if (e != KG_OK)
                fprintf(stderr, "%s: %s\n", name, kg_err_detail(e));
            assert_int_equal(e, KG_OK);
            kg_wallet_unlocked *w = NULL;
            assert_int_equal(kg_wallet_file_open(&w, g_dir, name, "file pass"), KG_OK);
            seed_hex_equal(w, json_string_value(json_array_get(v, 2)));
            char ent[65];
            kg_hex_encode(ent, kg_secret_cdata(w->entropy), kg_secret_len(w->entropy));
            assert_string_equal(ent, json_string_value(json_array_get(v, 0)));
            /* chinese lists share words: either list gives the same entropy and seed */
            if (strncmp(lang, "chinese", 7) != 0)
                assert_string_equal(w->language, lang);
            assert_int_equal(w->kind, KG_WALLET_KIND_MNEMONIC);
            assert_int_equal(kg_secret_len(w->bip39_passphrase), 6);
            assert_memory_equal(kg_secret_cdata(w->bip39_passphrase), "TREZOR", 6);
            kg_wallet_unlocked_free(w);
            n++;
        }
        printf("bip39_vectors.json %s: %zu wallets created and opened, seeds match\n", lang, n);
        total += n;
    }
    assert_int_equal(total, 24 + 9 * 4);
    json_decref(all);
}

static void test_seed_wallet_and_modes(void **state)
{
    (void)state;
    static const uint8_t seed[16] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
    char sub[300];
    snprintf(sub, sizeof(sub), "%s/nested/wallets", g_dir);
    kg_secret *s = kg_secret_from(seed, sizeof(seed));
    kg_wallet_create_opts o = { .dir = sub, .name = "raw", .passphrase = "pw" };
    assert_int_equal(kg_wallet_file_create_seed(&o, s), KG_OK);
    struct stat st;
    assert_int_equal(stat(sub, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    char path[400];
    snprintf(path, sizeof(path), "%s/raw.kgw", sub);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    kg_wallet_unlocked *w = NULL;
    assert_int_equal(kg_wallet_file_open(&w, sub, "raw", "pw"), KG_OK);
    assert_int_equal(w->kind, KG_WALLET_KIND_SEED);
    assert_null(w->entropy);
    assert_memory_equal(kg_secret_cdata(w->seed), seed, 16);
    /* BIP32 test vector 1: the master key's identifier starts 3442193e */
    assert_string_equal(json_string_value(json_object_get(w->public_meta, "fingerprint")), "3442193e");
    assert_string_equal(w->name, "raw");
    assert_true(w->created_at > 1700000000);
    kg_wallet_unlocked_free(w);
    /* A BIP39 passphrase makes no sense for a raw seed; seeds are 16..64 bytes. */
    o.name = "raw2";
    o.bip39_passphrase = "x";
    assert_int_equal(kg_wallet_file_create_seed(&o, s), KG_ERR_BAD_INPUT);
    kg_secret *tiny = kg_secret_new(8);
    o.bip39_passphrase = NULL;
    assert_int_equal(kg_wallet_file_create_seed(&o, tiny), KG_ERR_BAD_INPUT);
    kg_secret_free(tiny);
    kg_secret_free(s);
}

static void test_wrong_passphrase_and_overwrite(void **state)
{
    (void)state;
    static const uint8_t ent[16] = { 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f,
                                     0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f };
    kg_wallet_create_opts o = opts("main", "correct horse");
    assert_int_equal(kg_wallet_file_create_entropy(&o, NULL, ent, sizeof(ent)), KG_OK);
    char *before = slurp("main");
    kg_wallet_unlocked *w = NULL;
    assert_int_equal(kg_wallet_file_open(&w, g_dir, "main", "wrong horse"), KG_ERR_DECRYPT);
    assert_null(w);
    assert_non_null(strstr(kg_err_detail(KG_ERR_DECRYPT), "wrong passphrase for wallet 'main'"));
    /* No silent overwrite; the file is unchanged. */
    o.passphrase = "other";
    assert_int_equal(kg_wallet_file_create_entropy(&o, NULL, ent, sizeof(ent)), KG_ERR_CONFLICT);
    char *after = slurp("main");
    assert_string_equal(before, after);
    free(after);
    /* With overwrite it is replaced. */
    o.overwrite = true;
    assert_int_equal(kg_wallet_file_create_entropy(&o, "english", ent, sizeof(ent)), KG_OK);
    assert_int_equal(kg_wallet_file_open(&w, g_dir, "main", "correct horse"), KG_ERR_DECRYPT);
    assert_int_equal(kg_wallet_file_open(&w, g_dir, "main", "other"), KG_OK);
    /* no BIP39 passphrase */
    assert_int_equal(kg_secret_len(w->bip39_passphrase), 0);
    kg_wallet_unlocked_free(w);
    free(before);
    /* A stale temp file (an interrupted write) is named in the error. */
    char tmp[400];
    snprintf(tmp, sizeof(tmp), "%s/main.kgw.tmp", g_dir);
    int fd = open(tmp, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(kg_wallet_file_create_entropy(&o, NULL, ent, sizeof(ent)), KG_ERR_CONFLICT);
    assert_non_null(strstr(kg_err_detail(KG_ERR_CONFLICT), "main.kgw.tmp"));
    unlink(tmp);
}

static void test_bad_create_args(void **state)
{
    (void)state;
    static const uint8_t ent[32] = { 1 };
    const char *bad_names[] = { "", ".hidden", "../escape", "a/b", "sp ace",
                                "x123456789012345678901234567890123456789012345678901234567890123456" };
    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
        kg_wallet_create_opts o = opts(bad_names[i], "pw");
        assert_int_equal(kg_wallet_file_create_entropy(&o, NULL, ent, 32), KG_ERR_BAD_INPUT);
    }
    kg_wallet_create_opts o = opts("ok", "");
    assert_int_equal(kg_wallet_file_create_entropy(&o, NULL, ent, 32), KG_ERR_BAD_INPUT);
    o.passphrase = "pw";
    assert_int_equal(kg_wallet_file_create_entropy(&o, NULL, ent, 15), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_wallet_file_create_entropy(&o, "klingon", ent, 32), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_wallet_file_create_mnemonic(&o, "abandon abandon abandon"), KG_ERR_BAD_INPUT);
    json_t *arr = json_array();
    o.public_meta = arr;
    assert_int_equal(kg_wallet_file_create_entropy(&o, NULL, ent, 32), KG_ERR_BAD_INPUT);
    json_decref(arr);
    kg_wallet_unlocked *w = NULL;
    assert_int_equal(kg_wallet_file_open(&w, g_dir, "nosuch", "pw"), KG_ERR_NOT_FOUND);
    assert_int_equal(kg_wallet_file_open(&w, g_dir, "../etc/passwd", "pw"), KG_ERR_BAD_INPUT);
}

/* Each edit of a wallet file must make open fail and change nothing. */
static void tamper(const char *orig, const char *field_path, json_t *value, kg_err want)
{
    json_t *doc = json_loads(orig, 0, NULL);
    json_t *obj = doc;
    char buf[64];
    snprintf(buf, sizeof(buf), "%s", field_path);
    char *dot = strchr(buf, '.');
    if (dot != NULL) {
        *dot = '\0';
        obj = json_object_get(doc, buf);
        json_object_set_new(obj, dot + 1, value);
    } else {
        json_object_set_new(doc, buf, value);
    }
    char *text = json_dumps(doc, 0);
    spit("t", text);
    kg_wallet_unlocked *w = NULL;
    kg_err e = kg_wallet_file_open(&w, g_dir, "t", "pw");
    if (e != want)
        fprintf(stderr, "%s: got %s (%s)\n", field_path, kg_err_code(e), kg_err_detail(e));
    assert_int_equal(e, want);
    assert_null(w);
    free(text);
    json_decref(doc);
}

static void test_tamper(void **state)
{
    (void)state;
    static const uint8_t ent[16] = { 0x80 };
    kg_wallet_create_opts o = opts("t", "pw");
    json_t *pub = json_pack("{s:s}", "xpub", "xpub-of-the-owner");
    o.public_meta = pub;
    assert_int_equal(kg_wallet_file_create_entropy(&o, NULL, ent, sizeof(ent)), KG_OK);
    json_decref(pub);
    char *orig = slurp("t");
    kg_wallet_unlocked *w = NULL;
    assert_int_equal(kg_wallet_file_open(&w, g_dir, "t", "pw"), KG_OK);
    assert_string_equal(json_string_value(json_object_get(w->public_meta, "xpub")), "xpub-of-the-owner");
    assert_non_null(json_object_get(w->public_meta, "fingerprint"));
    kg_wallet_unlocked_free(w);

    tamper(orig, "public", json_pack("{s:s}", "xpub", "xpub-of-the-attacker"), KG_ERR_DECRYPT);
    tamper(orig, "public", json_null(), KG_ERR_DECRYPT);
    tamper(orig, "created_at", json_string("2020-01-01T00:00:00Z"), KG_ERR_DECRYPT);
    tamper(orig, "kdf.ops", json_integer(2), KG_ERR_DECRYPT);
    tamper(orig, "kdf.ops", json_integer(1000), KG_ERR_BAD_INPUT);
    tamper(orig, "kdf.mem", json_integer(1ll << 40), KG_ERR_BAD_INPUT);
    tamper(orig, "kdf.alg", json_string("scrypt"), KG_ERR_BAD_INPUT);
    tamper(orig, "kdf.salt", json_string("AAAA"), KG_ERR_BAD_INPUT);
    tamper(orig, "cipher.nonce", json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), KG_ERR_DECRYPT);
    tamper(orig, "ciphertext", json_string("AAAA"), KG_ERR_BAD_INPUT);
    tamper(orig, "version", json_integer(2), KG_ERR_BAD_INPUT);
    tamper(orig, "name", json_string("other"), KG_ERR_BAD_INPUT);
    tamper(orig, "extra", json_true(), KG_ERR_BAD_INPUT);
    tamper(orig, "created_at", json_string("yesterday"), KG_ERR_BAD_INPUT);
    spit("t", "not json");
    assert_int_equal(kg_wallet_file_open(&w, g_dir, "t", "pw"), KG_ERR_BAD_JSON);
    /* A wallet copied under another name does not open as that name. */
    spit("u", orig);
    assert_int_equal(kg_wallet_file_open(&w, g_dir, "u", "pw"), KG_ERR_BAD_INPUT);
    spit("t", orig);
    assert_int_equal(kg_wallet_file_open(&w, g_dir, "t", "pw"), KG_OK);
    kg_wallet_unlocked_free(w);
    free(orig);
}

static void test_list_change_delete(void **state)
{
    (void)state;
    static const uint8_t ent[20] = { 0x42 };
    const char *names[] = { "zeta", "alpha", "mid" };
    for (int i = 0; i < 3; i++) {
        kg_wallet_create_opts o = opts(names[i], "pw1");
        assert_int_equal(kg_wallet_file_create_entropy(&o, NULL, ent, sizeof(ent)), KG_OK);
    }
    spit("broken", "{}");
    json_t *l = NULL;
    assert_int_equal(kg_wallet_file_list(&l, g_dir), KG_OK);
    json_t *arr = json_object_get(l, "wallets");
    assert_int_equal(json_array_size(arr), 4);
    const char *want[] = { "alpha", "broken", "mid", "zeta" };
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(json_string_value(json_object_get(json_array_get(arr, i), "name")), want[i]);
    assert_non_null(json_object_get(json_array_get(arr, 1), "error"));
    assert_non_null(json_object_get(json_object_get(json_array_get(arr, 0), "public"), "fingerprint"));
    assert_non_null(json_object_get(json_array_get(arr, 0), "created_at"));
    json_decref(l);

    /* Change of passphrase: a wrong old one changes nothing. */
    char *before = slurp("mid");
    assert_int_equal(kg_wallet_file_change_passphrase(g_dir, "mid", "nope", "pw2"), KG_ERR_DECRYPT);
    char *same = slurp("mid");
    assert_string_equal(before, same);
    assert_int_equal(kg_wallet_file_change_passphrase(g_dir, "mid", "pw1", ""), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_wallet_file_change_passphrase(g_dir, "mid", "pw1", "pw2"), KG_OK);
    kg_wallet_unlocked *w = NULL, *w2 = NULL;
    assert_int_equal(kg_wallet_file_open(&w, g_dir, "mid", "pw1"), KG_ERR_DECRYPT);
    assert_int_equal(kg_wallet_file_open(&w, g_dir, "mid", "pw2"), KG_OK);
    assert_int_equal(kg_wallet_file_open(&w2, g_dir, "alpha", "pw1"), KG_OK);
    assert_memory_equal(kg_secret_cdata(w->seed), kg_secret_cdata(w2->seed), 64);
    kg_wallet_unlocked_free(w);
    kg_wallet_unlocked_free(w2);
    free(before);
    free(same);

    /* Delete needs the passphrase. */
    assert_int_equal(kg_wallet_file_delete(g_dir, "zeta", "bad"), KG_ERR_DECRYPT);
    assert_int_equal(kg_wallet_file_delete(g_dir, "zeta", "pw1"), KG_OK);
    assert_int_equal(kg_wallet_file_open(&w, g_dir, "zeta", "pw1"), KG_ERR_NOT_FOUND);
    assert_int_equal(kg_wallet_file_delete(g_dir, "zeta", "pw1"), KG_ERR_NOT_FOUND);

    char missing[300];
    snprintf(missing, sizeof(missing), "%s/none", g_dir);
    assert_int_equal(kg_wallet_file_list(&l, missing), KG_OK);
    assert_int_equal(json_array_size(json_object_get(l, "wallets")), 0);
    json_decref(l);
}

static void test_default_dir(void **state)
{
    (void)state;
    char *d = NULL;
    setenv("KASHGUARD_WALLET_DIR", "/srv/w", 1);
    assert_int_equal(kg_wallet_dir_default(&d), KG_OK);
    assert_string_equal(d, "/srv/w");
    free(d);
    unsetenv("KASHGUARD_WALLET_DIR");
    char *home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
    setenv("HOME", "/home/someone", 1);
    assert_int_equal(kg_wallet_dir_default(&d), KG_OK);
    assert_string_equal(d, "/home/someone/.kashguard/wallets");
    free(d);
    unsetenv("HOME");
    assert_int_equal(kg_wallet_dir_default(&d), KG_ERR_BAD_INPUT);
    assert_null(d);
    if (home != NULL)
        setenv("HOME", home, 1);
    free(home);
    /* dir NULL uses the default */
    setenv("KASHGUARD_WALLET_DIR", g_dir, 1);
    static const uint8_t ent[16] = { 9 };
    kg_wallet_create_opts o = { .name = "dflt", .passphrase = "pw" };
    assert_int_equal(kg_wallet_file_create_entropy(&o, NULL, ent, sizeof(ent)), KG_OK);
    kg_wallet_unlocked *w = NULL;
    assert_int_equal(kg_wallet_file_open(&w, g_dir, "dflt", "pw"), KG_OK);
    kg_wallet_unlocked_free(w);
    unsetenv("KASHGUARD_WALLET_DIR");
}

int main(void)
{
    setenv("KASHGUARD_WALLET_KDF", "fast", 1);
    assert_int_equal(kg_crypto_init(), KG_OK);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bip39_vectors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seed_wallet_and_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_passphrase_and_overwrite, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_create_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_change_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_dir, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
