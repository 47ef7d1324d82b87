/* `kashguard key ...`: key lifecycle, one REST call per command.
 *
 * Plain output: `key create` and `key import` print the new key id alone (so
 * `ID=$(kashguard key create ...)` works); `key get` and the lifecycle verbs
 * print the metadata as aligned lines; `key list` prints a table;
 * `key public-key` prints the PEM (or writes DER/raw bytes). --json prints
 * the API's document unchanged. Option values are passed through as the
 * server expects them; the server validates specs and durations and its
 * error message is what the user sees. */
#include <stdlib.h>
#include <string.h>
#include "cli_int.h"

const kg_cli_opt kg_opts_key_create[] = {
    {"spec", KG_OPT_STR, "<spec>", true,
     "Key spec: AES_256, HMAC_256, ECC_NIST_P256, ECC_SECG_P256K1, ED25519, RSA_3072 or RSA_4096."},
    {"alias", KG_OPT_STR, "<string>", false, "A unique name to use instead of the key id."},
    {"description", KG_OPT_STR, "<string>", false, "Free text describing the key."},
    {"rotation-period", KG_OPT_STR, "<duration>", false,
     "Rotate automatically this often, e.g. 90d. The default is never."},
    {"protection", KG_OPT_STR, "<software|hsm>", false,
     "Where the key lives: software (default, under the root key) or hsm (inside an HSM group)."},
    {"hsm-group", KG_OPT_STR, "<group>", false,
     "The HSM group of a --protection hsm key. The default is the server's hsm default_group, "
     "or its only group."},
    {NULL, 0, NULL, false, NULL},
};
const kg_cli_opt kg_opts_key_list[] = {
    {"limit", KG_OPT_STR, "<int>", false, "At most this many keys (1-1000). The default is 100."},
    {"cursor", KG_OPT_STR, "<string>", false, "Continue after a previous page (its next_cursor)."},
    {NULL, 0, NULL, false, NULL},
};
const kg_cli_opt kg_opts_key_schedule_deletion[] = {
    {"waiting-period", KG_OPT_STR, "<duration>", false,
     "How long before the material is destroyed, e.g. 7d. The default is 30d."},
    {NULL, 0, NULL, false, NULL},
};
const kg_cli_opt kg_opts_key_update[] = {
    {"alias", KG_OPT_STR, "<string>", false, "New alias."},
    {"description", KG_OPT_STR, "<string>", false, "New description."},
    {"rotation-period", KG_OPT_STR, "<duration>", false, "New automatic rotation period, e.g. 30d."},
    {NULL, 0, NULL, false, NULL},
};
const kg_cli_opt kg_opts_key_public_key[] = {
    {"version", KG_OPT_STR, "<int>", false, "Key version. The default is the current one."},
    {"format", KG_OPT_STR, "<pem|der|raw>", false,
     "pem (default), der (SubjectPublicKeyInfo) or raw (the bare public key bytes)."},
    {"out", KG_OPT_STR, "<file>", false, "Write to this file instead of stdout."},
    {NULL, 0, NULL, false, NULL},
};
const kg_cli_opt kg_opts_key_import_params[] = {
    {"out-pem", KG_OPT_STR, "<file>", false, "Also write the wrapping public key PEM to this file."},
    {NULL, 0, NULL, false, NULL},
};
const kg_cli_opt kg_opts_key_import[] = {
    {"spec", KG_OPT_STR, "<spec>", true, "Spec of the imported key (as for `key create`)."},
    {"import-token", KG_OPT_STR, "<string>", true, "The import_token from `kashguard key import-params`."},
    {"wrapped-material", KG_OPT_STR, "<b64|@file>", true,
     "The wrapped key material: base64, or @FILE of base64 or raw bytes."},
    {"wrapping-algorithm", KG_OPT_STR, "<alg>", false,
     "RSA_AES_KEY_WRAP_SHA_256 (default) or RSAES_OAEP_SHA_256."},
    {"alias", KG_OPT_STR, "<string>", false, "A unique name for the new key."},
    {"description", KG_OPT_STR, "<string>", false, "Free text describing the key."},
    {NULL, 0, NULL, false, NULL},
};

static const char *const meta_fields[] = {"key_id", "alias", "spec", "usage", "state", "origin",
    "protection", "hsm_group", "description", "current_version", "created_at", "rotation_period", "next_rotation_at",
    "deletion_date", "versions", NULL};

/* Copy the listed CLI options (option name -> JSON field) into obj. */
static int put_opts(kg_cli *cli, json_t *obj, const char *const *map)
{
    for (size_t i = 0; map[i]; i += 2) {
        const char *v = kg_cli_str(cli, map[i]);
        if (v && json_object_set_new(obj, map[i + 1], json_string(v)))
            return kg_cli_usage_error(cli, "--%s is not valid UTF-8", map[i]);
    }
    return KG_CLI_OK;
}

/* Print key metadata: the id alone (created) or all fields (described). */
static int print_key(kg_cli *cli, json_t *resp, bool id_only)
{
    if (cli->json) kg_cli_print_json(cli->out, resp);
    else if (id_only) fprintf(cli->out, "%s\n", kg_cli_field(resp, "key_id"));
    else kg_cli_print_fields(cli->out, resp, meta_fields);
    json_decref(resp);
    return KG_CLI_OK;
}

/* POST a body built from options to path, print the key. */
static int post_key(kg_cli *cli, const char *path, const char *const *map, bool id_only)
{
    json_t *req = json_object(), *resp = NULL;
    int rc = req ? put_opts(cli, req, map) : kg_cli_usage_error(cli, "out of memory");
    if (rc == KG_CLI_OK) rc = kg_cli_call(cli, &resp, NULL, "POST", path, req);
    json_decref(req);
    if (rc != KG_CLI_OK || !resp) return rc;
    return print_key(cli, resp, id_only);
}

int kg_cmd_key_create(kg_cli *cli)
{
    static const char *const map[] = {"spec", "spec", "alias", "alias", "description", "description",
                                      "rotation-period", "rotation_period", "protection", "protection",
                                      "hsm-group", "hsm_group", NULL};
    return post_key(cli, "/v1/keys", map, true);
}

int kg_cmd_key_list(kg_cli *cli)
{
    static const char *const hdr[] = {"KEY ID", "ALIAS", "SPEC", "STATE", "VERSION", NULL};
    static const char *const fld[] = {"key_id", "alias", "spec", "state", "current_version", NULL};
    unsigned long limit;
    const char *cursor = kg_cli_str(cli, "cursor");
    json_t *resp = NULL;
    char path[512];
    int rc;
    if (kg_cli_uint(cli, &limit, "limit", 100, 1, 1000)) return KG_CLI_LOCAL;
    char *cur = cursor ? kg_cli_path("", cursor, "") : NULL;
    if (cursor && !cur) return kg_cli_usage_error(cli, "out of memory");
    if (cur && strlen(cur) > 400) { free(cur); return kg_cli_usage_error(cli, "--cursor is too long"); }
    snprintf(path, sizeof path, "/v1/keys?limit=%lu%s%s", limit, cur ? "&cursor=" : "", cur ? cur : "");
    free(cur);
    if ((rc = kg_cli_call(cli, &resp, NULL, "GET", path, NULL)) != KG_CLI_OK || !resp) return rc;
    if (cli->json) {
        kg_cli_print_json(cli->out, resp);
    } else {
        json_t *keys = json_object_get(resp, "keys");
        if (json_array_size(keys) == 0) fputs("No keys.\n", cli->err);
        else kg_cli_print_table(cli->out, keys, hdr, fld);
        const char *next = json_string_value(json_object_get(resp, "next_cursor"));
        if (next) fprintf(cli->err, "More keys: run again with --cursor %s\n", next);
    }
    json_decref(resp);
    return KG_CLI_OK;
}

int kg_cmd_key_get(kg_cli *cli)
{
    json_t *resp = NULL;
    char *path = kg_cli_path("/v1/keys/", cli->pos[0], "");
    int rc = path ? kg_cli_call(cli, &resp, NULL, "GET", path, NULL) : kg_cli_usage_error(cli, "out of memory");
    free(path);
    if (rc != KG_CLI_OK || !resp) return rc;
    return print_key(cli, resp, false);
}

/* rotate | enable | disable | cancel-deletion: the verb is the command's last word. */
int kg_cmd_key_action(kg_cli *cli)
{
    static const char *const none[] = {NULL};
    char suffix[64];
    snprintf(suffix, sizeof suffix, "/%s", strchr(cli->cmd->name, ' ') + 1);
    char *path = kg_cli_path("/v1/keys/", cli->pos[0], suffix);
    if (!path) return kg_cli_usage_error(cli, "out of memory");
    int rc = post_key(cli, path, none, false);
    free(path);
    return rc;
}

int kg_cmd_key_schedule_deletion(kg_cli *cli)
{
    static const char *const map[] = {"waiting-period", "waiting_period", NULL};
    char *path = kg_cli_path("/v1/keys/", cli->pos[0], "/schedule-deletion");
    if (!path) return kg_cli_usage_error(cli, "out of memory");
    int rc = post_key(cli, path, map, false);
    free(path);
    return rc;
}

int kg_cmd_key_update(kg_cli *cli)
{
    static const char *const map[] = {"alias", "alias", "description", "description",
                                      "rotation-period", "rotation_period", NULL};
    if (!kg_cli_str(cli, "alias") && !kg_cli_str(cli, "description") && !kg_cli_str(cli, "rotation-period"))
        return kg_cli_usage_error(cli, "nothing to update: give --alias, --description or --rotation-period");
    char *path = kg_cli_path("/v1/keys/", cli->pos[0], "/update");
    if (!path) return kg_cli_usage_error(cli, "out of memory");
    int rc = post_key(cli, path, map, false);
    free(path);
    return rc;
}

int kg_cmd_key_public_key(kg_cli *cli)
{
    const char *fmt = kg_cli_str(cli, "format"), *out = kg_cli_str(cli, "out");
    unsigned long version;
    json_t *resp = NULL;
    char q[48] = "";
    int rc;
    if (!fmt) fmt = "pem";
    if (strcmp(fmt, "pem") && strcmp(fmt, "der") && strcmp(fmt, "raw"))
        return kg_cli_usage_error(cli, "--format must be pem, der or raw, not '%s'", fmt);
    if (kg_cli_uint(cli, &version, "version", 0, 1, 1000000)) return KG_CLI_LOCAL;
    if (version) snprintf(q, sizeof q, "/public-key?version=%lu", version);
    char *path = kg_cli_path("/v1/keys/", cli->pos[0], version ? q : "/public-key");
    if (!path) return kg_cli_usage_error(cli, "out of memory");
    rc = kg_cli_call(cli, &resp, NULL, "GET", path, NULL);
    free(path);
    if (rc != KG_CLI_OK || !resp) return rc;
    if (cli->json) {
        kg_cli_print_json(cli->out, resp);
    } else if (!strcmp(fmt, "pem")) {
        const char *pem = kg_cli_field(resp, "public_key_pem");
        rc = kg_cli_write_out(cli, out, (const uint8_t *)pem, strlen(pem));
    } else {
        rc = kg_cli_write_b64_field(cli, out, resp, !strcmp(fmt, "der") ? "public_key_der" : "public_key");
    }
    json_decref(resp);
    return rc;
}

int kg_cmd_key_import_params(kg_cli *cli)
{
    static const char *const fld[] = {"import_token", "wrapping_algorithm", "expires_at", NULL};
    const char *out = kg_cli_str(cli, "out-pem");
    json_t *req = json_object(), *resp = NULL;
    int rc = kg_cli_call(cli, &resp, NULL, "POST", "/v1/keys/import-params", req);
    json_decref(req);
    if (rc != KG_CLI_OK || !resp) return rc;
    const char *pem = kg_cli_field(resp, "public_key_pem");
    if (out) rc = kg_cli_write_out(cli, out, (const uint8_t *)pem, strlen(pem));
    if (cli->json) kg_cli_print_json(cli->out, resp);
    else {
        kg_cli_print_fields(cli->out, resp, fld);
        if (!out) fputs(pem, cli->out);
    }
    json_decref(resp);
    return rc;
}

int kg_cmd_key_import(kg_cli *cli)
{
    static const char *const map[] = {"spec", "spec", "import-token", "import_token",
                                      "alias", "alias", "description", "description", NULL};
    const char *alg = kg_cli_str(cli, "wrapping-algorithm");
    json_t *req = json_object(), *resp = NULL;
    char *wrapped = NULL;
    kg_err e;
    int rc;
    if (!req) return kg_cli_usage_error(cli, "out of memory");
    if ((e = kg_cli_read_b64(&wrapped, "wrapped-material", kg_cli_str(cli, "wrapped-material"))) != KG_OK) {
        json_decref(req);
        return kg_cli_local_error(cli, e);
    }
    rc = put_opts(cli, req, map);
    json_object_set_new(req, "wrapped_material", json_string(wrapped));
    json_object_set_new(req, "wrapping_algorithm", json_string(alg ? alg : "RSA_AES_KEY_WRAP_SHA_256"));
    free(wrapped);
    if (rc == KG_CLI_OK) rc = kg_cli_call(cli, &resp, NULL, "POST", "/v1/keys/import", req);
    json_decref(req);
    if (rc != KG_CLI_OK || !resp) return rc;
    return print_key(cli, resp, true);
}
