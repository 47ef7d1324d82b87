/* Handlers of /v1/audit: read the log, and hash a value the way the log
 * does, so an operator can search the log for a known accessor, alias or
 * client address without the log ever holding them in clear. Both need
 * the "read-audit" action (the hash key is derived from the root key, so
 * the hash endpoint is an oracle only for those allowed to read the log). */
#include "server_int.h"

#include <stdlib.h>

#define KG_AUDIT_DEFAULT_LIMIT 100

kg_err kg_h_audit_read(kg_req *r, json_t **out)
{
    static const char *const no_fields[] = { NULL };
    kg_err e = kg_req_fields(r, no_fields);
    if (e != KG_OK)
        return e;
    size_t limit = r->target.limit ? r->target.limit : KG_AUDIT_DEFAULT_LIMIT;
    return kg_kms_audit_read(r->srv->kms, r->caller, out, r->target.after, limit);
}

kg_err kg_h_audit_hash(kg_req *r, json_t **out)
{
    static const char *const fields[] = { "input", NULL };
    const char *input = NULL;
    kg_err e = kg_req_fields(r, fields);
    if (e == KG_OK)
        e = kg_json_get_str(&input, r->json, "input", true);
    if (e == KG_OK)
        e = kg_kms_authorize(r->srv->kms, r->caller, "read-audit", NULL);
    if (e != KG_OK)
        return e;
    char *h = kg_kms_audit_hmac(r->srv->kms, input);
    if (h == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    *out = json_pack("{s:s}", "hash", h);
    free(h);
    return *out ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
}
