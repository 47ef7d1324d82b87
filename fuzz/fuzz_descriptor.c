/* libFuzzer target for the wallet's untrusted-text parsers: output
 * descriptors (BIP380-386), extended keys (BIP32), derivation paths and
 * BIP39 mnemonics (with their NFKD normalisation).
 *
 * The input is NUL-terminated and fed to each parser. A descriptor that
 * parses is written back (private and public forms), parsed again, and
 * its scripts for positions 0 and 1 are derived; an extended key that
 * parses is serialized again and must give the same text (for the x
 * family). Any crash, leak or sanitizer report is a bug: bad input must
 * only produce KG_ERR_BAD_INPUT. Built with -DKG_FUZZ=ON under clang; run
 *     ./fuzz_descriptor -max_len=4096 fuzz/corpus/fuzz_descriptor */
#include <kashguard/wallet/hd.h>

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static kg_wallet_desc desc, again;

static void fuzz_desc(const char *text)
{
    if (kg_wallet_desc_parse(&desc, text, false) != KG_OK) return;
    uint8_t spk[KG_WALLET_SCRIPT_MAX_BYTES];
    size_t n = 0;
    for (uint32_t i = 0; i < 2; i++) (void)!kg_wallet_desc_script(spk, &n, &desc, i);
    for (int priv = 0; priv < 2; priv++) {
        static char out[KG_WALLET_DESC_MAX_BYTES * 2];
        if (kg_wallet_desc_format(out, sizeof out, &desc, priv) != KG_OK) abort();
        if (kg_wallet_desc_parse(&again, out, true) != KG_OK) abort();
    }
    kg_wallet_desc_wipe(&desc);
    kg_wallet_desc_wipe(&again);
}

static void fuzz_xkey(const char *text)
{
    kg_wallet_hdkey k;
    kg_wallet_xkey_kind kind;
    if (kg_wallet_xkey_parse(&k, &kind, text) != KG_OK) return;
    char out[KG_WALLET_XKEY_MAX_BYTES];
    if (kg_wallet_xkey_serialize(out, sizeof out, &k, kind, k.has_priv) != KG_OK) abort();
    if (strcmp(out, text) != 0) abort();
    kg_wallet_hdkey child;
    (void)!kg_wallet_hd_derive(&child, &k, 0);
    kg_wallet_hdkey_wipe(&k);
    kg_wallet_hdkey_wipe(&child);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192) return 0;
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    fuzz_desc(text);
    fuzz_xkey(text);
    uint32_t path[KG_WALLET_PATH_MAX];
    size_t count = 0;
    (void)!kg_wallet_path_parse(path, KG_WALLET_PATH_MAX, &count, text);
    uint8_t ent[KG_WALLET_ENTROPY_MAX_BYTES];
    size_t ent_len = 0;
    (void)!kg_wallet_bip39_to_entropy(ent, sizeof ent, &ent_len, NULL, KG_WALLET_LANG_AUTO, text);
    static char norm[16384];
    (void)!kg_wallet_utf8_nfkd(norm, sizeof norm, NULL, text);
    free(text);
    return 0;
}
