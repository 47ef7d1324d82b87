/* The MPC commands that talk to a KashGuard server (the server is the
 * coordinator, docs/mpc.md "From the server"), and node enrolment for a
 * production server:
 *
 *   mpc keygen / mpc sign without --ca-dir   POST /v1/mpc/keys, .../sign
 *   mpc status                               GET /v1/mpc/nodes (with --ca-dir:
 *                                            probe the standalone coordinator's
 *                                            address book directly)
 *   mpc node-init --out DIR --id N           local: the node's TLS key + CSR and
 *                                            its envelope keys; no secret leaves DIR
 *   mpc node add --id N --addr H:P --dir DIR POST /v1/mpc/nodes with DIR's CSR and
 *                                            envelope.pub; writes node.pem, ca.pem
 *
 * The server address and token come from KASHGUARD_ADDR/KASHGUARD_TOKEN
 * (or the HTTP options) like every REST command. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "kashguard/mpc.h"
#include "cli_int.h"

#define OPT_END {NULL, 0, NULL, false, NULL}

const kg_cli_opt kg_opts_mpc_status[] = {
    {"ca-dir", KG_OPT_STR, "<dir>", false,
     "Probe the nodes of this standalone coordinator directory instead of asking the server."},
    {"json", KG_OPT_BOOL, NULL, false, "Print a JSON object."},
    OPT_END,
};
const kg_cli_opt kg_opts_mpc_node_init[] = {
    {"out", KG_OPT_STR, "<dir>", true,
     "Directory for node.key, node.csr, envelope.key (0600) and envelope.pub (created 0700)."},
    {"id", KG_OPT_STR, "<n>", true, "The node's party id (1..65535)."},
    OPT_END,
};
const kg_cli_opt kg_opts_mpc_node_add[] = {
    {"id", KG_OPT_STR, "<n>", true, "The node's party id (as given to `mpc node-init`)."},
    {"node-addr", KG_OPT_STR, "<host:port>", true,
     "Where the server reaches the node (its --listen address). (--addr is the server's URL.)"},
    {"dir", KG_OPT_STR, "<dir>", true,
     "The node directory of `mpc node-init`; node.pem and ca.pem are written into it."},
    {"json", KG_OPT_BOOL, NULL, false, "Print a JSON object."},
    OPT_END,
};

static int print_key_doc(kg_cli *cli, const json_t *doc)
{
    if (kg_cli_bool(cli, "json") || cli->json) {
        kg_cli_print_json(cli->out, doc);
        return KG_CLI_OK;
    }
    fprintf(cli->out, "key_id      %s\npublic_key  %s\n", kg_cli_field(doc, "key_id"), kg_cli_field(doc, "public_key"));
    return KG_CLI_OK;
}

int kg_cli_mpc_keygen_rest(kg_cli *cli)
{
    unsigned long t = 0, n = 0;
    const char *scheme = kg_cli_str(cli, "scheme");
    if (kg_cli_str(cli, "nodes"))
        return kg_cli_usage_error(cli, "--nodes needs --ca-dir (a standalone coordinator); the server picks "
                                       "its registered nodes (use --parties)");
    if (kg_cli_uint(cli, &t, "threshold", 0, 2, 255)) return KG_CLI_LOCAL;
    if (kg_cli_str(cli, "parties") && kg_cli_uint(cli, &n, "parties", 0, 2, 255)) return KG_CLI_LOCAL;
    json_t *body = json_pack("{s:s, s:i}", "scheme", scheme ? scheme : "frost-ed25519", "threshold", (int)t);
    if (body && n) json_object_set_new(body, "parties", json_integer((json_int_t)n));
    if (!body) return kg_cli_usage_error(cli, "out of memory");
    json_t *resp = NULL;
    int rc = kg_cli_call(cli, &resp, NULL, "POST", "/v1/mpc/keys", body);
    json_decref(body);
    if (rc == KG_CLI_OK && resp) rc = print_key_doc(cli, resp);
    json_decref(resp);
    return rc;
}

int kg_cli_mpc_sign_rest(kg_cli *cli)
{
    kg_bytes msg = {0};
    if (kg_cli_str(cli, "nodes")) return kg_cli_usage_error(cli, "--nodes needs --ca-dir (a standalone coordinator)");
    kg_err err = kg_cli_read_data(&msg, "message", kg_cli_str(cli, "message"));
    if (err) return kg_cli_local_error(cli, err);
    char *b64 = malloc(kg_b64_encoded_len(msg.len));
    if (b64) kg_b64_encode(b64, msg.data, msg.len);
    kg_bytes_free(&msg);
    json_t *body = b64 ? json_pack("{s:s}", "message", b64) : NULL;
    free(b64);
    char *path = kg_cli_path("/v1/mpc/keys/", kg_cli_str(cli, "key"), "/sign");
    if (!body || !path) {
        json_decref(body);
        free(path);
        return kg_cli_usage_error(cli, "out of memory");
    }
    json_t *resp = NULL;
    int rc = kg_cli_call(cli, &resp, NULL, "POST", path, body);
    json_decref(body);
    free(path);
    if (rc == KG_CLI_OK && resp) {
        if (kg_cli_bool(cli, "json") || cli->json) kg_cli_print_json(cli->out, resp);
        else fprintf(cli->out, "%s\n", kg_cli_field(resp, "signature"));
    }
    json_decref(resp);
    return rc;
}

/* `mpc status --ca-dir DIR`: probe the address book of a standalone coordinator. */
static int status_local(kg_cli *cli, json_t **doc)
{
    kg_mpc_coordinator *co = NULL;
    kg_mpc_node_status *st = calloc(KG_MPC_NET_PARTY_MAX, sizeof *st);
    size_t n = 0;
    kg_err err = st ? kg_mpc_coordinator_new(&co, kg_cli_str(cli, "ca-dir")) : kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (!err) err = kg_mpc_coordinator_book_load(co);
    if (!err) err = kg_mpc_coordinator_status(co, st, &n, KG_MPC_NET_PARTY_MAX);
    kg_mpc_coordinator_free(co);
    json_t *arr = err ? NULL : json_array();
    for (size_t i = 0; arr && i < n; i++)
        json_array_append_new(arr, json_pack("{s:i, s:s, s:b, s:o, s:o, s:o}", "id", (int)st[i].id, "addr",
                                             st[i].addr, "up", st[i].up, "rtt_ms",
                                             st[i].up ? json_real(st[i].rtt_ms) : json_null(), "error",
                                             st[i].up ? json_null() : json_string(st[i].error), "shares",
                                             st[i].shares >= 0 ? json_integer(st[i].shares) : json_null()));
    free(st);
    if (err) return kg_cli_local_error(cli, err);
    *doc = arr ? json_pack("{s:o}", "nodes", arr) : NULL;
    return *doc ? KG_CLI_OK : kg_cli_usage_error(cli, "out of memory");
}

int kg_cmd_mpc_status(kg_cli *cli)
{
    json_t *doc = NULL;
    signal(SIGPIPE, SIG_IGN);
    int rc = kg_cli_str(cli, "ca-dir") ? status_local(cli, &doc) : kg_cli_call(cli, &doc, NULL, "GET", "/v1/mpc/nodes", NULL);
    if (rc != KG_CLI_OK || !doc) {
        json_decref(doc);
        return rc;
    }
    json_t *nodes = json_object_get(doc, "nodes");
    if (kg_cli_bool(cli, "json") || cli->json) {
        kg_cli_print_json(cli->out, doc);
    } else {
        size_t i, up = 0;
        json_t *v;
        fprintf(cli->out, "%-6s %-28s %-5s %-9s %-7s %s\n", "ID", "ADDRESS", "UP", "RTT_MS", "SHARES", "ERROR");
        json_array_foreach(nodes, i, v) {
            bool is_up = json_is_true(json_object_get(v, "up"));
            up += is_up;
            char rtt[32] = "-", shares[16] = "-";
            if (is_up) snprintf(rtt, sizeof rtt, "%.1f", json_number_value(json_object_get(v, "rtt_ms")));
            if (json_is_integer(json_object_get(v, "shares")))
                snprintf(shares, sizeof shares, "%lld", (long long)json_integer_value(json_object_get(v, "shares")));
            fprintf(cli->out, "%-6lld %-28s %-5s %-9s %-7s %s\n", (long long)json_integer_value(json_object_get(v, "id")),
                    kg_cli_field(v, "addr"), is_up ? "up" : "down", rtt, shares, kg_cli_field(v, "error"));
        }
        fprintf(cli->out, "%zu of %zu nodes up\n", up, json_array_size(nodes));
    }
    json_decref(doc);
    return KG_CLI_OK;
}

/* Write a new file (mode 0600, refusing to replace one). */
static kg_err write_new(const char *path, const uint8_t *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return kg_err_set(errno == EEXIST ? KG_ERR_CONFLICT : KG_ERR_IO, "cannot create %s: %s", path, strerror(errno));
    bool ok = write(fd, data, len) == (ssize_t)len && fsync(fd) == 0;
    if (close(fd) != 0) ok = false;
    if (!ok) {
        unlink(path);
        return kg_err_set(KG_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    }
    return KG_OK;
}

int kg_cmd_mpc_node_init(kg_cli *cli)
{
    unsigned long id;
    const char *dir = kg_cli_str(cli, "out");
    char key[4200], csr[4200], ek[4200], ep[4200];
    if (kg_cli_uint(cli, &id, "id", 0, 1, 65535)) return KG_CLI_LOCAL;
    if (strlen(dir) > 4000) return kg_cli_usage_error(cli, "--out: the path is too long");
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return kg_cli_usage_error(cli, "cannot create %s: %s", dir, strerror(errno));
    snprintf(key, sizeof key, "%s/node.key", dir);
    snprintf(csr, sizeof csr, "%s/node.csr", dir);
    snprintf(ek, sizeof ek, "%s/envelope.key", dir);
    snprintf(ep, sizeof ep, "%s/envelope.pub", dir);
    if (access(ek, F_OK) == 0 || access(key, F_OK) == 0)
        return kg_cli_usage_error(cli, "%s already holds a node identity (node.key or envelope.key); use a new directory", dir);
    kg_secret *sec = NULL;
    kg_mpc_net_pubkeys pub;
    uint8_t pb[64];
    kg_err err = kg_mpc_net_csr_create(key, csr, (uint32_t)id);
    if (!err) err = kg_mpc_net_keys_generate(&sec, &pub);
    if (!err) err = write_new(ek, kg_secret_cdata(sec), kg_secret_len(sec));
    kg_secret_free(sec);
    if (!err) {
        memcpy(pb, pub.box, 32);
        memcpy(pb + 32, pub.sign, 32);
        err = write_new(ep, pb, sizeof pb);
    }
    if (err) return kg_cli_local_error(cli, err);
    fprintf(cli->out, "%s\n%s\n", csr, ep);
    return KG_CLI_OK;
}

/* POST /v1/mpc/nodes with DIR/node.csr and DIR/envelope.pub. */
static int node_add_call(kg_cli *cli, json_t **resp, unsigned long id, const char *dir)
{
    char p[4200];
    kg_bytes csr = {0}, pub = {0};
    snprintf(p, sizeof p, "%s/node.csr", dir);
    kg_err err = kg_cli_read_file(&csr, p, 64 * 1024);
    snprintf(p, sizeof p, "%s/envelope.pub", dir);
    if (!err) err = kg_cli_read_file(&pub, p, 64);
    if (!err && pub.len != 64) err = kg_err_set(KG_ERR_BAD_INPUT, "%s must hold 64 bytes (made by `mpc node-init`)", p);
    char b64[100] = "";
    if (!err) kg_b64_encode(b64, pub.data, pub.len);
    json_t *body = err ? NULL : json_pack("{s:i, s:s, s:s%, s:s}", "id", (int)id, "addr", kg_cli_str(cli, "node-addr"),
                                          "csr", (const char *)csr.data, csr.len, "envelope_public", b64);
    kg_bytes_free(&csr);
    kg_bytes_free(&pub);
    if (err) return kg_cli_local_error(cli, err);
    if (!body) return kg_cli_usage_error(cli, "out of memory (or the CSR is not text)");
    int rc = kg_cli_call(cli, resp, NULL, "POST", "/v1/mpc/nodes", body);
    json_decref(body);
    return rc;
}

int kg_cmd_mpc_node_add(kg_cli *cli)
{
    unsigned long id;
    const char *dir = kg_cli_str(cli, "dir");
    char p[4200];
    if (kg_cli_uint(cli, &id, "id", 0, 1, 65535)) return KG_CLI_LOCAL;
    if (strlen(dir) > 4000) return kg_cli_usage_error(cli, "--dir: the path is too long");
    json_t *resp = NULL;
    int rc = node_add_call(cli, &resp, id, dir);
    if (rc != KG_CLI_OK || !resp) {
        json_decref(resp);
        return rc;
    }
    const char *cert = kg_cli_field(resp, "certificate"), *ca = kg_cli_field(resp, "ca");
    if (!*cert || !*ca) rc = kg_cli_usage_error(cli, "the server's answer has no certificate");
    snprintf(p, sizeof p, "%s/node.pem", dir);
    if (!rc) rc = kg_cli_write_out(cli, p, (const uint8_t *)cert, strlen(cert));
    snprintf(p, sizeof p, "%s/ca.pem", dir);
    if (!rc) rc = kg_cli_write_out(cli, p, (const uint8_t *)ca, strlen(ca));
    if (!rc && (kg_cli_bool(cli, "json") || cli->json)) kg_cli_print_json(cli->out, resp);
    else if (!rc) fprintf(cli->out, "node %lu registered at %s\n%s/node.pem\n%s/ca.pem\n", id, kg_cli_str(cli, "node-addr"), dir, dir);
    json_decref(resp);
    return rc;
}
