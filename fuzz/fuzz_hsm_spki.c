/* libFuzzer target for the SubjectPublicKeyInfo parser of the HSM
 * replication path (p11_spki_parse, src/hsm/pkcs11_wrap.c): the SPKI of a
 * group key or of a transport key reaches a member from another member
 * through HMS, and its parts go into a PKCS#11 public key template.
 *
 * Bad input must only produce KG_ERR_BAD_INPUT; a parse that succeeds must
 * fill parts that fit the fixed buffers (checked here: anything else is a
 * bug). Built with -DKG_FUZZ=ON under clang; run
 *     ./fuzz_hsm_spki -max_len=4096 fuzz/corpus/fuzz_hsm_spki */
#include <stdlib.h>
#include <string.h>

#include "../src/hsm/hsm_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    spki_parts p;
    kg_err err = p11_spki_parse(&p, data, size);
    if (err == KG_OK) {
        if (p.type == KG_HSM_KEY_RSA3072) {
            if (p.n_len < 256 || p.n_len > sizeof(p.n) || p.e_len == 0 || p.e_len > sizeof(p.e))
                abort();
        } else if (p.type == KG_HSM_KEY_ED25519) {
            if (p.point_len != 34 || p.point[0] != 0x04 || p.point[1] != 32)
                abort();
        } else if (p.type == KG_HSM_KEY_EC_P256 || p.type == KG_HSM_KEY_EC_SECP256K1) {
            if (p.point_len != 67 || p.point[0] != 0x04 || p.point[1] != 65 || p.point[2] != 0x04)
                abort();
        } else {
            abort();
        }
    } else if (err != KG_ERR_BAD_INPUT) {
        abort();
    }
    return 0;
}
