/* BIP39 mnemonic code: entropy <-> words in the ten official wordlists, and
 * mnemonic + passphrase -> 64-byte seed.
 *
 * BIP39 "Generating the mnemonic": ENT bits of entropy (128..256, a
 * multiple of 32) get CS = ENT/32 checksum bits, the first bits of
 * SHA256(entropy); the ENT+CS bits are cut into 11-bit word indexes.
 * "From mnemonic to seed": PBKDF2-HMAC-SHA512 with 2048 iterations over
 * NFKD(mnemonic), salt "mnemonic" || NFKD(passphrase), 64 bytes out.
 *
 * The words are secret, so a word is never used as a table index and an
 * index never selects a word by address: each lookup compares against, or
 * copies from, all 2048 entries of the fixed-stride list with masks
 * (bip39_wordlists.c is laid out for this). Which language a mnemonic is
 * in, and how many words it has, are treated as public. Every buffer that
 * held words, entropy or a passphrase is wiped before returning. */
#include <string.h>

#include "hd_int.h"

#define NORM_MAX (2 * KG_WALLET_MNEMONIC_MAX_BYTES)
#define PASS_MAX KG_WALLET_PASSPHRASE_MAX_BYTES
#define MAX_WORDS 24

static const char SALT_PREFIX[] = "mnemonic";

const char *kg_wallet_bip39_lang_name(kg_wallet_lang lang)
{
    if ((int)lang < 0 || lang >= KG_WALLET_LANG_COUNT) return NULL;
    return kg_wallet_bip39_lists[lang].name;
}

kg_err kg_wallet_bip39_lang_parse(kg_wallet_lang *lang, const char *name)
{
    for (int i = 0; i < KG_WALLET_LANG_COUNT; i++) {
        if (strcmp(name, kg_wallet_bip39_lists[i].name) == 0) {
            *lang = (kg_wallet_lang)i;
            return KG_OK;
        }
    }
    *lang = KG_WALLET_LANG_ENGLISH;
    return kg_err_set(KG_ERR_BAD_INPUT, "unknown BIP39 language; use one of english, chinese_simplified, "
                      "chinese_traditional, czech, french, italian, japanese, korean, portuguese, spanish");
}

const char *kg_wallet_bip39_word(kg_wallet_lang lang, unsigned index)
{
    if ((int)lang < 0 || lang >= KG_WALLET_LANG_COUNT || index >= 2048) return NULL;
    const kg_wallet_wordlist *wl = &kg_wallet_bip39_lists[lang];
    return wl->words + (size_t)index * wl->stride;
}

/* All ones when a == b, else zero (a, b < 2^31). */
static uint32_t ct_eq_mask(uint32_t a, uint32_t b)
{
    uint32_t d = a ^ b;
    return (uint32_t)0 - ((d - 1u) >> 31);
}

/* Copy word idx of wl into word (wl->stride bytes) touching every entry. */
static void ct_word_copy(char *word, const kg_wallet_wordlist *wl, uint32_t idx)
{
    memset(word, 0, wl->stride);
    for (uint32_t j = 0; j < 2048; j++) {
        uint8_t m = (uint8_t)ct_eq_mask(j, idx);
        const char *e = wl->words + (size_t)j * wl->stride;
        for (size_t k = 0; k < wl->stride; k++) word[k] = (char)(word[k] | (e[k] & m));
    }
}

/* Index of the NUL-padded word (wl->stride bytes) in wl, or -1, comparing
 * against every entry. */
static int32_t ct_word_find(const kg_wallet_wordlist *wl, const char *padded)
{
    uint32_t idx = 0, found = 0;
    for (uint32_t j = 0; j < 2048; j++) {
        const char *e = wl->words + (size_t)j * wl->stride;
        uint8_t diff = 0;
        for (size_t k = 0; k < wl->stride; k++) diff |= (uint8_t)(padded[k] ^ e[k]);
        uint32_t m = ct_eq_mask(diff, 0);
        idx |= j & m;
        found |= m;
    }
    return found ? (int32_t)idx : -1;
}

/* Word i (11 bits) of the bit string bits. */
static uint32_t bits11(const uint8_t *bits, size_t i)
{
    size_t bit = i * 11;
    uint32_t v = ((uint32_t)bits[bit / 8] << 16) | ((uint32_t)bits[bit / 8 + 1] << 8) | bits[bit / 8 + 2];
    return (v >> (24 - 11 - bit % 8)) & 0x7FF;
}

kg_err kg_wallet_bip39_from_entropy(char *out, size_t out_cap, kg_wallet_lang lang,
                                    const uint8_t *entropy, size_t entropy_len)
{
    if (out_cap) out[0] = '\0';
    if ((int)lang < 0 || lang >= KG_WALLET_LANG_COUNT)
        return kg_err_set(KG_ERR_BAD_INPUT, "unknown BIP39 language %d", (int)lang);
    if (entropy_len < 16 || entropy_len > 32 || entropy_len % 4)
        return kg_err_set(KG_ERR_BAD_INPUT, "BIP39 entropy must be 16, 20, 24, 28 or 32 bytes, not %zu",
                          entropy_len);
    const kg_wallet_wordlist *wl = &kg_wallet_bip39_lists[lang];
    uint8_t bits[KG_WALLET_ENTROPY_MAX_BYTES + 4] = {0}, hash[32];
    char word[64];
    size_t nwords = entropy_len * 8 * 33 / 32 / 11, len = 0, seplen = strlen(wl->sep);
    kg_err err = KG_OK;
    memcpy(bits, entropy, entropy_len);
    kg_crypto_sha256(hash, entropy, entropy_len);
    bits[entropy_len] = hash[0]; /* CS <= 8 bits, all within the first hash byte */
    for (size_t i = 0; i < nwords; i++) {
        ct_word_copy(word, wl, bits11(bits, i));
        size_t wlen = strnlen(word, wl->stride);
        if (len + (i ? seplen : 0) + wlen + 1 > out_cap) {
            err = kg_err_set(KG_ERR_BAD_INPUT, "the mnemonic buffer is too small; give %d bytes",
                             KG_WALLET_MNEMONIC_MAX_BYTES);
            break;
        }
        if (i) { memcpy(out + len, wl->sep, seplen); len += seplen; }
        memcpy(out + len, word, wlen);
        len += wlen;
    }
    if (err == KG_OK) out[len] = '\0';
    else if (out_cap) kg_wipe(out, out_cap);
    kg_wipe(bits, sizeof bits);
    kg_wipe(hash, sizeof hash);
    kg_wipe(word, sizeof word);
    return err;
}

kg_err kg_wallet_bip39_generate(char *out, size_t out_cap, kg_wallet_lang lang, unsigned words)
{
    if (out_cap) out[0] = '\0';
    if (words < 12 || words > 24 || words % 3)
        return kg_err_set(KG_ERR_BAD_INPUT, "a BIP39 mnemonic has 12, 15, 18, 21 or 24 words, not %u", words);
    uint8_t entropy[KG_WALLET_ENTROPY_MAX_BYTES];
    size_t len = words * 11 * 32 / 33 / 8;
    kg_err err = kg_crypto_random(entropy, len);
    if (err == KG_OK) err = kg_wallet_bip39_from_entropy(out, out_cap, lang, entropy, len);
    kg_wipe(entropy, sizeof entropy);
    return err;
}

/* The words of a normalised mnemonic, split on ASCII whitespace (NFKD has
 * already turned U+3000 and other spaces into U+0020). */
typedef struct {
    size_t n;
    const char *start[MAX_WORDS + 1];
    size_t len[MAX_WORDS + 1];
} word_split;

static void split_words(word_split *ws, const char *s)
{
    ws->n = 0;
    for (size_t i = 0; s[i];) {
        if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') { i++; continue; }
        size_t j = i;
        while (s[j] && s[j] != ' ' && s[j] != '\t' && s[j] != '\n' && s[j] != '\r') j++;
        if (ws->n <= MAX_WORDS) { ws->start[ws->n] = s + i; ws->len[ws->n] = j - i; }
        ws->n++;
        i = j;
    }
}

/* Look every word up in wl. Returns the number of leading words found
 * (ws->n when all are); idx gets their indexes. */
static size_t lookup_all(uint16_t *idx, const kg_wallet_wordlist *wl, const word_split *ws)
{
    char padded[64];
    size_t i;
    for (i = 0; i < ws->n; i++) {
        if (ws->len[i] >= wl->stride) break;
        memset(padded, 0, sizeof padded);
        memcpy(padded, ws->start[i], ws->len[i]);
        int32_t v = ct_word_find(wl, padded);
        if (v < 0) break;
        idx[i] = (uint16_t)v;
    }
    kg_wipe(padded, sizeof padded);
    return i;
}

/* Rebuild entropy from indexes and check the checksum. True when it matches. */
static bool indexes_to_entropy(uint8_t *entropy, const uint16_t *idx, size_t n)
{
    uint8_t bits[KG_WALLET_ENTROPY_MAX_BYTES + 4] = {0}, hash[32];
    for (size_t i = 0; i < n; i++)
        for (size_t b = 0; b < 11; b++) {
            size_t bit = i * 11 + b;
            bits[bit / 8] |= (uint8_t)(((idx[i] >> (10 - b)) & 1) << (7 - bit % 8));
        }
    size_t ent = n * 11 * 32 / 33 / 8, cs = n * 11 / 33;
    kg_crypto_sha256(hash, bits, ent);
    uint8_t mask = (uint8_t)(0xFF << (8 - cs));
    bool ok = ((hash[0] ^ bits[ent]) & mask) == 0;
    memcpy(entropy, bits, ent);
    kg_wipe(bits, sizeof bits);
    kg_wipe(hash, sizeof hash);
    return ok;
}

static kg_err word_error(const word_split *ws, size_t pos, kg_wallet_lang lang)
{
    char shown[40];
    size_t n = ws->len[pos] < sizeof shown - 1 ? ws->len[pos] : sizeof shown - 1;
    memcpy(shown, ws->start[pos], n);
    shown[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)shown[i] < 0x20 || shown[i] == '\'') shown[i] = '?';
    kg_err err = kg_err_set(KG_ERR_BAD_INPUT, "word %zu '%s' is not in the %s wordlist", pos + 1, shown,
                            kg_wallet_bip39_lists[lang].name);
    kg_wipe(shown, sizeof shown);
    return err;
}

/* Core of to_entropy; norm holds the NFKD mnemonic. */
static kg_err decode_words(uint8_t *entropy, size_t *entropy_len, kg_wallet_lang *used,
                           kg_wallet_lang lang, const word_split *ws, uint16_t *idx)
{
    if (ws->n < 12 || ws->n > 24 || ws->n % 3)
        return kg_err_set(KG_ERR_BAD_INPUT, "a BIP39 mnemonic has 12, 15, 18, 21 or 24 words; this one "
                          "has %zu", ws->n);
    int first = lang == KG_WALLET_LANG_AUTO ? 0 : (int)lang;
    int last = lang == KG_WALLET_LANG_AUTO ? KG_WALLET_LANG_COUNT - 1 : (int)lang;
    int best = first, checksum_lang = -1;
    size_t best_found = 0;
    for (int l = first; l <= last; l++) {
        size_t found = lookup_all(idx, &kg_wallet_bip39_lists[l], ws);
        if (found == ws->n) {
            if (indexes_to_entropy(entropy, idx, ws->n)) {
                *entropy_len = ws->n * 11 * 32 / 33 / 8;
                *used = (kg_wallet_lang)l;
                return KG_OK;
            }
            if (checksum_lang < 0) checksum_lang = l;
        } else if (found > best_found) {
            best_found = found;
            best = l;
        }
    }
    if (checksum_lang >= 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "the mnemonic's checksum does not match (%s wordlist): a word "
                          "is wrong or misplaced", kg_wallet_bip39_lists[checksum_lang].name);
    return word_error(ws, best_found, (kg_wallet_lang)best);
}

kg_err kg_wallet_bip39_to_entropy(uint8_t *entropy, size_t entropy_cap, size_t *entropy_len,
                                  kg_wallet_lang *lang_out, kg_wallet_lang lang, const char *mnemonic)
{
    *entropy_len = 0;
    if (lang_out) *lang_out = KG_WALLET_LANG_ENGLISH;
    if (lang != KG_WALLET_LANG_AUTO && ((int)lang < 0 || lang >= KG_WALLET_LANG_COUNT))
        return kg_err_set(KG_ERR_BAD_INPUT, "unknown BIP39 language %d", (int)lang);
    char norm[NORM_MAX];
    uint8_t ent[KG_WALLET_ENTROPY_MAX_BYTES] = {0};
    uint16_t idx[MAX_WORDS] = {0};
    word_split ws;
    size_t len = 0;
    kg_wallet_lang used = KG_WALLET_LANG_ENGLISH;
    kg_err err = kg_wallet_utf8_nfkd(norm, sizeof norm, NULL, mnemonic);
    if (err == KG_OK) {
        split_words(&ws, norm);
        err = decode_words(ent, &len, &used, lang, &ws, idx);
    }
    if (err == KG_OK && len > entropy_cap)
        err = kg_err_set(KG_ERR_BAD_INPUT, "the entropy buffer is too small; give %d bytes",
                         KG_WALLET_ENTROPY_MAX_BYTES);
    if (err == KG_OK) {
        memcpy(entropy, ent, len);
        *entropy_len = len;
        if (lang_out) *lang_out = used;
    }
    kg_wipe(norm, sizeof norm);
    kg_wipe(ent, sizeof ent);
    kg_wipe(idx, sizeof idx);
    kg_wipe(&ws, sizeof ws);
    return err;
}

kg_err kg_wallet_bip39_to_seed(uint8_t seed[static KG_WALLET_SEED_BYTES], const char *mnemonic,
                               const char *passphrase)
{
    memset(seed, 0, KG_WALLET_SEED_BYTES);
    uint8_t ent[KG_WALLET_ENTROPY_MAX_BYTES];
    size_t ent_len = 0, pass_len = 0;
    kg_wallet_lang lang = KG_WALLET_LANG_ENGLISH;
    char sentence[KG_WALLET_MNEMONIC_MAX_BYTES], salt[sizeof SALT_PREFIX - 1 + PASS_MAX];
    kg_err err = kg_wallet_bip39_to_entropy(ent, sizeof ent, &ent_len, &lang, KG_WALLET_LANG_AUTO, mnemonic);
    /* The canonical sentence: the list's NFKD words joined by U+0020 (what
     * NFKD makes of the japanese U+3000 separator too). */
    if (err == KG_OK)
        err = kg_wallet_bip39_from_entropy(sentence, sizeof sentence, lang, ent, ent_len);
    if (err == KG_OK) {
        size_t r = 0, w = 0;
        while (sentence[r]) {
            if (strncmp(sentence + r, "\xe3\x80\x80", 3) == 0) { sentence[w++] = ' '; r += 3; }
            else sentence[w++] = sentence[r++];
        }
        sentence[w] = '\0';
    }
    memcpy(salt, SALT_PREFIX, sizeof SALT_PREFIX - 1);
    if (err == KG_OK)
        err = kg_wallet_utf8_nfkd(salt + sizeof SALT_PREFIX - 1, PASS_MAX, &pass_len,
                                  passphrase ? passphrase : "");
    if (err == KG_OK)
        err = kg_crypto_pbkdf2_sha512(seed, KG_WALLET_SEED_BYTES, (const uint8_t *)sentence, strlen(sentence),
                                      (const uint8_t *)salt, sizeof SALT_PREFIX - 1 + pass_len, 2048);
    if (err != KG_OK) kg_wipe(seed, KG_WALLET_SEED_BYTES);
    kg_wipe(ent, sizeof ent);
    kg_wipe(sentence, sizeof sentence);
    kg_wipe(salt, sizeof salt);
    return err;
}
