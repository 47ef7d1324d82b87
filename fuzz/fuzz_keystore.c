/* libFuzzer target for the keystore v3 (Web3 Secret Storage) parser.
 *
 * Feeds arbitrary bytes to wstore_keystore_parse (the strict JSON parser
 * behind kg_wallet_keystore_import). When a document parses and its kdf is
 * cheap enough to run thousands of times a second (scrypt n*r*p <= 1024,
 * pbkdf2 c <= 64), it is also decrypted with a fixed password, which
 * exercises the MAC check, AES-CTR and the key/address checks. The kdf
 * bounds themselves are what keep an attacker's document from costing more
 * (store.h). Any crash, leak or sanitizer report is a bug; an error must
 * come with a single-line detail. Built with -DKG_FUZZ=ON under clang; run
 *     ./fuzz_keystore -max_len=4096 fuzz/corpus/fuzz_keystore */
#include <kashguard/wallet.h>
#include "../src/wallet/wstore_int.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_detail(kg_err e)
{
    if (e == KG_OK)
        return;
    const char *d = kg_err_detail(e);
    if (d == NULL || strchr(d, '\n') != NULL || strchr(d, '\r') != NULL)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wstore_keystore ks;
    kg_err e = wstore_keystore_parse(&ks, (const char *)data, size);
    check_detail(e);
    if (e != KG_OK)
        return 0;
    if (wstore_keystore_params_check(&ks.kdf) != KG_OK)
        abort(); /* the parser let absurd parameters through */
    bool cheap = ks.kdf.kdf == KG_WALLET_KEYSTORE_SCRYPT ? ks.kdf.n * ks.kdf.r * ks.kdf.p <= 1024
                                                          : ks.kdf.c <= 64;
    if (cheap) {
        uint8_t priv[32], addr[20];
        e = wstore_keystore_decrypt(priv, addr, &ks, "password", 8);
        check_detail(e);
        if (e != KG_OK) {
            static const uint8_t zero[32];
            if (memcmp(priv, zero, 32) != 0)
                abort(); /* outputs must be zero on error */
        }
        kg_wipe(priv, sizeof(priv));
    }
    return 0;
}
