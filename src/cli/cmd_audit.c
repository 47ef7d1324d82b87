/* `kashguard audit list|hash|verify`.
 *
 * list and hash are API calls. verify is deliberately OFFLINE: it calls
 * kg_kms_audit_verify on the file or data directory directly, so an auditor
 * can check a copied log without a running (possibly compromised) server
 * and without any token. Its verdict is the exit code: 0 intact, 2 tampered
 * (or unreadable), 1 usage. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "kashguard/kms.h"
#include "cli_int.h"

const kg_cli_opt kg_opts_audit_list[] = {
    {"after", KG_OPT_STR, "<seq>", false, "Only entries after this sequence number."},
    {"limit", KG_OPT_STR, "<int>", false, "At most this many entries (1-1000). The default is 100."},
    {NULL, 0, NULL, false, NULL},
};
const kg_cli_opt kg_opts_audit_verify[] = {
    {"public-key", KG_OPT_STR, "<b64>", false,
     "Pin the audit public key (printed by `kashguard operator init`)."},
    {"json", KG_OPT_BOOL, NULL, false, "Print the verification report as JSON."},
    {NULL, 0, NULL, false, NULL},
};

int kg_cmd_audit_list(kg_cli *cli)
{
    unsigned long after, limit;
    json_t *resp = NULL, *e;
    char path[96];
    size_t i;
    int rc;
    if (kg_cli_uint(cli, &after, "after", 0, 0, ULONG_MAX) ||
        kg_cli_uint(cli, &limit, "limit", 100, 1, 1000))
        return KG_CLI_LOCAL;
    snprintf(path, sizeof path, "/v1/audit?after=%lu&limit=%lu", after, limit);
    if ((rc = kg_cli_call(cli, &resp, NULL, "GET", path, NULL)) != KG_CLI_OK || !resp) return rc;
    if (cli->json) kg_cli_print_json(cli->out, resp);
    else json_array_foreach(json_object_get(resp, "entries"), i, e) {
        char *line = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (line) fprintf(cli->out, "%s\n", line);
        free(line);
    }
    json_decref(resp);
    return KG_CLI_OK;
}

int kg_cmd_audit_hash(kg_cli *cli)
{
    json_t *req = json_pack("{ss}", "input", cli->pos[0]), *resp = NULL;
    int rc;
    if (!req) return kg_cli_usage_error(cli, "VALUE is not valid UTF-8");
    rc = kg_cli_call(cli, &resp, NULL, "POST", "/v1/audit/hash", req);
    json_decref(req);
    if (rc != KG_CLI_OK || !resp) return rc;
    if (cli->json) kg_cli_print_json(cli->out, resp);
    else fprintf(cli->out, "%s\n", kg_cli_field(resp, "hash"));
    json_decref(resp);
    return KG_CLI_OK;
}

int kg_cmd_audit_verify(kg_cli *cli)
{
    json_t *rep = NULL;
    kg_err e = kg_kms_audit_verify(&rep, cli->pos[0], kg_cli_str(cli, "public-key"));
    json_int_t n = json_integer_value(json_object_get(rep, "entries"));
    json_int_t m = json_integer_value(json_object_get(rep, "checkpoints"));
    if (cli->json && rep) kg_cli_print_json(cli->out, rep);
    if (e == KG_OK) {
        if (!cli->json)
            fprintf(cli->out, "audit log OK: %lld entries, %lld checkpoints\n", (long long)n, (long long)m);
    } else if (e == KG_ERR_AUDIT_TAMPERED) {
        const char *reason = json_string_value(json_object_get(rep, "reason"));
        fprintf(cli->json ? cli->err : cli->out, "audit log TAMPERED at entry seq %lld (line %lld): %s\n",
                (long long)json_integer_value(json_object_get(rep, "first_bad_seq")),
                (long long)json_integer_value(json_object_get(rep, "first_bad_line")),
                reason ? reason : kg_err_detail(e));
    } else {
        fprintf(cli->err, "Error: cannot verify the audit log at %s: %s (%s)\n", cli->pos[0],
                kg_err_detail(e), kg_err_code(e));
    }
    json_decref(rep);
    return e == KG_OK ? KG_CLI_OK : KG_CLI_REMOTE;
}
