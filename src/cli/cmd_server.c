/* `kashguard server`: build a kg_server_config and run the server.
 *
 * Precedence: built-in defaults < --config FILE < flags. The store URL and
 * the KMS data dir follow the final data dir unless the config chose another
 * backend, so `--data` always moves everything (store, audit log, dev keys)
 * together. In dev mode the data dir is created 0700 if missing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "kashguard/server.h"
#include "cli_int.h"

const kg_cli_opt kg_opts_server[] = {
    {"dev", KG_OPT_BOOL, NULL, false,
     "Development mode: plain HTTP on 127.0.0.1, auto-initialise and auto-unseal, root token "
     "printed and written to <data>/root.token. Never for production."},
    {"data", KG_OPT_STR, "<dir>", false,
     "Data directory (store, audit log, dev keys). The default is ./data."},
    {"listen", KG_OPT_STR, "<host:port>", false,
     "Address to listen on. The default is 127.0.0.1:8200."},
    {"mpc-nodes", KG_OPT_STR, "<n>", false,
     "With --dev: run N local MPC nodes (0..9, default 0) under <data>/mpc and serve /v1/mpc/*."},
    {"mpc", KG_OPT_BOOL, NULL, false,
     "Be the MPC coordinator of nodes registered with `kashguard mpc node add` (config: mpc = true)."},
    {"mpc-dir", KG_OPT_STR, "<dir>", false,
     "The MPC coordinator directory (CA, node registry). The default is <data>/mpc; implies --mpc."},
    {"config", KG_OPT_STR, "<file>", false,
     "Config file of `key = value` lines (listen, data_dir, tls_cert, tls_key, ...). "
     "Flags beat its values."},
    {NULL, 0, NULL, false, NULL},
};

/* "sqlite://<something>/kashguard.db": the default store that follows data_dir. */
static bool is_default_store(const char *url)
{
    static const char pre[] = "sqlite://", suf[] = "/kashguard.db";
    size_t n = url ? strlen(url) : 0;
    if (!url) return true;
    return n >= sizeof pre - 1 + sizeof suf - 1 && !strncmp(url, pre, sizeof pre - 1) &&
           !strcmp(url + n - (sizeof suf - 1), suf);
}

static int ensure_dir(kg_cli *cli, const char *dir)
{
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (S_ISDIR(st.st_mode)) return KG_CLI_OK;
        return kg_cli_usage_error(cli, "--data '%s' exists and is not a directory", dir);
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return kg_cli_usage_error(cli, "cannot create the data directory '%s': %s", dir, strerror(errno));
    return KG_CLI_OK;
}

int kg_cmd_server(kg_cli *cli)
{
    kg_server_config cfg;
    const char *v;
    char *store_url = NULL;
    kg_err e;
    int rc;
    kg_server_config_default(&cfg);
    if ((v = kg_cli_str(cli, "config")) && (e = kg_server_config_load(&cfg, v)) != KG_OK)
        return kg_cli_local_error(cli, e);
    if (kg_cli_str(cli, "dev")) cfg.dev = kg_cli_bool(cli, "dev");
    if ((v = kg_cli_str(cli, "data"))) cfg.data_dir = v;
    if ((v = kg_cli_str(cli, "listen"))) cfg.listen = v;
    if (kg_cli_str(cli, "mpc-nodes")) {
        unsigned long n = 0;
        if (kg_cli_uint(cli, &n, "mpc-nodes", 0, 0, 9)) return KG_CLI_LOCAL;
        cfg.mpc_nodes = (unsigned)n;
    }
    if (kg_cli_str(cli, "mpc")) cfg.mpc = kg_cli_bool(cli, "mpc");
    if ((v = kg_cli_str(cli, "mpc-dir"))) cfg.mpc_dir = v;
    if (!cfg.data_dir || !*cfg.data_dir) cfg.data_dir = "./data";
    cfg.kms.data_dir = cfg.data_dir;
    if (is_default_store(cfg.store_url)) {
        size_t n = strlen(cfg.data_dir) + 32;
        if (!(store_url = malloc(n))) return kg_cli_usage_error(cli, "out of memory");
        snprintf(store_url, n, "sqlite://%s/kashguard.db", cfg.data_dir);
        cfg.store_url = store_url;
    }
    if (cfg.dev && (rc = ensure_dir(cli, cfg.data_dir)) != KG_CLI_OK) {
        free(store_url);
        return rc;
    }
    fflush(cli->out);
    e = kg_server_run(&cfg);
    free(store_url);
    if (e != KG_OK) {
        fprintf(cli->err, "Error: the server stopped: %s (%s)\n", kg_err_detail(e), kg_err_code(e));
        return KG_CLI_LOCAL;
    }
    return KG_CLI_OK;
}
