/* libFuzzer target for the PSBT parser (BIP174 v0 / BIP370 v2).
 *
 * Arbitrary bytes go to kg_chain_psbt_parse in a caller arena (the
 * firmware's form: no heap). Bad input must only produce a kg_err with a
 * single-line detail and an emptied PSBT; input that parses must
 * re-serialize to exactly the same bytes, parse again, and survive the
 * version conversion, the finalizer and the extractor without a crash.
 * Run e.g.  ./fuzz_psbt -max_len=65536 fuzz/corpus/fuzz_psbt */
#include <kashguard/chain/psbt.h>

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t arena[1 << 20], arena2[1 << 20], out[1 << 18], tx[1 << 18];

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
    kg_chain_psbt p, q;
    size_t n = 0;
    kg_chain_psbt_init(&p, arena, sizeof arena);
    kg_err e = kg_chain_psbt_parse(&p, data, size);
    check_detail(e);
    if (e != KG_OK) {
        if (p.n_in != 0 || p.n_out != 0 || p.global.head != NULL)
            abort();
        return 0;
    }
    if (kg_chain_psbt_serialize(out, sizeof out, &n, &p) != KG_OK)
        return 0; /* bigger than our buffer: fine */
    if (n != size || memcmp(out, data, size) != 0)
        abort(); /* parse -> serialize must be the identity */
    kg_chain_psbt_init(&q, arena2, sizeof arena2);
    if (kg_chain_psbt_parse(&q, out, n) != KG_OK)
        abort();
    check_detail(kg_chain_psbt_convert(&q, p.version == 0 ? 2 : 0));
    if (q.global.head != NULL && kg_chain_psbt_serialize(out, sizeof out, &n, &q) == KG_OK &&
        kg_chain_psbt_parse(&q, out, n) != KG_OK)
        abort(); /* a converted PSBT must parse */
    check_detail(kg_chain_psbt_finalize(&p));
    check_detail(kg_chain_psbt_extract(tx, sizeof tx, &n, &p));
    return 0;
}
