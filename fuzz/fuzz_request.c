/* libFuzzer target for the server's request parsing: the body parser
 * (size limit, JSON object, depth, duplicate keys) and the router's
 * request-target parser (per-segment percent-decoding, route match,
 * query parameters). Neither needs a running server.
 *
 * Input: byte 0 selects the parser (even: body, odd: target); for the
 * target, byte 1 picks the method and the rest (up to a NUL) is the raw
 * target; for the body, the rest is the body. */
#include <kashguard/server.h>

#include <stdlib.h>
#include <string.h>

static void ignore_illegal(const char *what, void *arg)
{
    (void)what;
    (void)arg;
    abort(); /* valid arguments only: a contract violation is a bug */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const methods[] = { "GET", "POST", "DELETE", "PUT" };
    kg_set_illegal_hook(ignore_illegal, NULL);
    if (size < 2)
        return 0;
    if ((data[0] & 1) == 0) {
        json_t *j = NULL;
        if (kg_server_parse_body(&j, (const char *)data + 1, size - 1, 1u << 20) == KG_OK) {
            if (!json_is_object(j))
                abort();
            json_decref(j);
        } else if (j != NULL) {
            abort();
        }
        return 0;
    }
    size_t n = size - 2;
    char *uri = malloc(n + 1);
    if (uri == NULL)
        return 0;
    memcpy(uri, data + 2, n);
    uri[n] = '\0';
    kg_server_target t;
    kg_err e = kg_server_parse_target(&t, methods[data[1] % 4], uri);
    if (e == KG_OK) {
        if (t.route == NULL || t.action == NULL || (t.limit > 1000))
            abort();
        kg_server_target_free(&t);
    } else if (t.route != NULL || t.param != NULL || t.cursor != NULL) {
        abort();
    }
    free(uri);
    return 0;
}
