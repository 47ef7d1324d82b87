/* The route table and the request-target parser.
 *
 * Every REST endpoint is one row of `routes[]`: method, path pattern, the
 * action name used in the audit log, flags (no token, not audited,
 * idempotent) and the handler. Nothing else in the server knows the URL
 * space, so adding an endpoint is adding a row (STYLE: tables, not
 * if-chains).
 *
 * Patterns are '/'-separated segments; a segment in braces ("{ref}",
 * "{accessor}", "{name}") captures one path segment. No pattern has more
 * than one capture. Rows are tried in order and the first whose pattern and
 * method both match wins, so literal rows ("/v1/tokens/self") come before
 * the capturing row of the same shape. A path that matches some pattern but
 * no method gives 405, a path that matches none 404.
 *
 * The parser works on the raw request target exactly as the client sent it
 * (MHD hands it to us through its URI log callback): it percent-decodes each
 * segment on its own, so an alias containing "%2F" stays one segment, and
 * rejects "%00" and broken escapes. The query accepts only the parameters
 * the API defines (limit, cursor, version, after; and chain, network, type,
 * hrp for the wallet and MPC key address routes), each at most once, with strictly
 * checked numbers; anything else is a 400 naming it. This parser is what
 * fuzz/fuzz_request.c exercises. */
#include "server_int.h"

#include <stdlib.h>
#include <string.h>

#define KG_MAX_TARGET 4096
#define KG_MAX_LIMIT 1000
#define KG_QUERY_WORD_MAX 64

static const kg_route routes[] = {
    { "GET",    "/v1/sys/health",                     "health",            KG_ROUTE_NOAUTH | KG_ROUTE_NOAUDIT, kg_h_health },
    { "GET",    "/v1/sys/seal-status",                "seal-status",       KG_ROUTE_NOAUTH | KG_ROUTE_READONLY, kg_h_seal_status },
    { "POST",   "/v1/sys/init",                       "init",              KG_ROUTE_NOAUTH | KG_ROUTE_SECRET_OUT, kg_h_init },
    { "POST",   "/v1/sys/unseal",                     "unseal",            KG_ROUTE_NOAUTH, kg_h_unseal },
    { "POST",   "/v1/sys/seal",                       "seal",              0, kg_h_seal },
    /* Metrics and the HSM fleet (handlers_sys.c, handlers_hsm.c): reads need
     * list-keys, registrations manage-policies (as /v1/mpc/nodes). */
    { "GET",    "/v1/sys/metrics",                    "list-keys",         KG_ROUTE_READONLY, kg_h_metrics },
    { "POST",   "/v1/sys/hsm/members",                "manage-policies",   0, kg_h_hsm_member_add },
    { "GET",    "/v1/sys/hsm/members",                "list-keys",         KG_ROUTE_READONLY, kg_h_hsm_members },
    { "GET",    "/v1/sys/hsm/members/{name}",         "list-keys",         KG_ROUTE_READONLY, kg_h_hsm_member_get },
    { "DELETE", "/v1/sys/hsm/members/{name}",         "manage-policies",   0, kg_h_hsm_member_remove },
    { "POST",   "/v1/sys/hsm/groups",                 "manage-policies",   0, kg_h_hsm_group_create },
    { "GET",    "/v1/sys/hsm/groups",                 "list-keys",         KG_ROUTE_READONLY, kg_h_hsm_groups },

    { "POST",   "/v1/keys",                           "create-key",        KG_ROUTE_IDEMPOTENT, kg_h_key_create },
    { "GET",    "/v1/keys",                           "list-keys",         KG_ROUTE_READONLY, kg_h_key_list },
    { "POST",   "/v1/keys/import-params",             "import-key",        0, kg_h_import_params },
    { "POST",   "/v1/keys/import",                    "import-key",        KG_ROUTE_IDEMPOTENT, kg_h_key_import },
    { "GET",    "/v1/keys/{ref}",                     "describe",          KG_ROUTE_READONLY, kg_h_key_get },
    { "POST",   "/v1/keys/{ref}/rotate",              "rotate",            0, kg_h_key_rotate },
    { "POST",   "/v1/keys/{ref}/enable",              "enable",            0, kg_h_key_enable },
    { "POST",   "/v1/keys/{ref}/disable",             "disable",           0, kg_h_key_disable },
    { "POST",   "/v1/keys/{ref}/cancel-deletion",     "cancel-deletion",   0, kg_h_key_cancel_deletion },
    { "POST",   "/v1/keys/{ref}/schedule-deletion",   "schedule-deletion", 0, kg_h_key_schedule_deletion },
    { "POST",   "/v1/keys/{ref}/update",              "update",            0, kg_h_key_update },
    { "GET",    "/v1/keys/{ref}/public-key",          "get-public-key",    KG_ROUTE_READONLY, kg_h_key_public },

    { "POST",   "/v1/keys/{ref}/encrypt",             "encrypt",           KG_ROUTE_READONLY, kg_h_encrypt },
    { "POST",   "/v1/keys/{ref}/decrypt",             "decrypt",           KG_ROUTE_SECRET_OUT | KG_ROUTE_READONLY, kg_h_decrypt },
    { "POST",   "/v1/decrypt",                        "decrypt",           KG_ROUTE_SECRET_OUT | KG_ROUTE_READONLY, kg_h_decrypt },
    { "POST",   "/v1/keys/{ref}/re-encrypt",          "re-encrypt",        KG_ROUTE_READONLY, kg_h_reencrypt },
    { "POST",   "/v1/keys/{ref}/data-key",            "data-key",          KG_ROUTE_SECRET_OUT | KG_ROUTE_READONLY, kg_h_data_key },
    { "POST",   "/v1/keys/{ref}/sign",                "sign",              KG_ROUTE_READONLY, kg_h_sign },
    { "POST",   "/v1/keys/{ref}/verify",              "verify",            KG_ROUTE_READONLY, kg_h_verify },
    { "POST",   "/v1/keys/{ref}/mac",                 "mac",               KG_ROUTE_READONLY, kg_h_mac },
    { "POST",   "/v1/keys/{ref}/verify-mac",          "verify-mac",        KG_ROUTE_READONLY, kg_h_verify_mac },
    { "POST",   "/v1/random",                         "random",            KG_ROUTE_SECRET_OUT | KG_ROUTE_READONLY, kg_h_random },

    { "POST",   "/v1/tokens",                         "create-token",      KG_ROUTE_IDEMPOTENT | KG_ROUTE_SECRET_OUT, kg_h_token_create },
    { "GET",    "/v1/tokens/self",                    "lookup-token",      KG_ROUTE_READONLY, kg_h_token_lookup },
    { "POST",   "/v1/tokens/self/renew",              "renew-token",       0, kg_h_token_renew },
    { "POST",   "/v1/tokens/self/revoke",             "revoke-token",      0, kg_h_token_revoke },
    { "GET",    "/v1/tokens/{accessor}",              "lookup-token",      KG_ROUTE_READONLY, kg_h_token_lookup },
    { "POST",   "/v1/tokens/{accessor}/renew",        "renew-token",       0, kg_h_token_renew },
    { "POST",   "/v1/tokens/{accessor}/revoke",       "revoke-token",      0, kg_h_token_revoke },

    { "POST",   "/v1/policies",                       "manage-policies",   KG_ROUTE_IDEMPOTENT, kg_h_policy_put },
    { "GET",    "/v1/policies",                       "manage-policies",   KG_ROUTE_READONLY, kg_h_policy_list },
    { "GET",    "/v1/policies/{name}",                "manage-policies",   KG_ROUTE_READONLY, kg_h_policy_get },
    { "DELETE", "/v1/policies/{name}",                "manage-policies",   0, kg_h_policy_delete },

    { "GET",    "/v1/audit",                          "read-audit",        KG_ROUTE_READONLY, kg_h_audit_read },
    { "POST",   "/v1/audit/hash",                     "read-audit",        KG_ROUTE_READONLY, kg_h_audit_hash },

    /* Wallets over KMS keys (handlers_wallets*.c); the action is the KMS action each one needs. */
    { "POST",   "/v1/wallets",                        "create-key",        KG_ROUTE_IDEMPOTENT, kg_h_wallet_create },
    { "GET",    "/v1/wallets",                        "list-keys",         KG_ROUTE_READONLY, kg_h_wallet_list },
    { "GET",    "/v1/wallets/{wallet}",               "get-public-key",    KG_ROUTE_READONLY, kg_h_wallet_get },
    { "GET",    "/v1/wallets/{wallet}/address",       "get-public-key",    KG_ROUTE_READONLY, kg_h_wallet_address },
    { "POST",   "/v1/wallets/{wallet}/sign-message",  "sign",              KG_ROUTE_READONLY, kg_h_wallet_sign_message },
    { "POST",   "/v1/wallets/{wallet}/sign-typed-data", "sign",            KG_ROUTE_READONLY, kg_h_wallet_sign_typed_data },
    { "POST",   "/v1/wallets/{wallet}/sign-transaction", "sign",           KG_ROUTE_READONLY, kg_h_wallet_sign_transaction },
    { "POST",   "/v1/wallets/{wallet}/psbt/sign",     "sign",              KG_ROUTE_READONLY, kg_h_wallet_psbt_sign },

    /* MPC keys and nodes (handlers_mpc*.c); the server coordinates, holds no share. */
    { "POST",   "/v1/mpc/keys",                       "create-key",        KG_ROUTE_IDEMPOTENT, kg_h_mpc_key_create },
    { "POST",   "/v1/mpc/keys/import",                "create-key",        KG_ROUTE_IDEMPOTENT, kg_h_mpc_key_import },
    { "GET",    "/v1/mpc/keys/{key_id}",              "describe",          KG_ROUTE_READONLY, kg_h_mpc_key_get },
    { "POST",   "/v1/mpc/keys/{key_id}/sign",         "sign",              KG_ROUTE_READONLY, kg_h_mpc_sign },
    { "POST",   "/v1/mpc/keys/{key_id}/refresh",      "rotate",            0, kg_h_mpc_refresh },
    { "POST",   "/v1/mpc/keys/{key_id}/reshare",      "rotate",            0, kg_h_mpc_reshare },
    { "POST",   "/v1/mpc/keys/{key_id}/repair",       "rotate",            0, kg_h_mpc_repair },
    { "POST",   "/v1/mpc/keys/{key_id}/resync",       "rotate",            0, kg_h_mpc_resync },
    /* Wallets on MPC keys (handlers_mpc_wallet.c): P2TR on frost-secp256k1-tr, Solana on frost-ed25519. */
    { "GET",    "/v1/mpc/keys/{key_id}/address",      "get-public-key",    KG_ROUTE_READONLY, kg_h_mpc_address },
    { "POST",   "/v1/mpc/keys/{key_id}/psbt",         "sign",              KG_ROUTE_READONLY, kg_h_mpc_psbt },
    { "POST",   "/v1/mpc/keys/{key_id}/bitcoin/send", "sign",              KG_ROUTE_IDEMPOTENT, kg_h_mpc_btc_send },
    { "POST",   "/v1/mpc/keys/{key_id}/solana/transfer", "sign",           KG_ROUTE_IDEMPOTENT, kg_h_mpc_sol_transfer },
    /* Threshold ECDSA (CGGMP21) keys (handlers_mpc_ecdsa*.c); sign, refresh, address, psbt above hand them over. */
    { "POST",   "/v1/mpc/keys/{key_id}/presign",      "sign",              0, kg_h_mpc_presign },
    { "POST",   "/v1/mpc/keys/{key_id}/evm/send",     "sign",              KG_ROUTE_IDEMPOTENT, kg_h_mpc_evm_send },
    { "GET",    "/v1/mpc/nodes",                      "list-keys",         KG_ROUTE_READONLY, kg_h_mpc_nodes },
    { "POST",   "/v1/mpc/nodes",                      "manage-policies",   0, kg_h_mpc_node_add },
};

size_t kg_server_route_count(void)
{
    return sizeof routes / sizeof routes[0];
}

size_t kg_server_route_index(const kg_route *r)
{
    return (size_t)(r - routes);
}

const kg_route *kg_server_route_at(size_t i)
{
    return i < kg_server_route_count() ? &routes[i] : NULL;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decode s[0..n) into out (n+1 bytes). plus_space: '+' means ' '
 * (query strings). Returns the decoded length, or -1 for a broken escape or
 * an encoded NUL. */
static long pct_decode(char *out, const char *s, size_t n, bool plus_space)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= n)
                return -1;
            int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = (char)(hi << 4 | lo);
            if (c == '\0')
                return -1;
            i += 2;
        } else if (c == '+' && plus_space) {
            c = ' ';
        }
        out[o++] = c;
    }
    out[o] = '\0';
    return (long)o;
}

/* Match the raw path against one pattern. On a match returns true and
 * stores the decoded capture (malloc'd, or NULL when the pattern has none)
 * in *param; *bad is set for an undecodable segment. */
static bool match_pattern(const char *pattern, const char *path, size_t path_len,
                          char **param, bool *bad)
{
    const char *p = pattern, *s = path, *end = path + path_len;
    char buf[KG_MAX_TARGET + 1];
    *param = NULL;
    while (*p == '/' && s < end && *s == '/') {
        p++, s++;
        const char *pe = strchr(p, '/');
        size_t plen = pe ? (size_t)(pe - p) : strlen(p);
        const char *se = memchr(s, '/', (size_t)(end - s));
        size_t slen = se ? (size_t)(se - s) : (size_t)(end - s);
        long dlen = pct_decode(buf, s, slen, false);
        if (dlen < 0) {
            *bad = true;
            break;
        }
        if (p[0] == '{') {
            if (dlen == 0 || *param != NULL)
                break;
            *param = strdup(buf);
            if (*param == NULL)
                break;
        } else if ((size_t)dlen != plen || memcmp(buf, p, plen) != 0) {
            break;
        }
        p += plen, s += slen;
        if (*p == '\0' && s == end)
            return true;
    }
    free(*param);
    *param = NULL;
    return false;
}

/* Parse a strictly decimal number in [min, max]. */
static bool parse_u64(uint64_t *out, const char *s, uint64_t min, uint64_t max)
{
    uint64_t v = 0;
    if (*s == '\0' || strlen(s) > 20)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* Apply one decoded query parameter. seen: bit per parameter. */
static kg_err query_param(kg_server_target *t, unsigned *seen, const char *k, const char *v)
{
    static const char *const names[] = { "limit", "cursor", "version", "after",
                                         "chain", "network", "type", "hrp",
                                         "path" /* MPC ECDSA addresses: "m/0/5" */ };
    unsigned i;
    for (i = 0; i < 9 && strcmp(k, names[i]) != 0; i++)
        ;
    if (i == 9)
        return kg_err_set(KG_ERR_BAD_INPUT, "unknown query parameter '%.64s' (known: limit, cursor, version, after, "
                          "chain, network, type, hrp, path)", k);
    if (*seen & (1u << i))
        return kg_err_set(KG_ERR_BAD_INPUT, "query parameter '%s' is given twice", k);
    *seen |= 1u << i;
    uint64_t n = 0;
    switch (i) {
    case 0:
        if (!parse_u64(&n, v, 1, KG_MAX_LIMIT))
            return kg_err_set(KG_ERR_BAD_INPUT, "query parameter 'limit' must be an integer from 1 to %d", KG_MAX_LIMIT);
        t->limit = (size_t)n;
        return KG_OK;
    case 1:
        t->cursor = strdup(v);
        return t->cursor ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
    case 2:
        if (!parse_u64(&n, v, 1, UINT32_MAX))
            return kg_err_set(KG_ERR_BAD_INPUT, "query parameter 'version' must be a key version (1, 2, ...)");
        t->version = (unsigned)n;
        return KG_OK;
    case 3:
        if (!parse_u64(&n, v, 0, UINT64_MAX))
            return kg_err_set(KG_ERR_BAD_INPUT, "query parameter 'after' must be an audit sequence number");
        t->after = n;
        return KG_OK;
    default:
        /* The wallet address selectors: short words, read back by the
         * handler with kg_server_query_value (their meaning is its business). */
        if (v[0] == '\0' || strlen(v) > KG_QUERY_WORD_MAX)
            return kg_err_set(KG_ERR_BAD_INPUT, "query parameter '%s' must be 1 to %d characters", k,
                              KG_QUERY_WORD_MAX);
        return KG_OK;
    }
}

static kg_err parse_query(kg_server_target *t, const char *q)
{
    char k[KG_MAX_TARGET + 1], v[KG_MAX_TARGET + 1];
    unsigned seen = 0;
    while (*q) {
        const char *amp = strchr(q, '&');
        size_t n = amp ? (size_t)(amp - q) : strlen(q);
        if (n > 0) {
            const char *eq = memchr(q, '=', n);
            size_t kn = eq ? (size_t)(eq - q) : n;
            if (pct_decode(k, q, kn, true) < 0 ||
                pct_decode(v, eq ? eq + 1 : q + n, eq ? n - kn - 1 : 0, true) < 0)
                return kg_err_set(KG_ERR_BAD_INPUT, "the query string has a malformed %%-escape");
            kg_err e = query_param(t, &seen, k, v);
            if (e != KG_OK)
                return e;
        }
        q += n + (amp ? 1 : 0);
    }
    return KG_OK;
}

bool kg_server_query_value(char *out, size_t cap, const char *uri, const char *name)
{
    char k[KG_MAX_TARGET + 1], v[KG_MAX_TARGET + 1];
    const char *q = strchr(uri, '?'), *frag = strchr(uri, '#');
    out[0] = '\0';
    if (q == NULL || (frag != NULL && frag < q))
        return false;
    q++;
    size_t qlen = strcspn(q, "#");
    if (qlen > KG_MAX_TARGET)
        return false;
    while (qlen > 0) {
        const char *amp = memchr(q, '&', qlen);
        size_t n = amp ? (size_t)(amp - q) : qlen;
        const char *eq = memchr(q, '=', n);
        size_t kn = eq ? (size_t)(eq - q) : n;
        if (n > 0 && pct_decode(k, q, kn, true) >= 0 && strcmp(k, name) == 0 &&
            pct_decode(v, eq ? eq + 1 : q + n, eq ? n - kn - 1 : 0, true) >= 0 && strlen(v) < cap) {
            memcpy(out, v, strlen(v) + 1);
            return true;
        }
        q += n + (amp ? 1 : 0);
        qlen -= n + (amp ? 1 : 0);
    }
    return false;
}

/* Find the route for method + raw path. */
static kg_err route_path(kg_server_target *t, const char *method, const char *path, size_t len)
{
    bool known = false, bad = false;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        char *param = NULL;
        if (!match_pattern(routes[i].pattern, path, len, &param, &bad))
            continue;
        known = true;
        if (strcmp(routes[i].method, method) == 0) {
            t->route = &routes[i];
            t->action = routes[i].action;
            t->param = param;
            return KG_OK;
        }
        free(param);
    }
    if (bad)
        return kg_err_set(KG_ERR_BAD_INPUT, "the request path has a malformed %%-escape");
    if (known)
        return kg_err_set(KG_ERR_METHOD, "%.10s is not allowed on this path; see the API reference for its methods",
                          method);
    return kg_err_set(KG_ERR_NOT_FOUND, "no API endpoint at this path (paths start with /v1/)");
}

void kg_server_allowed_methods(char *out, size_t cap, const char *uri)
{
    size_t len = strcspn(uri, "?#"), used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        char *param = NULL;
        bool bad = false;
        if (!match_pattern(routes[i].pattern, uri, len, &param, &bad))
            continue;
        free(param);
        if (strstr(out, routes[i].method) != NULL)
            continue;
        int n = snprintf(out + used, cap - used, "%s%s", used ? ", " : "", routes[i].method);
        if (n < 0 || (size_t)n >= cap - used)
            return;
        used += (size_t)n;
    }
}

kg_err kg_server_parse_target(kg_server_target *out, const char *method, const char *uri)
{
    KG_ARG_CHECK(out != NULL && method != NULL && uri != NULL);
    memset(out, 0, sizeof *out);
    size_t n = strlen(uri);
    if (n > KG_MAX_TARGET)
        return kg_err_set(KG_ERR_BAD_INPUT, "the request target is longer than %d bytes", KG_MAX_TARGET);
    const char *qm = strchr(uri, '?');
    const char *frag = strchr(uri, '#');
    if (frag != NULL && (qm == NULL || frag < qm))
        qm = frag;
    kg_err e = route_path(out, method, uri, qm ? (size_t)(qm - uri) : n);
    if (e == KG_OK && qm != NULL && *qm == '?') {
        char q[KG_MAX_TARGET + 1];
        const char *qe = strchr(qm, '#');
        size_t qn = qe ? (size_t)(qe - qm - 1) : strlen(qm + 1);
        memcpy(q, qm + 1, qn);
        q[qn] = '\0';
        e = parse_query(out, q);
    }
    if (e != KG_OK)
        kg_server_target_free(out);
    return e;
}

void kg_server_target_free(kg_server_target *t)
{
    if (t == NULL)
        return;
    free(t->param);
    free(t->cursor);
    memset(t, 0, sizeof *t);
}
