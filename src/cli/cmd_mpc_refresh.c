/* `kashguard mpc refresh|reshare|repair|resync`: new shares for an MPC key
 * without changing its public key (docs/mpc.md, "Refresh, reshare and
 * repair over the network").
 *
 *   mpc refresh --key ID                      proactive refresh (epoch + 1)
 *   mpc reshare --key ID --threshold T --parties 1,2,4   (FROST and CGGMP21 keys)
 *   mpc repair  --key ID --node N             rebuild node N's share
 *   mpc resync  --key ID                      rebuild the record from the nodes
 *                                             (coordinator crashed after a commit)
 *
 * With --ca-dir the command is the coordinator (mpc/node.h): it loads the
 * key record DIR/keys/<ID>.json and the address book, runs the protocol
 * and saves the updated record only on success (a failure leaves it, and
 * every node's share, unchanged). Without --ca-dir it asks the server
 * (POST /v1/mpc/keys/{id}/refresh|reshare|repair|resync). Both print the key
 * document {"key_id","scheme","threshold","parties","epoch","public_key",
 * "nodes":[ids],"stale":[ids]}. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include "kashguard/mpc.h"
#include "cli_int.h"

#define OPT_END {NULL, 0, NULL, false, NULL}
#define OPT_CA_DIR {"ca-dir", KG_OPT_STR, "<dir>", false, \
    "Standalone: the coordinator directory made by `mpc ca-init`. Without it the server is asked."}
#define OPT_KEY {"key", KG_OPT_STR, "<key id>", true, "The MPC key id printed by `mpc keygen`."}
#define OPT_NODES {"nodes", KG_OPT_STR, "<id@host:port,...>", false, \
    "With --ca-dir: new addresses of nodes (saved in the address book)."}
#define OPT_JSON {"json", KG_OPT_BOOL, NULL, false, "Print a JSON object."}

const kg_cli_opt kg_opts_mpc_refresh[] = {OPT_CA_DIR, OPT_KEY, OPT_NODES, OPT_JSON, OPT_END};
const kg_cli_opt kg_opts_mpc_resync[] = {OPT_CA_DIR, OPT_KEY, OPT_NODES, OPT_JSON, OPT_END};
const kg_cli_opt kg_opts_mpc_reshare[] = {
    OPT_CA_DIR, OPT_KEY,
    {"threshold", KG_OPT_STR, "<t>", true, "The new threshold (2..number of parties)."},
    {"parties", KG_OPT_STR, "<id,id,...>", true, "The node ids of the new share holders, e.g. 1,2,4."},
    OPT_NODES, OPT_JSON, OPT_END,
};
const kg_cli_opt kg_opts_mpc_repair[] = {
    OPT_CA_DIR, OPT_KEY,
    {"node", KG_OPT_STR, "<id>", true, "The node whose share is rebuilt (a stale one, or one that lost it)."},
    OPT_NODES, OPT_JSON, OPT_END,
};

/* The API's key document of k. */
static json_t *key_doc(const kg_mpc_key *k)
{
    uint8_t pub[KG_MPC_POINT_MAX_BYTES];
    size_t pub_len = 0;
    char b64[64];
    if (kg_mpc_key_public(pub, &pub_len, k)) return NULL;
    kg_b64_encode(b64, pub, pub_len);
    json_t *nodes = json_array(), *stale = json_array();
    for (unsigned i = 0; nodes && stale && i < k->n; i++) {
        json_array_append_new(nodes, json_integer(k->ids[i]));
        if (k->stale[i]) json_array_append_new(stale, json_integer(k->ids[i]));
    }
    return json_pack("{s:s, s:s, s:i, s:i, s:I, s:s, s:o*, s:o*}", "key_id", k->key_id, "scheme",
                     kg_mpc_key_scheme(k), "threshold", (int)k->t, "parties", (int)k->n, "epoch",
                     (json_int_t)k->epoch, "public_key", b64, "nodes", nodes, "stale", stale);
}

static void ids_line(FILE *f, const char *label, const json_t *arr)
{
    size_t i;
    json_t *v;
    fprintf(f, "%-11s ", label);
    json_array_foreach(arr, i, v) fprintf(f, "%s%lld", i ? "," : "", (long long)json_integer_value(v));
    fprintf(f, "%s\n", json_array_size(arr) ? "" : "-");
}

static int print_doc(kg_cli *cli, const json_t *doc)
{
    if (!doc) return kg_cli_usage_error(cli, "out of memory");
    if (kg_cli_bool(cli, "json") || cli->json) {
        kg_cli_print_json(cli->out, doc);
        return KG_CLI_OK;
    }
    fprintf(cli->out, "key_id      %s\npublic_key  %s\nepoch       %lld\nthreshold   %lld of %lld\n",
            kg_cli_field(doc, "key_id"), kg_cli_field(doc, "public_key"),
            (long long)json_integer_value(json_object_get(doc, "epoch")),
            (long long)json_integer_value(json_object_get(doc, "threshold")),
            (long long)json_integer_value(json_object_get(doc, "parties")));
    ids_line(cli->out, "nodes", json_object_get(doc, "nodes"));
    ids_line(cli->out, "stale", json_object_get(doc, "stale"));
    return KG_CLI_OK;
}

/* --parties "1,2,4" (each 1..255; duplicates are the library's to refuse). */
static int parse_parties(kg_cli *cli, uint16_t *ids, size_t *n)
{
    const char *p = kg_cli_str(cli, "parties");
    *n = 0;
    while (p && *p) {
        char *end;
        unsigned long v = strtoul(p, &end, 10);
        if (end == p || (*end && *end != ',') || v == 0 || v > KG_MPC_FROST_MAX_PARTICIPANTS ||
            *n == KG_MPC_FROST_MAX_PARTICIPANTS)
            return kg_cli_usage_error(cli, "--parties: a comma-separated list of node ids 1..%d, e.g. 1,2,4",
                                      KG_MPC_FROST_MAX_PARTICIPANTS);
        ids[(*n)++] = (uint16_t)v;
        p = *end ? end + 1 : end;
    }
    return *n ? KG_CLI_OK : kg_cli_usage_error(cli, "--parties is empty");
}

enum { OP_REFRESH, OP_RESHARE, OP_REPAIR, OP_RESYNC };

/* Standalone: load, run, save (only on success), print. */
static int run_local(kg_cli *cli, int op, unsigned t, const uint16_t *ids, size_t n, uint16_t node)
{
    const char *dir = kg_cli_str(cli, "ca-dir");
    uint16_t book_ids[KG_MPC_FROST_MAX_PARTICIPANTS];
    size_t nb = 0;
    kg_mpc_coordinator *co = NULL;
    kg_mpc_key *k = calloc(1, sizeof *k);
    if (!k) return kg_cli_usage_error(cli, "out of memory");
    kg_err err = kg_mpc_key_file_load(k, dir, kg_cli_str(cli, "key"));
    if (err) {
        free(k);
        return kg_cli_local_error(cli, err);
    }
    int rc = local_coordinator(cli, &co, book_ids, &nb);
    if (rc) {
        free(k);
        return rc;
    }
    if (op == OP_REFRESH && k->ecdsa) err = kg_mpc_coordinator_cggmp_refresh(co, k); /* CGGMP21 */
    else if (op == OP_RESHARE && k->ecdsa) err = kg_mpc_coordinator_cggmp_reshare(co, k, t, ids, n);
    else if (op == OP_REPAIR && k->ecdsa) err = kg_mpc_coordinator_cggmp_repair(co, k, node);
    else if (k->ecdsa) err = kg_mpc_coordinator_cggmp_resync(co, k);
    else if (op == OP_REFRESH) err = kg_mpc_coordinator_refresh(co, k);
    else if (op == OP_RESHARE) err = kg_mpc_coordinator_reshare(co, k, t, ids, n);
    else if (op == OP_REPAIR) err = kg_mpc_coordinator_repair(co, k, node);
    else err = kg_mpc_coordinator_resync(co, k);
    if (!err) err = kg_mpc_key_file_save(dir, k);
    kg_mpc_coordinator_free(co);
    if (err) {
        free(k);
        fprintf(cli->err, "Error: %s\n", kg_err_detail(err));
        return err == KG_ERR_NOT_FOUND || err == KG_ERR_BAD_INPUT ? KG_CLI_LOCAL : KG_CLI_REMOTE;
    }
    json_t *doc = key_doc(k);
    rc = print_doc(cli, doc);
    json_decref(doc);
    free(k);
    return rc;
}

static int run_rest(kg_cli *cli, int op, json_t *body)
{
    static const char *const verbs[] = {"/refresh", "/reshare", "/repair", "/resync"};
    if (kg_cli_str(cli, "nodes")) {
        json_decref(body);
        return kg_cli_usage_error(cli, "--nodes needs --ca-dir (the server has its own address book)");
    }
    char *path = body ? kg_cli_path("/v1/mpc/keys/", kg_cli_str(cli, "key"), verbs[op]) : NULL;
    if (!path) {
        json_decref(body);
        return kg_cli_usage_error(cli, "out of memory");
    }
    json_t *resp = NULL;
    int rc = kg_cli_call(cli, &resp, NULL, "POST", path, body);
    if (rc == KG_CLI_OK && resp) rc = print_doc(cli, resp);
    json_decref(resp);
    json_decref(body);
    free(path);
    return rc;
}

int kg_cmd_mpc_refresh(kg_cli *cli)
{
    signal(SIGPIPE, SIG_IGN);
    if (!kg_cli_str(cli, "ca-dir")) return run_rest(cli, OP_REFRESH, json_object());
    return run_local(cli, OP_REFRESH, 0, NULL, 0, 0);
}

int kg_cmd_mpc_reshare(kg_cli *cli)
{
    uint16_t ids[KG_MPC_FROST_MAX_PARTICIPANTS];
    size_t n = 0;
    unsigned long t = 0;
    signal(SIGPIPE, SIG_IGN);
    if (parse_parties(cli, ids, &n) || kg_cli_uint(cli, &t, "threshold", 0, 2, KG_MPC_FROST_MAX_PARTICIPANTS))
        return KG_CLI_LOCAL;
    if (t > n)
        return kg_cli_usage_error(cli, "--threshold %lu is more than the %zu --parties", t, n);
    if (kg_cli_str(cli, "ca-dir")) return run_local(cli, OP_RESHARE, (unsigned)t, ids, n, 0);
    json_t *arr = json_array(), *body = json_pack("{s:i, s:o*}", "threshold", (int)t, "parties", arr);
    for (size_t i = 0; body && i < n; i++) json_array_append_new(arr, json_integer(ids[i]));
    return run_rest(cli, OP_RESHARE, body);
}

int kg_cmd_mpc_repair(kg_cli *cli)
{
    unsigned long id = 0;
    signal(SIGPIPE, SIG_IGN);
    if (kg_cli_uint(cli, &id, "node", 0, 1, KG_MPC_FROST_MAX_PARTICIPANTS)) return KG_CLI_LOCAL;
    if (kg_cli_str(cli, "ca-dir")) return run_local(cli, OP_REPAIR, 0, NULL, 0, (uint16_t)id);
    return run_rest(cli, OP_REPAIR, json_pack("{s:i}", "node", (int)id));
}

int kg_cmd_mpc_resync(kg_cli *cli)
{
    signal(SIGPIPE, SIG_IGN);
    if (!kg_cli_str(cli, "ca-dir")) return run_rest(cli, OP_RESYNC, json_object());
    return run_local(cli, OP_RESYNC, 0, NULL, 0, 0);
}
