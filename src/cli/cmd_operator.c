/* `kashguard operator init|unseal|seal|status`: the seal lifecycle.
 *
 * Unseal keys are secrets, so `operator unseal` never needs one on argv
 * (Vault's rule): on a terminal it prompts with echo off (termios, restored
 * on every path), otherwise it reads one line from stdin, so
 * `kashguard operator unseal < share.txt` works in scripts. A key given as
 * an argument still works but draws a warning about shell history. The key
 * lives in a stack buffer and the request body, both wiped after the call,
 * and --curl shows it as redacted. Init output (the shares and root token)
 * goes to stdout only, with the world-readable-file warning. */
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include "cli_int.h"

#define KG_UNSEAL_KEY_MAX 1024

const kg_cli_opt kg_opts_operator_init[] = {
    {"shares", KG_OPT_STR, "<int>", false,
     "Number of unseal key shares to create (1-255). The default is 5."},
    {"threshold", KG_OPT_STR, "<int>", false,
     "Number of shares needed to unseal (1-shares). The default is 3."},
    {NULL, 0, NULL, false, NULL},
};

const kg_cli_opt kg_opts_operator_unseal[] = {
    {"reset", KG_OPT_BOOL, NULL, false,
     "Forget the unseal shares submitted so far and start again."},
    {NULL, 0, NULL, false, NULL},
};

static const char *const status_fields[] = {"initialized", "sealed", "shares", "threshold",
                                            "progress", "version", NULL};

static int print_status(kg_cli *cli, json_t *resp)
{
    if (cli->json) kg_cli_print_json(cli->out, resp);
    else kg_cli_print_fields(cli->out, resp, status_fields);
    json_decref(resp);
    return KG_CLI_OK;
}

int kg_cmd_operator_init(kg_cli *cli)
{
    unsigned long shares, threshold;
    json_t *req, *resp = NULL, *k;
    size_t i;
    int rc;
    if (kg_cli_uint(cli, &shares, "shares", 5, 1, 255) ||
        kg_cli_uint(cli, &threshold, "threshold", shares < 3 ? shares : 3, 1, 255))
        return KG_CLI_LOCAL;
    if (threshold > shares)
        return kg_cli_usage_error(cli, "--threshold %lu is larger than --shares %lu", threshold, shares);
    if (!(req = json_pack("{sIsI}", "shares", (json_int_t)shares, "threshold", (json_int_t)threshold)))
        return kg_cli_usage_error(cli, "out of memory");
    rc = kg_cli_call(cli, &resp, NULL, "POST", "/v1/sys/init", req);
    json_decref(req);
    if (rc != KG_CLI_OK || !resp) return rc;
    kg_cli_warn_secret_stdout(cli);
    if (cli->json) {
        kg_cli_print_json(cli->out, resp);
    } else {
        json_array_foreach(json_object_get(resp, "unseal_keys"), i, k)
            fprintf(cli->out, "Unseal Key %zu: %s\n", i + 1, json_string_value(k));
        fprintf(cli->out, "\nInitial Root Token: %s\n", kg_cli_field(resp, "root_token"));
        fprintf(cli->out, "Audit Public Key: %s\n", kg_cli_field(resp, "audit_public_key"));
        fprintf(cli->out, "\nThe server is initialised with %lu key shares and a threshold of %lu.\n"
                "It starts sealed: unseal it with %lu of these keys (`kashguard operator unseal`).\n"
                "These keys and the root token are shown once and never stored in clear: hand\n"
                "each share to a different person. Keep the audit public key to pin\n"
                "`kashguard audit verify --public-key`.\n", shares, threshold, threshold);
    }
    json_decref(resp);
    return KG_CLI_OK;
}

/* Read one line into buf (no newline kept). Echo off when stdin is a terminal. */
static int read_key(kg_cli *cli, char *buf, size_t cap)
{
    struct termios old, quiet;
    bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
    char *got;
    if (tty) {
        fputs("Unseal Key (will be hidden): ", cli->err);
        fflush(cli->err);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        quiet.c_lflag |= ECHONL;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    got = fgets(buf, (int)cap, stdin);
    if (tty) tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    if (!got) {
        return kg_cli_usage_error(cli, tty ? "no unseal key entered" :
                                  "no unseal key on stdin; pipe one line (`kashguard operator unseal "
                                  "< share.txt`) or run on a terminal to be prompted");
    }
    return KG_CLI_OK;
}

/* Trim whitespace and check the base64 alphabet (the key is spliced into JSON). */
static int clean_key(kg_cli *cli, char *key)
{
    size_t n = strlen(key), s = 0;
    while (n > 0 && strchr(" \t\r\n", key[n - 1])) key[--n] = 0;
    while (key[s] && strchr(" \t", key[s])) s++;
    memmove(key, key + s, n - s + 1);
    if (!key[0]) return kg_cli_usage_error(cli, "the unseal key is empty");
    if (strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") != strlen(key))
        return kg_cli_usage_error(cli, "the unseal key is not base64 (as printed by `kashguard operator init`)");
    return KG_CLI_OK;
}

static int unseal_with(kg_cli *cli, char *key)
{
    char body[KG_UNSEAL_KEY_MAX + 16];
    json_t *resp = NULL;
    int rc;
    if ((rc = clean_key(cli, key)) != KG_CLI_OK) return rc;
    snprintf(body, sizeof body, "{\"key\":\"%s\"}", key);
    rc = kg_cli_call_secret(cli, &resp, "POST", "/v1/sys/unseal", body);
    kg_wipe(body, sizeof body);
    if (rc != KG_CLI_OK || !resp) return rc;
    return print_status(cli, resp);
}

int kg_cmd_operator_unseal(kg_cli *cli)
{
    char key[KG_UNSEAL_KEY_MAX];
    int rc;
    if (kg_cli_bool(cli, "reset")) {
        json_t *req = json_pack("{sb}", "reset", 1), *resp = NULL;
        if (cli->npos) return kg_cli_usage_error(cli, "--reset takes no KEY");
        rc = kg_cli_call(cli, &resp, NULL, "POST", "/v1/sys/unseal", req);
        json_decref(req);
        return rc != KG_CLI_OK || !resp ? rc : print_status(cli, resp);
    }
    if (cli->npos == 1) {
        fputs("Warning: an unseal key given as an argument is saved in your shell history and\n"
              "visible to other users in the process list. Run `kashguard operator unseal`\n"
              "without it to be prompted, or pipe the key on stdin.\n", cli->err);
        if (strlen(cli->pos[0]) >= sizeof key) return kg_cli_usage_error(cli, "the unseal key is too long");
        snprintf(key, sizeof key, "%s", cli->pos[0]);
    } else if ((rc = read_key(cli, key, sizeof key)) != KG_CLI_OK) {
        kg_wipe(key, sizeof key);
        return rc;
    }
    rc = unseal_with(cli, key);
    kg_wipe(key, sizeof key);
    return rc;
}

int kg_cmd_operator_seal(kg_cli *cli)
{
    json_t *req = json_object(), *resp = NULL;
    int rc = kg_cli_call(cli, &resp, NULL, "POST", "/v1/sys/seal", req);
    json_decref(req);
    if (rc != KG_CLI_OK || !resp) return rc;
    if (cli->json) kg_cli_print_json(cli->out, resp);
    else fputs("Success! The server is sealed.\n", cli->out);
    json_decref(resp);
    return KG_CLI_OK;
}

int kg_cmd_operator_status(kg_cli *cli)
{
    json_t *resp = NULL;
    int rc = kg_cli_call(cli, &resp, NULL, "GET", "/v1/sys/seal-status", NULL);
    if (rc != KG_CLI_OK || !resp) return rc;
    return print_status(cli, resp);
}
