/* `kashguard status`: is the server up, initialised and unsealed?
 *
 * GET /v1/sys/health answers 200 unsealed, 503 sealed, 501 not initialised,
 * each with the same JSON document, so every status is an answer here, not
 * an error. The exit code is what scripts wait on (Vault's `vault status`):
 * 0 unsealed, 2 sealed / not initialised / unreachable. */
#include "cli_int.h"

static const char *const health_fields[] = {"initialized", "sealed", "version", "server_time", NULL};

int kg_cmd_status(kg_cli *cli)
{
    json_t *resp = NULL;
    long status = 0;
    int rc = kg_cli_call(cli, &resp, &status, "GET", "/v1/sys/health", NULL);
    if (rc != KG_CLI_OK || !resp) return rc;
    if (cli->json) kg_cli_print_json(cli->out, resp);
    else kg_cli_print_fields(cli->out, resp, health_fields);
    if (!json_is_true(json_object_get(resp, "initialized")))
        fputs("The server is not initialised: run `kashguard operator init`.\n", cli->err);
    else if (!json_is_false(json_object_get(resp, "sealed")))
        fputs("The server is sealed: run `kashguard operator unseal`.\n", cli->err);
    json_decref(resp);
    return status == 200 ? KG_CLI_OK : KG_CLI_REMOTE;
}
