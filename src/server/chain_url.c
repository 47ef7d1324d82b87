/* Which chain node URLs the server may call on a request's behalf (the MPC
 * wallet routes broadcast through an Esplora or Solana RPC URL named in the
 * request). Without a check any token with "sign" on a key could make the
 * server connect to any host it can reach (server-side request forgery).
 *
 * chain_rpc_allow in the config is a comma-separated list of URL prefixes
 * ("https://esplora.internal/api, http://127.0.0.1:8899"); a URL is allowed
 * when it starts with one of them and the prefix ends at a boundary (the
 * URL ends there, or the next character is '/', or the prefix itself ends
 * with '/'), so "https://node.example" does not allow
 * "https://node.example.evil.com". Unset, a --dev server allows loopback
 * URLs only (http(s)://127.*, localhost, [::1]) and any other server none. */
#include "server_int.h"

#include <string.h>

static bool prefix_allows(const char *prefix, size_t plen, const char *url)
{
    while (plen > 0 && (*prefix == ' ' || *prefix == '\t')) {
        prefix++;
        plen--;
    }
    while (plen > 0 && (prefix[plen - 1] == ' ' || prefix[plen - 1] == '\t'))
        plen--;
    if (plen == 0 || strncmp(url, prefix, plen) != 0)
        return false;
    return prefix[plen - 1] == '/' || url[plen] == '\0' || url[plen] == '/';
}

/* http(s)://HOST[:port][/...] with HOST localhost, [::1] or an IPv4
 * literal 127.x.y.z (digits and dots only: "127.0.0.1.nip.io" is a name). */
static bool loopback(const char *url)
{
    const char *h = strncmp(url, "http://", 7) == 0 ? url + 7 : strncmp(url, "https://", 8) == 0 ? url + 8 : NULL;
    if (h == NULL)
        return false;
    size_t n = strcspn(h, "/?#");
    if (memchr(h, '@', n) != NULL)
        return false; /* userinfo: "127.0.0.1@evil" */
    size_t host = h[0] == '[' ? strcspn(h, "]") + 1 : strcspn(h, ":/?#");
    if (host > n || (h[host] != '\0' && h[host] != ':' && h[host] != '/' && h[host] != '?' && h[host] != '#'))
        return false;
    if ((host == 9 && strncmp(h, "localhost", 9) == 0) || (host == 5 && strncmp(h, "[::1]", 5) == 0))
        return true;
    if (host < 7 || strncmp(h, "127.", 4) != 0)
        return false;
    int dots = 0;
    for (size_t i = 0; i < host; i++) {
        if (h[i] == '.')
            dots++;
        else if (h[i] < '0' || h[i] > '9')
            return false;
    }
    return dots == 3;
}

kg_err kg_server_chain_url_check(const kg_server *srv, const char *url)
{
    if (url == NULL)
        return KG_OK; /* a missing field is reported by the handler itself */
    const char *allow = srv->cfg.chain_rpc_allow;
    if (allow == NULL || *allow == '\0') {
        if (srv->cfg.dev && loopback(url))
            return KG_OK;
        return kg_err_set(KG_ERR_DENIED, "this server may not call %.100s: list the chain node URLs it may use in "
                          "chain_rpc_allow in its config (a --dev server allows loopback URLs only)", url);
    }
    for (const char *p = allow; *p != '\0';) {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        if (prefix_allows(p, len, url))
            return KG_OK;
        p += len + (end != NULL ? 1 : 0);
    }
    return kg_err_set(KG_ERR_DENIED, "%.100s is not in the server's chain_rpc_allow list", url);
}
