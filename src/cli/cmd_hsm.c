/* `kashguard hsm ...`: the server's HSM fleet (REST /v1/sys/hsm), one call
 * per command.
 *
 *   hsm add [NAME] --module PATH --token LABEL (--pin-file F | --pin-env VAR)
 *   hsm list | hsm show NAME | hsm remove NAME | hsm group-create NAME --members a,b,c | hsm groups
 *
 * The PIN never goes over the wire: --pin-file names a file the SERVER
 * reads (a relative path is made absolute here when the file exists, since
 * CLI and server usually share the machine but not the working directory)
 * and --pin-env a variable of the server's environment. Plain output is
 * aligned lines and tables; --json prints the API's document. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "cli_int.h"

const kg_cli_opt kg_opts_hsm_add[] = {
    {"module", KG_OPT_STR, "<path>", true, "The PKCS#11 module (shared library) on the server's machine."},
    {"token", KG_OPT_STR, "<label>", true,
     "The PKCS#11 token's label; it is also the member name unless NAME is given. (Here --token is not "
     "the API token: this command takes that from KASHGUARD_TOKEN.)"},
    {"pin-file", KG_OPT_STR, "<file>", false,
     "A file on the server's machine whose first line is the user PIN (the server reads it at every start)."},
    {"pin-env", KG_OPT_STR, "<var>", false, "An environment variable of the server that holds the user PIN."},
    {NULL, 0, NULL, false, NULL},
};
const kg_cli_opt kg_opts_hsm_group_create[] = {
    {"members", KG_OPT_STR, "<a,b,c>", true, "Comma-separated member names (1 to 64)."},
    {NULL, 0, NULL, false, NULL},
};

static const char *const member_fields[] = {"name", "module", "token", "state", "reason", "latency_ms", "ops",
    "errors", "groups", "slot", "mechanisms", NULL};

/* Print resp (stolen): JSON with --json, else the listed fields as aligned lines. */
static int print_doc(kg_cli *cli, json_t *resp, const char *const *fields)
{
    if (cli->json) kg_cli_print_json(cli->out, resp);
    else kg_cli_print_fields(cli->out, resp, fields);
    json_decref(resp);
    return KG_CLI_OK;
}

int kg_cmd_hsm_add(kg_cli *cli)
{
    const char *pin_file = kg_cli_str(cli, "pin-file"), *pin_env = kg_cli_str(cli, "pin-env");
    if ((pin_file == NULL) == (pin_env == NULL))
        return kg_cli_usage_error(cli, "give exactly one of --pin-file and --pin-env (the PIN itself is never "
                                       "sent to the server)");
    /* --token here is the PKCS#11 token label (the design's spelling), so it
     * shadows the global --token: this command's API token is KASHGUARD_TOKEN. */
    if (cli->token == kg_cli_str(cli, "token")) cli->token = getenv("KASHGUARD_TOKEN");
    char abs[PATH_MAX];
    if (pin_file != NULL && pin_file[0] != '/' && realpath(pin_file, abs) != NULL) pin_file = abs;
    json_t *req = json_pack("{s:s, s:s}", "module", kg_cli_str(cli, "module"), "token", kg_cli_str(cli, "token"));
    if (req == NULL) return kg_cli_usage_error(cli, "--module and --token must be valid UTF-8");
    if (cli->npos > 0) json_object_set_new(req, "name", json_string(cli->pos[0]));
    json_object_set_new(req, pin_file ? "pin_file" : "pin_env", json_string(pin_file ? pin_file : pin_env));
    json_t *resp = NULL;
    int rc = kg_cli_call(cli, &resp, NULL, "POST", "/v1/sys/hsm/members", req);
    json_decref(req);
    if (rc != KG_CLI_OK || !resp) return rc;
    return print_doc(cli, resp, member_fields);
}

int kg_cmd_hsm_list(kg_cli *cli)
{
    static const char *const hdr[] = {"NAME", "TOKEN", "STATE", "LATENCY_MS", "OPS", "ERRORS", "GROUPS", "REASON",
                                      NULL};
    static const char *const fld[] = {"name", "token", "state", "latency_ms", "ops", "errors", "groups", "reason",
                                      NULL};
    json_t *resp = NULL;
    int rc = kg_cli_call(cli, &resp, NULL, "GET", "/v1/sys/hsm/members", NULL);
    if (rc != KG_CLI_OK || !resp) return rc;
    json_t *arr = json_object_get(resp, "members");
    if (cli->json) kg_cli_print_json(cli->out, resp);
    else if (json_array_size(arr) == 0) fputs("No HSM members. Add one with `kashguard hsm add`.\n", cli->err);
    else kg_cli_print_table(cli->out, arr, hdr, fld);
    json_decref(resp);
    return KG_CLI_OK;
}

int kg_cmd_hsm_show(kg_cli *cli)
{
    json_t *resp = NULL;
    char *path = kg_cli_path("/v1/sys/hsm/members/", cli->pos[0], "");
    int rc = path ? kg_cli_call(cli, &resp, NULL, "GET", path, NULL) : kg_cli_usage_error(cli, "out of memory");
    free(path);
    if (rc != KG_CLI_OK || !resp) return rc;
    return print_doc(cli, resp, member_fields);
}

int kg_cmd_hsm_remove(kg_cli *cli)
{
    json_t *resp = NULL;
    char *path = kg_cli_path("/v1/sys/hsm/members/", cli->pos[0], "");
    int rc = path ? kg_cli_call(cli, &resp, NULL, "DELETE", path, NULL) : kg_cli_usage_error(cli, "out of memory");
    free(path);
    if (rc != KG_CLI_OK || !resp) return rc;
    if (cli->json) kg_cli_print_json(cli->out, resp);
    else fprintf(cli->out, "Removed HSM member %s.\n", cli->pos[0]);
    json_decref(resp);
    return KG_CLI_OK;
}

/* "a,b,c" -> ["a","b","c"] (empty names refused). */
static int members_array(kg_cli *cli, json_t **out, const char *list)
{
    *out = json_array();
    for (const char *p = list; *out != NULL;) {
        size_t n = strcspn(p, ",");
        if (n == 0) {
            json_decref(*out);
            *out = NULL;
            return kg_cli_usage_error(cli, "--members must be comma-separated names, like a,b,c");
        }
        json_array_append_new(*out, json_stringn(p, n));
        if (p[n] == '\0') break;
        p += n + 1;
    }
    return *out ? KG_CLI_OK : kg_cli_usage_error(cli, "out of memory");
}

int kg_cmd_hsm_group_create(kg_cli *cli)
{
    static const char *const fields[] = {"name", "members", "replicated", "keys", NULL};
    json_t *members = NULL, *resp = NULL;
    int rc = members_array(cli, &members, kg_cli_str(cli, "members"));
    if (rc != KG_CLI_OK) return rc;
    json_t *req = json_pack("{s:s, s:o}", "name", cli->pos[0], "members", members);
    if (req == NULL) return kg_cli_usage_error(cli, "NAME and --members must be valid UTF-8");
    rc = kg_cli_call(cli, &resp, NULL, "POST", "/v1/sys/hsm/groups", req);
    json_decref(req);
    if (rc != KG_CLI_OK || !resp) return rc;
    return print_doc(cli, resp, fields);
}

int kg_cmd_hsm_groups(kg_cli *cli)
{
    static const char *const hdr[] = {"NAME", "MEMBERS", "KEYS", "REPLICATED", NULL};
    static const char *const fld[] = {"name", "members", "keys", "replicated", NULL};
    json_t *resp = NULL;
    int rc = kg_cli_call(cli, &resp, NULL, "GET", "/v1/sys/hsm/groups", NULL);
    if (rc != KG_CLI_OK || !resp) return rc;
    json_t *arr = json_object_get(resp, "groups");
    if (cli->json) kg_cli_print_json(cli->out, resp);
    else if (json_array_size(arr) == 0)
        fputs("No HSM groups. Create one with `kashguard hsm group-create`.\n", cli->err);
    else kg_cli_print_table(cli->out, arr, hdr, fld);
    json_decref(resp);
    return KG_CLI_OK;
}
