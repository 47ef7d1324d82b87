/* `kashguard token create|lookup|renew|revoke`.
 *
 * `token create` prints the new token alone (it is shown once; put it in a
 * secret store or KASHGUARD_TOKEN), warning first when stdout is a file
 * others can read. lookup/renew/revoke act on the token with ACCESSOR, or on
 * the caller's own token (`self`) when none is given: the accessor, never
 * the token, names other tokens, so tokens never travel in URLs or argv. */
#include <stdlib.h>
#include "cli_int.h"

const kg_cli_opt kg_opts_token_create[] = {
    {"policy", KG_OPT_MULTI, "<name>", false, "Policy to attach; repeat for several."},
    {"ttl", KG_OPT_STR, "<duration>", false, "Lifetime, e.g. 1h. The default is 24h."},
    {"display-name", KG_OPT_STR, "<string>", false, "A name shown in lookups and the audit log."},
    {"no-renewable", KG_OPT_BOOL, NULL, false, "Make the token impossible to renew."},
    {"explicit-max-ttl", KG_OPT_STR, "<duration>", false, "Hard limit renewals cannot pass."},
    {NULL, 0, NULL, false, NULL},
};
const kg_cli_opt kg_opts_token_renew[] = {
    {"increment", KG_OPT_STR, "<duration>", false, "Extend by this much. The default is the token's ttl."},
    {NULL, 0, NULL, false, NULL},
};

static const char *const token_fields[] = {"accessor", "display_name", "policies", "created_at",
    "expires_at", "ttl", "renewable", "explicit_max_ttl", NULL};

static int print_token(kg_cli *cli, json_t *resp)
{
    if (cli->json) kg_cli_print_json(cli->out, resp);
    else kg_cli_print_fields(cli->out, resp, token_fields);
    json_decref(resp);
    return KG_CLI_OK;
}

int kg_cmd_token_create(kg_cli *cli)
{
    const char *pol[KG_CLI_MAX_ARGS], *v;
    size_t n = kg_cli_multi(cli, "policy", pol, KG_CLI_MAX_ARGS);
    json_t *req = json_object(), *arr = json_array(), *resp = NULL;
    int rc;
    if (!req || !arr || json_object_set_new(req, "policies", arr)) {
        json_decref(req);
        return kg_cli_usage_error(cli, "out of memory");
    }
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, json_string(pol[i]));
    if ((v = kg_cli_str(cli, "ttl"))) json_object_set_new(req, "ttl", json_string(v));
    if ((v = kg_cli_str(cli, "display-name"))) json_object_set_new(req, "display_name", json_string(v));
    if ((v = kg_cli_str(cli, "explicit-max-ttl"))) json_object_set_new(req, "explicit_max_ttl", json_string(v));
    if (kg_cli_bool(cli, "no-renewable")) json_object_set_new(req, "renewable", json_false());
    rc = kg_cli_call(cli, &resp, NULL, "POST", "/v1/tokens", req);
    json_decref(req);
    if (rc != KG_CLI_OK || !resp) return rc;
    kg_cli_warn_secret_stdout(cli);
    if (cli->json) kg_cli_print_json(cli->out, resp);
    else fprintf(cli->out, "%s\n", kg_cli_field(resp, "token"));
    json_decref(resp);
    return KG_CLI_OK;
}

/* "/v1/tokens/<accessor|self><suffix>" */
static char *token_path(kg_cli *cli, const char *suffix)
{
    return kg_cli_path("/v1/tokens/", cli->npos ? cli->pos[0] : "self", suffix);
}

int kg_cmd_token_lookup(kg_cli *cli)
{
    json_t *resp = NULL;
    char *path = token_path(cli, "");
    int rc = path ? kg_cli_call(cli, &resp, NULL, "GET", path, NULL) : kg_cli_usage_error(cli, "out of memory");
    free(path);
    return rc != KG_CLI_OK || !resp ? rc : print_token(cli, resp);
}

int kg_cmd_token_renew(kg_cli *cli)
{
    const char *inc = kg_cli_str(cli, "increment");
    json_t *req = json_object(), *resp = NULL;
    char *path = token_path(cli, "/renew");
    int rc;
    if (inc) json_object_set_new(req, "increment", json_string(inc));
    rc = path && req ? kg_cli_call(cli, &resp, NULL, "POST", path, req) : kg_cli_usage_error(cli, "out of memory");
    free(path);
    json_decref(req);
    return rc != KG_CLI_OK || !resp ? rc : print_token(cli, resp);
}

int kg_cmd_token_revoke(kg_cli *cli)
{
    json_t *req = json_object(), *resp = NULL;
    char *path = token_path(cli, "/revoke");
    int rc = path && req ? kg_cli_call(cli, &resp, NULL, "POST", path, req) : kg_cli_usage_error(cli, "out of memory");
    free(path);
    json_decref(req);
    if (rc != KG_CLI_OK || !resp) return rc;
    if (cli->json) kg_cli_print_json(cli->out, resp);
    else fprintf(cli->out, "Success! Revoked token %s\n", cli->npos ? cli->pos[0] : "(self)");
    json_decref(resp);
    return KG_CLI_OK;
}
