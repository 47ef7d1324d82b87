/* libFuzzer target for the JSON request path of the base layer.
 *
 * Feeds arbitrary bytes to kg_json_parse_object and, when they parse, runs
 * every typed getter and the field check over the fields a request usually
 * has, plus the first few fields of whatever the input contains. Any crash,
 * leak or sanitizer report is a bug: bad input must only ever produce a
 * kg_err with a detail that is valid, single-line UTF-8. Built with
 * -DKG_FUZZ=ON under clang; run e.g.
 *     ./fuzz_json -max_len=4096 fuzz/corpus/fuzz_json */
#include <kashguard/base.h>

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_detail(kg_err e)
{
    if (e == KG_OK)
        return;
    const char *d = kg_err_detail(e);
    json_t *s = json_string(d); /* NULL if the detail is not valid UTF-8 */
    if (s == NULL || strchr(d, '\n') != NULL || strchr(d, '\r') != NULL)
        abort();
    json_decref(s);
}

static void probe_field(const json_t *o, const char *field)
{
    const char *s = NULL;
    int64_t i = 0;
    bool b = false;
    kg_bytes bytes = { 0 };
    check_detail(kg_json_get_str(&s, o, field, true));
    check_detail(kg_json_get_int(&i, o, field, false));
    check_detail(kg_json_get_bool(&b, o, field, true));
    kg_err e = kg_json_get_b64(&bytes, o, field, false, 64);
    check_detail(e);
    if (e == KG_OK && bytes.len > 64)
        abort();
    kg_bytes_free(&bytes);
    if (s != NULL) {
        int64_t secs;
        check_detail(kg_duration_parse(&secs, s));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const fields[] = { "name", "spec", "ttl", "enabled", "plaintext", "version", NULL };
    json_t *o = NULL;
    kg_err e = kg_json_parse_object(&o, (const char *)data, size);
    check_detail(e);
    if (e != KG_OK) {
        if (o != NULL)
            abort();
        return 0;
    }
    for (size_t i = 0; fields[i] != NULL; i++)
        probe_field(o, fields[i]);
    const char *k;
    json_t *v;
    int n = 0;
    json_object_foreach(o, k, v) {
        if (n++ == 8)
            break;
        probe_field(o, k);
    }
    check_detail(kg_json_check_fields(o, fields));
    json_decref(o);
    return 0;
}
