/* `kashguard policy write|read|list|delete`.
 *
 * `policy write` reads the policy document (JSON) from FILE or stdin and
 * checks locally that it is a JSON object with a "name", so a typo is
 * reported with its line and column before anything is sent; the server
 * validates the rules themselves. `policy read` prints the document as JSON
 * (a policy is a document, not a record), `policy list` one name a line. */
#include <stdlib.h>
#include "cli_int.h"

#define KG_POLICY_MAX (1024 * 1024)

int kg_cmd_policy_write(kg_cli *cli)
{
    kg_bytes doc;
    json_t *req = NULL, *resp = NULL;
    kg_err e = kg_cli_read_file(&doc, cli->pos[0], KG_POLICY_MAX);
    int rc;
    if (e != KG_OK) return kg_cli_local_error(cli, e);
    e = kg_json_parse_object(&req, (const char *)doc.data, doc.len);
    kg_bytes_free(&doc);
    if (e != KG_OK) {
        fprintf(cli->err, "Error: the policy in %s is not a JSON object: %s\n",
                cli->pos[0], kg_err_detail(e));
        return KG_CLI_LOCAL;
    }
    const char *name = json_string_value(json_object_get(req, "name"));
    if (!name || !*name) {
        json_decref(req);
        return kg_cli_usage_error(cli, "the policy in %s has no \"name\" string", cli->pos[0]);
    }
    rc = kg_cli_call(cli, &resp, NULL, "POST", "/v1/policies", req);
    if (rc == KG_CLI_OK && resp) {
        if (cli->json) kg_cli_print_json(cli->out, resp);
        else fprintf(cli->out, "Success! Uploaded policy: %s\n", name);
    }
    json_decref(req);
    json_decref(resp);
    return rc;
}

int kg_cmd_policy_read(kg_cli *cli)
{
    json_t *resp = NULL;
    char *path = kg_cli_path("/v1/policies/", cli->pos[0], "");
    int rc = path ? kg_cli_call(cli, &resp, NULL, "GET", path, NULL) : kg_cli_usage_error(cli, "out of memory");
    free(path);
    if (rc != KG_CLI_OK || !resp) return rc;
    kg_cli_print_json(cli->out, resp);
    json_decref(resp);
    return KG_CLI_OK;
}

int kg_cmd_policy_list(kg_cli *cli)
{
    json_t *resp = NULL, *v;
    size_t i;
    int rc = kg_cli_call(cli, &resp, NULL, "GET", "/v1/policies", NULL);
    if (rc != KG_CLI_OK || !resp) return rc;
    if (cli->json) kg_cli_print_json(cli->out, resp);
    else json_array_foreach(json_object_get(resp, "policies"), i, v)
        fprintf(cli->out, "%s\n", json_is_string(v) ? json_string_value(v) : kg_cli_field(v, "name"));
    json_decref(resp);
    return KG_CLI_OK;
}

int kg_cmd_policy_delete(kg_cli *cli)
{
    json_t *resp = NULL;
    char *path = kg_cli_path("/v1/policies/", cli->pos[0], "");
    int rc = path ? kg_cli_call(cli, &resp, NULL, "DELETE", path, NULL) : kg_cli_usage_error(cli, "out of memory");
    free(path);
    if (rc != KG_CLI_OK || !resp) return rc;
    if (cli->json) kg_cli_print_json(cli->out, resp);
    else fprintf(cli->out, "Success! Deleted policy: %s\n", cli->pos[0]);
    json_decref(resp);
    return KG_CLI_OK;
}
