/* BIP39: the ten official wordlists, every vector of
 * shared/vectors/bip39_vectors.json (trezor/python-mnemonic's vectors.json:
 * entropy -> mnemonic -> seed with passphrase "TREZOR" -> xprv, per
 * language), NFKD normalisation, error details for bad mnemonics, and an
 * interop check of seeds against Debian's python3-mnemonic (skipped with a
 * message when the module cannot be imported). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "kashguard/wallet/hd.h"

static void hex2bin(uint8_t *out, size_t cap, size_t *len, const char *hex)
{
    assert_int_equal(kg_hex_decode(out, cap, len, hex), KG_OK);
}

static void tohex(char *out, const uint8_t *in, size_t len) { kg_hex_encode(out, in, len); }

/* SHA-256 of each src/wallet/wordlists/<lang>.txt as taken from the npm
 * packages bip39 3.1.2 and @scure/bip39 2.4.0 (identical); english's is the
 * well-known hash of bips/bip-0039/english.txt. */
static const char *const LIST_SHA256[KG_WALLET_LANG_COUNT] = {
    "2f5eed53a4727b4bf8880d8f3f199efc90e58503646d9ff8eff3a2ed3b24dbda",
    "5c5942792bd8340cb8b27cd592f1015edf56a8c5b26276ee18a482428e7c5726",
    "417b26b3d8500a4ae3d59717d7011952db6fc2fb84b807f3f94ac734e89c1b5f",
    "7e80e161c3e93d9554c2efb78d4e3cebf8fc727e9c52e03b83b94406bdcc95fc",
    "ebc3959ab7801a1df6bac4fa7d970652f1df76b683cd2f4003c941c63d517e59",
    "d392c49fdb700a24cd1fceb237c1f65dcc128f6b34a8aacb58b59384b5c648c2",
    "2eed0aef492291e061633d7ad8117f1a2b03eb80a29d0e4e3117ac2528d05ffd",
    "9e95f86c167de88f450f0aaf89e87f6624a57f973c67b516e338e8e8b8897f60",
    "2685e9c194c82ae67e10ba59d9ea5345a23dc093e92276fc5361f6667d79cd3f",
    "46846a5a0139d1e3cb77293e521c2865f7bcdb82c44e8d0a06a2cd0ecba48c0b",
};

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Each compiled list has 2048 distinct words and equals its .txt file,
 * whose hash is the recorded one. */
static void test_wordlists(void **state)
{
    (void)state;
    for (int l = 0; l < KG_WALLET_LANG_COUNT; l++) {
        char path[512], hex[65];
        uint8_t h[32];
        size_t len = 0;
        snprintf(path, sizeof path, "%s/src/wallet/wordlists/%s.txt", KG_SOURCE_DIR,
                 kg_wallet_bip39_lang_name((kg_wallet_lang)l));
        char *txt = read_file(path, &len);
        kg_crypto_sha256(h, (const uint8_t *)txt, len);
        tohex(hex, h, 32);
        assert_string_equal(hex, LIST_SHA256[l]);
        char *p = txt;
        for (unsigned i = 0; i < 2048; i++) {
            char *nl = strchr(p, '\n');
            assert_non_null(nl);
            *nl = '\0';
            assert_string_equal(kg_wallet_bip39_word((kg_wallet_lang)l, i), p);
            for (unsigned j = 0; j < i; j++) /* unique */
                assert_true(strcmp(kg_wallet_bip39_word((kg_wallet_lang)l, j), p) != 0 || j == i);
            p = nl + 1;
        }
        assert_int_equal(*p, '\0');
        assert_null(kg_wallet_bip39_word((kg_wallet_lang)l, 2048));
        kg_wallet_lang back;
        assert_int_equal(kg_wallet_bip39_lang_parse(&back, kg_wallet_bip39_lang_name((kg_wallet_lang)l)), KG_OK);
        assert_int_equal(back, l);
        free(txt);
    }
    kg_wallet_lang x;
    assert_int_equal(kg_wallet_bip39_lang_parse(&x, "klingon"), KG_ERR_BAD_INPUT);
}

/* Every vector of every language we have a list for. */
static void test_vectors(void **state)
{
    (void)state;
    json_error_t jerr;
    json_t *root = json_load_file(KG_VECTORS_DIR "/bip39_vectors.json", 0, &jerr);
    assert_non_null(root);
    const char *lang_name;
    json_t *vecs;
    size_t total = 0, langs = 0, skipped = 0;
    json_object_foreach(root, lang_name, vecs) {
        kg_wallet_lang lang;
        if (kg_wallet_bip39_lang_parse(&lang, lang_name) != KG_OK) {
            printf("bip39: skipped %zu '%s' vectors: not an official BIP39 wordlist\n",
                   json_array_size(vecs), lang_name);
            skipped += json_array_size(vecs);
            continue;
        }
        langs++;
        size_t i;
        json_t *v;
        json_array_foreach(vecs, i, v) {
            const char *ent_hex = json_string_value(json_array_get(v, 0));
            const char *mnemonic = json_string_value(json_array_get(v, 1));
            const char *seed_hex = json_string_value(json_array_get(v, 2));
            const char *xprv = json_string_value(json_array_get(v, 3));
            uint8_t ent[32], ent2[32], seed[64], want_seed[64];
            size_t ent_len = 0, ent2_len = 0, seed_len = 0;
            char m[KG_WALLET_MNEMONIC_MAX_BYTES], x[KG_WALLET_XKEY_MAX_BYTES];
            hex2bin(ent, sizeof ent, &ent_len, ent_hex);
            hex2bin(want_seed, sizeof want_seed, &seed_len, seed_hex);
            assert_int_equal(kg_wallet_bip39_from_entropy(m, sizeof m, lang, ent, ent_len), KG_OK);
            assert_string_equal(m, mnemonic);
            kg_wallet_lang got = KG_WALLET_LANG_COUNT;
            assert_int_equal(kg_wallet_bip39_to_entropy(ent2, sizeof ent2, &ent2_len, &got,
                                                        KG_WALLET_LANG_AUTO, mnemonic), KG_OK);
            assert_int_equal(ent2_len, ent_len);
            assert_memory_equal(ent2, ent, ent_len);
            if (lang == KG_WALLET_LANG_CHINESE_TRADITIONAL && got == KG_WALLET_LANG_CHINESE_SIMPLIFIED) {
                /* shared words: detection may pick either list; the entropy is the same */
            } else {
                assert_int_equal(got, lang);
            }
            assert_int_equal(kg_wallet_bip39_to_entropy(ent2, sizeof ent2, &ent2_len, NULL, lang, mnemonic),
                             KG_OK);
            assert_int_equal(kg_wallet_bip39_to_seed(seed, mnemonic, "TREZOR"), KG_OK);
            assert_memory_equal(seed, want_seed, 64);
            kg_wallet_hdkey k;
            assert_int_equal(kg_wallet_hd_from_seed(&k, KG_WALLET_CURVE_SECP256K1, seed, 64), KG_OK);
            assert_int_equal(kg_wallet_xkey_serialize(x, sizeof x, &k, KG_WALLET_XKEY_X, true), KG_OK);
            assert_string_equal(x, xprv);
            kg_wallet_hdkey_wipe(&k);
            total++;
        }
    }
    printf("bip39: %zu vectors passed in %zu languages (entropy->mnemonic->entropy, seed, xprv); "
           "%zu skipped\n", total, langs, skipped);
    assert_int_equal(langs, KG_WALLET_LANG_COUNT);
    assert_int_equal(total, 240);
    json_decref(root);
}

static void expect_nfkd(const char *in, const char *want)
{
    char out[256];
    size_t n = 0;
    assert_int_equal(kg_wallet_utf8_nfkd(out, sizeof out, &n, in), KG_OK);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
}

static void test_nfkd(void **state)
{
    (void)state;
    expect_nfkd("", "");
    expect_nfkd("abc", "abc");
    expect_nfkd("\xc3\xa9", "e\xcc\x81");                         /* é */
    expect_nfkd("\xef\xac\x81", "fi");                            /* U+FB01 ligature */
    expect_nfkd("\xe3\x80\x80", " ");                             /* ideographic space */
    expect_nfkd("\xef\xbc\xa1", "A");                             /* fullwidth A */
    expect_nfkd("\xe3\x81\x8c", "\xe3\x81\x8b\xe3\x82\x99");      /* が -> か + dakuten */
    expect_nfkd("\xea\xb0\x80", "\xe1\x84\x80\xe1\x85\xa1");      /* 가 -> jamo L V */
    expect_nfkd("\xea\xb0\x81", "\xe1\x84\x80\xe1\x85\xa1\xe1\x86\xa8"); /* 각: L V T */
    /* canonical ordering: acute (230) after dot below (220) */
    expect_nfkd("a\xcc\x81\xcc\xa3", "a\xcc\xa3\xcc\x81");
    expect_nfkd("\xe1\xba\xa5", "a\xcc\x82\xcc\x81");            /* ấ: recursive decomposition */
    char out[8];
    assert_int_equal(kg_wallet_utf8_nfkd(out, sizeof out, NULL, "\xff"), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_wallet_utf8_nfkd(out, sizeof out, NULL, "\xc0\x80"), KG_ERR_BAD_INPUT); /* overlong */
    assert_int_equal(kg_wallet_utf8_nfkd(out, sizeof out, NULL, "\xed\xa0\x80"), KG_ERR_BAD_INPUT); /* surrogate */
    assert_int_equal(kg_wallet_utf8_nfkd(out, sizeof out, NULL, "\xe3\x81"), KG_ERR_BAD_INPUT); /* truncated */
    assert_int_equal(kg_wallet_utf8_nfkd(out, sizeof out, NULL, "12345678"), KG_ERR_BAD_INPUT); /* no room */
    assert_int_equal(kg_wallet_utf8_nfkd(out, sizeof out, NULL, "\xc3\xa9\xc3\xa9\xc3\xa9"), KG_ERR_BAD_INPUT);
    char marks[200] = "a";
    for (int i = 0; i < 40; i++) strcat(marks, "\xcc\x81");
    char big[256];
    assert_int_equal(kg_wallet_utf8_nfkd(big, sizeof big, NULL, marks), KG_ERR_BAD_INPUT);
}

/* Composed input (as typed) gives the same seed as the NFKD vectors. */
static void test_composed_input(void **state)
{
    (void)state;
    uint8_t a[64], b[64];
    /* spanish vector 0: "ábaco" x11 + "abierto", with á precomposed (U+00E1) */
    char sp[512] = "";
    for (int i = 0; i < 11; i++) strcat(sp, "\xc3\xa1" "baco ");
    strcat(sp, "abierto");
    assert_int_equal(kg_wallet_bip39_to_seed(a, sp, "TREZOR"), KG_OK);
    assert_int_equal(kg_wallet_bip39_to_seed(b, "a\xcc\x81" "baco a\xcc\x81" "baco a\xcc\x81" "baco "
        "a\xcc\x81" "baco a\xcc\x81" "baco a\xcc\x81" "baco a\xcc\x81" "baco a\xcc\x81" "baco "
        "a\xcc\x81" "baco a\xcc\x81" "baco a\xcc\x81" "baco abierto", "TREZOR"), KG_OK);
    assert_memory_equal(a, b, 64);
    uint8_t want[64];
    size_t n = 0;
    hex2bin(want, sizeof want, &n, "29a2ee16de47d07025de37e7d9c596869439f9bcd26a702d2bae64db2bf0f683"
                                   "83841c5444b5b3bd39dd720d2ebe59969e110e5955c8e6d32c6c3294fd87439b");
    assert_memory_equal(a, want, 64);
    /* korean vector 0 with precomposed syllables 가격 (U+AC00 U+ACA9), 가능 (U+AC00 U+B2A5) */
    char ko[512] = "";
    for (int i = 0; i < 11; i++) strcat(ko, "\xea\xb0\x80\xea\xb2\xa9 ");
    strcat(ko, "\xea\xb0\x80\xeb\x8a\xa5");
    assert_int_equal(kg_wallet_bip39_to_seed(a, ko, "TREZOR"), KG_OK);
    hex2bin(want, sizeof want, &n, "a253d07f616223e337b6fa257632a2cc37e1ba36ff0bc7cf5a943366fa1b9ef0"
                                   "2d6aa0333da51c17902951634b8aa81b6692a194b07f4f8c542335d73c96aad3");
    assert_memory_equal(a, want, 64);
    /* extra whitespace between words does not change the seed */
    assert_int_equal(kg_wallet_bip39_to_seed(a, "  abandon abandon\tabandon abandon abandon abandon abandon "
        "abandon abandon abandon abandon   about\n", "TREZOR"), KG_OK);
    hex2bin(want, sizeof want, &n, "c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e53495531f09a6987599d18264c1e1c92f2cf141630c7a3c4ab7c81b2f001698e7463b04");
    assert_memory_equal(a, want, 64);
    /* passphrase "é" composed and decomposed hash alike */
    const char *m12 = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
    assert_int_equal(kg_wallet_bip39_to_seed(a, m12, "\xc3\xa9"), KG_OK);
    assert_int_equal(kg_wallet_bip39_to_seed(b, m12, "e\xcc\x81"), KG_OK);
    assert_memory_equal(a, b, 64);
    assert_int_equal(kg_wallet_bip39_to_seed(b, m12, NULL), KG_OK);
    assert_int_equal(kg_wallet_bip39_to_seed(a, m12, ""), KG_OK);
    assert_memory_equal(a, b, 64);
}

static void test_bad_mnemonics(void **state)
{
    (void)state;
    uint8_t ent[32], seed[64];
    size_t n = 99;
    static const uint8_t zero[64];
    assert_int_equal(kg_wallet_bip39_to_entropy(ent, sizeof ent, &n, NULL, KG_WALLET_LANG_AUTO,
        "abandon abandon abandon abandon abandon abandon abandn abandon abandon abandon abandon about"),
        KG_ERR_BAD_INPUT);
    assert_string_equal(kg_err_detail(KG_ERR_BAD_INPUT), "word 7 'abandn' is not in the english wordlist");
    assert_int_equal(n, 0);
    assert_int_equal(kg_wallet_bip39_to_entropy(ent, sizeof ent, &n, NULL, KG_WALLET_LANG_AUTO,
        "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon"),
        KG_ERR_BAD_INPUT);
    assert_non_null(strstr(kg_err_detail(KG_ERR_BAD_INPUT), "checksum"));
    assert_int_equal(kg_wallet_bip39_to_entropy(ent, sizeof ent, &n, NULL, KG_WALLET_LANG_AUTO,
        "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"),
        KG_ERR_BAD_INPUT);
    assert_non_null(strstr(kg_err_detail(KG_ERR_BAD_INPUT), "has 11"));
    assert_int_equal(kg_wallet_bip39_to_entropy(ent, sizeof ent, &n, NULL, KG_WALLET_LANG_AUTO, ""),
                     KG_ERR_BAD_INPUT);
    /* valid english, but the caller insists on french */
    assert_int_equal(kg_wallet_bip39_to_entropy(ent, sizeof ent, &n, NULL, KG_WALLET_LANG_FRENCH,
        "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"),
        KG_ERR_BAD_INPUT);
    assert_non_null(strstr(kg_err_detail(KG_ERR_BAD_INPUT), "french wordlist"));
    /* an overlong word, invalid UTF-8, a huge input */
    assert_int_equal(kg_wallet_bip39_to_entropy(ent, sizeof ent, &n, NULL, KG_WALLET_LANG_AUTO,
        "abandonabandonabandonabandonabandonabandonabandon abandon abandon abandon abandon abandon abandon "
        "abandon abandon abandon abandon about"), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_wallet_bip39_to_seed(seed, "abandon \xff", "x"), KG_ERR_BAD_INPUT);
    assert_memory_equal(seed, zero, 64);
    char *huge = malloc(5000);
    memset(huge, 'a', 4999);
    huge[4999] = '\0';
    assert_int_equal(kg_wallet_bip39_to_seed(seed, huge, ""), KG_ERR_BAD_INPUT);
    free(huge);
    /* a passphrase too long once normalised */
    char *pass = malloc(3000);
    memset(pass, 'p', 2999);
    pass[2999] = '\0';
    assert_int_equal(kg_wallet_bip39_to_seed(seed, "abandon abandon abandon abandon abandon abandon abandon "
        "abandon abandon abandon abandon about", pass), KG_ERR_BAD_INPUT);
    free(pass);
    /* entropy sizes and buffers */
    char m[KG_WALLET_MNEMONIC_MAX_BYTES];
    assert_int_equal(kg_wallet_bip39_from_entropy(m, sizeof m, KG_WALLET_LANG_ENGLISH, ent, 15), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_wallet_bip39_from_entropy(m, sizeof m, KG_WALLET_LANG_ENGLISH, ent, 36), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_wallet_bip39_from_entropy(m, 20, KG_WALLET_LANG_ENGLISH, ent, 16), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_wallet_bip39_from_entropy(m, sizeof m, (kg_wallet_lang)42, ent, 16), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_wallet_bip39_generate(m, sizeof m, KG_WALLET_LANG_ENGLISH, 13), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_wallet_bip39_generate(m, sizeof m, KG_WALLET_LANG_ENGLISH, 27), KG_ERR_BAD_INPUT);
}

/* Generated mnemonics of every size and language round-trip. */
static void test_generate(void **state)
{
    (void)state;
    for (int l = 0; l < KG_WALLET_LANG_COUNT; l++)
        for (unsigned w = 12; w <= 24; w += 3) {
            char m[KG_WALLET_MNEMONIC_MAX_BYTES];
            uint8_t ent[32];
            size_t n = 0;
            kg_wallet_lang got;
            assert_int_equal(kg_wallet_bip39_generate(m, sizeof m, (kg_wallet_lang)l, w), KG_OK);
            assert_int_equal(kg_wallet_bip39_to_entropy(ent, sizeof ent, &n, &got, (kg_wallet_lang)l, m), KG_OK);
            assert_int_equal(n, w * 4 / 3);
        }
    /* the longest possible mnemonic fits the documented maximum */
    uint8_t ff[32];
    memset(ff, 0xff, 32);
    for (int l = 0; l < KG_WALLET_LANG_COUNT; l++) {
        char m[KG_WALLET_MNEMONIC_MAX_BYTES];
        assert_int_equal(kg_wallet_bip39_from_entropy(m, sizeof m, (kg_wallet_lang)l, ff, 32), KG_OK);
    }
}

/* Seeds of random mnemonics and awkward passphrases agree with
 * python3-mnemonic (Debian), an independent implementation that runs
 * Python's own unicodedata NFKD. */
static void test_python_mnemonic_interop(void **state)
{
    (void)state;
    if (system("/usr/bin/python3 -c 'import mnemonic' >/dev/null 2>&1") != 0) {
        printf("bip39 interop: SKIPPED: /usr/bin/python3 cannot import mnemonic "
               "(install python3-mnemonic: scripts/deps)\n");
        return;
    }
    static const char *const pieces[] = {
        "TREZOR", "p\xc3\xa4ss", "e\xcc\x81t\xc3\xa9", "\xe3\x81\x8c\xe3\x81\xb1", "\xea\xb0\x81\xeb\x8a\xa5",
        "\xef\xac\x81", "\xef\xbc\xa1\xef\xbc\xa2", "\xe2\x84\xa2", "a\xcc\x81\xcc\xa3", "\xc5\x93\xc4\xb3",
        "\xe3\x80\x80", " ", "\xc2\xbd", "\xe2\x91\xa0", "\xf0\x9d\x90\x80", "\xe1\xba\xa5",
    };
    char path[] = "/tmp/kg_bip39_interopXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    char seeds[20][129];
    for (int i = 0; i < 20; i++) {
        char m[KG_WALLET_MNEMONIC_MAX_BYTES], pass[256] = "";
        uint8_t r[4], seed[64];
        assert_int_equal(kg_crypto_random(r, sizeof r), KG_OK);
        assert_int_equal(kg_wallet_bip39_generate(m, sizeof m, (kg_wallet_lang)(i % KG_WALLET_LANG_COUNT),
                                                  12 + 3 * (r[0] % 5)), KG_OK);
        for (int j = 0; j < 1 + r[1] % 5; j++)
            strcat(pass, pieces[(r[2] + j * r[3]) % (sizeof pieces / sizeof *pieces)]);
        assert_int_equal(kg_wallet_bip39_to_seed(seed, m, pass), KG_OK);
        tohex(seeds[i], seed, 64);
        json_t *line = json_pack("[ss]", m, pass);
        char *s = json_dumps(line, JSON_ENSURE_ASCII);
        fprintf(f, "%s\n", s);
        free(s);
        json_decref(line);
    }
    fclose(f);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 -c 'import sys,json,mnemonic\n"
             "for l in open(sys.argv[1]):\n"
             "  m,p=json.loads(l); print(mnemonic.Mnemonic.to_seed(m,p).hex())' %s", path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[256];
    int i = 0;
    while (fgets(line, sizeof line, p)) {
        line[strcspn(line, "\n")] = '\0';
        assert_true(i < 20);
        assert_string_equal(line, seeds[i]);
        i++;
    }
    assert_int_equal(pclose(p), 0);
    unlink(path);
    assert_int_equal(i, 20);
    printf("bip39 interop: 20 random mnemonics (all languages) + non-ASCII passphrases: seeds equal "
           "python3-mnemonic's\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wordlists),
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_nfkd),
        cmocka_unit_test(test_composed_input),
        cmocka_unit_test(test_bad_mnemonics),
        cmocka_unit_test(test_generate),
        cmocka_unit_test(test_python_mnemonic_interop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
