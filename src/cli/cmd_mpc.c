/* `kashguard mpc ca-init|node-cert|keygen|sign` and `kashguard mpc-node`.
 *
 * keygen and sign without --ca-dir ask the server (cmd_mpc_rest.c, which
 * also has `mpc status`, `mpc node-init` and `mpc node add`). With
 * --ca-dir everything is local: the coordinator commands call the coordinator library
 * (mpc/node.h, src/mpc/coord*.c) on a coordinator directory made by
 * `mpc ca-init` (private CA, coordinator certificate, node registry, key
 * records); `mpc-node` runs one MPC party in the foreground until SIGINT or
 * SIGTERM (kg_mpc_node_run). */
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include "kashguard/mpc.h"
#include "cli_int.h"

#define OPT_CA_DIR {"ca-dir", KG_OPT_STR, "<dir>", true, "The coordinator directory made by `mpc ca-init`."}
#define OPT_END {NULL, 0, NULL, false, NULL}

const kg_cli_opt kg_opts_mpc_ca_init[] = {
    {"dir", KG_OPT_STR, "<dir>", true, "Directory to create the CA and coordinator certificate in."},
    OPT_END,
};
const kg_cli_opt kg_opts_mpc_node_cert[] = {
    OPT_CA_DIR,
    {"id", KG_OPT_STR, "<n>", true, "The node's party id (1..65535; a t-of-n key uses nodes 1..n)."},
    {"out", KG_OPT_STR, "<dir>", true, "Directory for node.pem, node.key and envelope.key (all 0600)."},
    OPT_END,
};
#define OPT_CA_DIR_REST {"ca-dir", KG_OPT_STR, "<dir>", false, \
    "Standalone: the coordinator directory made by `mpc ca-init`. Without it the server is asked."}
const kg_cli_opt kg_opts_mpc_keygen[] = {
    OPT_CA_DIR_REST,
    {"nodes", KG_OPT_STR, "<id@host:port,...>", false,
     "With --ca-dir (required there): the nodes of the key, e.g. 1@127.0.0.1:7401,2@..."},
    {"parties", KG_OPT_STR, "<n>", false, "Without --ca-dir: how many of the server's nodes hold the key "
     "(the default is all of them)."},
    {"threshold", KG_OPT_STR, "<t>", true, "How many nodes must take part in a signature (2..n)."},
    {"scheme", KG_OPT_STR, "<name>", false,
     "frost-ed25519 (the default), frost-ristretto255, frost-p256, frost-secp256k1 or frost-secp256k1-tr; "
     "threshold ECDSA: cggmp21-secp256k1 or cggmp21-p256."},
    {"json", KG_OPT_BOOL, NULL, false, "Print a JSON object."},
    OPT_END,
};
const kg_cli_opt kg_opts_mpc_sign[] = {
    OPT_CA_DIR_REST,
    {"key", KG_OPT_STR, "<key id>", true, "The MPC key id printed by `mpc keygen`."},
    {"message", KG_OPT_STR, "<data>", false, "The message: @file, - (stdin) or literal text (FROST keys)."},
    {"digest", KG_OPT_STR, "<hex>", false, "Threshold ECDSA keys: the 32-byte digest to sign, 64 hex digits."},
    {"digest-b64", KG_OPT_STR, "<b64>", false, "Threshold ECDSA keys: the digest as base64."},
    {"path", KG_OPT_STR, "<m/i/j>", false,
     "Threshold ECDSA keys: sign with the non-hardened BIP32 child at this path (default m, the key itself)."},
    {"nodes", KG_OPT_STR, "<id@host:port,...>", false, "New addresses of nodes (saved in the address book)."},
    {"taproot", KG_OPT_BOOL, NULL, false,
     "frost-secp256k1-tr with --ca-dir: sign for the BIP341 output key (BIP86 without --merkle-root)."},
    {"merkle-root", KG_OPT_STR, "<hex>", false, "With --taproot: the 32-byte script tree root (64 hex digits)."},
    {"json", KG_OPT_BOOL, NULL, false, "Print a JSON object."},
    OPT_END,
};
const kg_cli_opt kg_opts_mpc_node[] = {
    {"data", KG_OPT_STR, "<dir>", true, "Data directory: node.db (key shares) and seal.key, their sealing key (0600)."},
    {"listen", KG_OPT_STR, "<host:port>", true, "Address to listen on, e.g. 127.0.0.1:7401."},
    {"ca", KG_OPT_STR, "<file>", true, "The MPC CA certificate (ca.pem)."},
    {"cert", KG_OPT_STR, "<file>", true, "This node's certificate (node.pem)."},
    {"key", KG_OPT_STR, "<file>", true, "This node's TLS key (node.key)."},
    {"envelope-key", KG_OPT_STR, "<file>", false,
     "This node's envelope keys. The default is envelope.key next to --key."},
    {"id", KG_OPT_STR, "<n>", true, "This node's party id (must match the certificate)."},
    {"exit-with-parent", KG_OPT_BOOL, NULL, false,
     "Stop when the process that started this node dies (kashguard server --dev --mpc-nodes uses it)."},
    {"passphrase-file", KG_OPT_STR, "<file>", false,
     "Keep the seal key wrapped under this passphrase (Argon2id, XChaCha20-Poly1305) in seal.key.enc; a "
     "plaintext seal.key is converted and removed. Default: env KASHGUARD_NODE_PASSPHRASE, else none."},
    {"paillier-bits", KG_OPT_STR, "<2048|3072|4096>", false,
     "CGGMP21 (threshold ECDSA) Paillier modulus size for aux info and refresh; safe primes of half that size "
     "are made in the background into DATA/cggmp-primes.txt. Default: env KG_MPC_PAILLIER_BITS, else 3072."},
    OPT_END,
};

int kg_cmd_mpc_ca_init(kg_cli *cli)
{
    const char *dir = kg_cli_str(cli, "dir");
    kg_err err = kg_mpc_coord_ca_init(dir);
    if (err) return kg_cli_local_error(cli, err);
    fprintf(cli->out, "%s/ca.pem\n%s/coordinator.pem\n", dir, dir);
    return KG_CLI_OK;
}

int kg_cmd_mpc_node_cert(kg_cli *cli)
{
    unsigned long id;
    if (kg_cli_uint(cli, &id, "id", 0, 1, 65535)) return KG_CLI_LOCAL;
    kg_err err = kg_mpc_coord_node_enroll(kg_cli_str(cli, "ca-dir"), (uint16_t)id, kg_cli_str(cli, "out"));
    if (err) return kg_cli_local_error(cli, err);
    fprintf(cli->out, "%s/node.pem\n", kg_cli_str(cli, "out"));
    return KG_CLI_OK;
}

static int parse_nodes(kg_cli *cli, kg_mpc_coord_node *nodes, size_t *n, const char *spec)
{
    *n = 0;
    const char *p = spec;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *at = memchr(p, '@', len);
        char idbuf[8];
        size_t il = at ? (size_t)(at - p) : 0;
        if (*n >= KG_MPC_FROST_MAX_PARTICIPANTS || !at || il == 0 || il >= sizeof idbuf ||
            len - il - 1 == 0 || len - il - 1 >= sizeof nodes[0].addr)
            return kg_cli_usage_error(cli, "--nodes: '%.*s' is not id@host:port", (int)len, p);
        memcpy(idbuf, p, il);
        idbuf[il] = 0;
        char *e;
        unsigned long id = strtoul(idbuf, &e, 10);
        if (*e || id == 0 || id > 65535) return kg_cli_usage_error(cli, "--nodes: bad node id '%s'", idbuf);
        nodes[*n].id = (uint16_t)id;
        memcpy(nodes[*n].addr, at + 1, len - il - 1);
        nodes[*n].addr[len - il - 1] = 0;
        (*n)++;
        p += len + (end ? 1 : 0);
    }
    return *n ? KG_CLI_OK : kg_cli_usage_error(cli, "--nodes is empty");
}

/* The standalone coordinator of --ca-dir with its address book loaded
 * and, when given, the --nodes entries added (and saved). */
int local_coordinator(kg_cli *cli, kg_mpc_coordinator **co, uint16_t *ids, size_t *n)
{
    static kg_mpc_coord_node nodes[KG_MPC_FROST_MAX_PARTICIPANTS];
    const char *spec = kg_cli_str(cli, "nodes");
    *n = 0;
    if (spec && parse_nodes(cli, nodes, n, spec)) return KG_CLI_LOCAL;
    kg_err err = kg_mpc_coordinator_new(co, kg_cli_str(cli, "ca-dir"));
    if (!err) err = kg_mpc_coordinator_book_load(*co);
    for (size_t i = 0; i < *n && !err; i++) {
        ids[i] = nodes[i].id;
        err = kg_mpc_coordinator_set_node(*co, nodes[i].id, nodes[i].addr);
    }
    if (!err && *n) err = kg_mpc_coordinator_book_save(*co);
    if (err) {
        kg_mpc_coordinator_free(*co);
        *co = NULL;
        return kg_cli_local_error(cli, err);
    }
    return KG_CLI_OK;
}

static int print_key(kg_cli *cli, const kg_mpc_key *k)
{
    uint8_t pub[KG_MPC_POINT_MAX_BYTES];
    size_t pub_len = 0;
    char b64[64];
    kg_err err = kg_mpc_key_public(pub, &pub_len, k);
    if (err) return kg_cli_local_error(cli, err);
    kg_b64_encode(b64, pub, pub_len);
    if (kg_cli_bool(cli, "json")) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:i, s:I}", "key_id", k->key_id, "public_key", b64, "scheme",
                              kg_mpc_key_scheme(k), "threshold", (int)k->t, "n", (int)k->n, "epoch",
                              (json_int_t)k->epoch);
        kg_cli_print_json(cli->out, o);
        json_decref(o);
    } else {
        fprintf(cli->out, "key_id      %s\npublic_key  %s\n", k->key_id, b64);
    }
    return KG_CLI_OK;
}

static int remote_error(kg_cli *cli, kg_err err)
{
    fprintf(cli->err, "Error: %s\n", kg_err_detail(err));
    return err == KG_ERR_NOT_FOUND || err == KG_ERR_BAD_INPUT ? KG_CLI_LOCAL : KG_CLI_REMOTE;
}

int kg_cmd_mpc_keygen(kg_cli *cli)
{
    uint16_t ids[KG_MPC_FROST_MAX_PARTICIPANTS];
    size_t n = 0;
    unsigned long t;
    kg_mpc_group_id g = KG_MPC_GROUP_ED25519;
    bool taproot = false;
    const char *scheme = kg_cli_str(cli, "scheme");
    kg_mpc_coordinator *co = NULL;
    signal(SIGPIPE, SIG_IGN);
    bool ecdsa = false; /* cggmp21-*: threshold ECDSA (kg_mpc_coordinator_cggmp_keygen) */
    kg_err err = scheme ? kg_mpc_key_scheme_parse_any(&g, &taproot, &ecdsa, scheme) : KG_OK;
    if (err) return kg_cli_local_error(cli, err);
    if (!kg_cli_str(cli, "ca-dir")) return kg_cli_mpc_keygen_rest(cli);
    if (!kg_cli_str(cli, "nodes")) return kg_cli_usage_error(cli, "--ca-dir needs --nodes id@host:port,...");
    int rc = local_coordinator(cli, &co, ids, &n);
    if (rc) return rc;
    if (kg_cli_uint(cli, &t, "threshold", 0, 2, n)) {
        kg_mpc_coordinator_free(co);
        return KG_CLI_LOCAL;
    }
    kg_mpc_key *k = calloc(1, sizeof *k);
    err = !k ? kg_err_set(KG_ERR_NOMEM, "out of memory")
             : ecdsa ? kg_mpc_coordinator_cggmp_keygen(co, k, g, (unsigned)t, ids, n)
                     : kg_mpc_coordinator_keygen(co, k, g, taproot, (unsigned)t, ids, n);
    if (!err) err = kg_mpc_key_file_save(kg_cli_str(cli, "ca-dir"), k);
    rc = err ? remote_error(cli, err) : print_key(cli, k);
    free(k);
    kg_mpc_coordinator_free(co);
    return rc;
}

int kg_cmd_mpc_sign(kg_cli *cli)
{
    kg_bytes msg = {0};
    uint16_t ids[KG_MPC_FROST_MAX_PARTICIPANTS];
    size_t n = 0;
    kg_mpc_coordinator *co = NULL;
    signal(SIGPIPE, SIG_IGN);
    if (kg_cli_str(cli, "digest") || kg_cli_str(cli, "digest-b64")) return kg_cli_mpc_sign_digest(cli); /* cmd_mpc_ecdsa.c */
    if (!kg_cli_str(cli, "message"))
        return kg_cli_usage_error(cli, "give --message (FROST keys) or --digest/--digest-b64 (threshold ECDSA keys)");
    if (kg_cli_str(cli, "path")) return kg_cli_usage_error(cli, "--path applies to --digest (threshold ECDSA keys)");
    kg_mpc_sign_opts opts = {.taproot_tweak = kg_cli_bool(cli, "taproot")};
    const char *mr = kg_cli_str(cli, "merkle-root");
    size_t mr_len = 0;
    if (mr && !opts.taproot_tweak) return kg_cli_usage_error(cli, "--merkle-root needs --taproot");
    if (mr && (kg_hex_decode(opts.merkle_root, sizeof opts.merkle_root, &mr_len, mr) || mr_len != 32))
        return kg_cli_usage_error(cli, "--merkle-root must be 64 hex digits (32 bytes)");
    opts.has_merkle_root = mr != NULL;
    if (opts.taproot_tweak && !kg_cli_str(cli, "ca-dir"))
        return kg_cli_usage_error(cli, "--taproot needs --ca-dir (the standalone coordinator)");
    if (!kg_cli_str(cli, "ca-dir")) return kg_cli_mpc_sign_rest(cli);
    kg_err err = kg_cli_read_data(&msg, "message", kg_cli_str(cli, "message"));
    if (err) return kg_cli_local_error(cli, err);
    int rc = local_coordinator(cli, &co, ids, &n);
    if (rc) {
        kg_bytes_free(&msg);
        return rc;
    }
    uint8_t sig[KG_MPC_FROST_SIG_MAX_BYTES];
    size_t sig_len = 0;
    kg_mpc_key *k = calloc(1, sizeof *k);
    err = k ? kg_mpc_key_file_load(k, kg_cli_str(cli, "ca-dir"), kg_cli_str(cli, "key"))
            : kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (!err) err = kg_mpc_coordinator_sign(co, sig, &sig_len, k, msg.data, msg.len, &opts);
    kg_bytes_free(&msg);
    free(k);
    kg_mpc_coordinator_free(co);
    if (err) return remote_error(cli, err);
    char b64[128];
    kg_b64_encode(b64, sig, sig_len);
    if (kg_cli_bool(cli, "json")) {
        json_t *o = json_pack("{s:s, s:s}", "key_id", kg_cli_str(cli, "key"), "signature", b64);
        kg_cli_print_json(cli->out, o);
        json_decref(o);
    } else {
        fprintf(cli->out, "%s\n", b64);
    }
    return KG_CLI_OK;
}

static volatile int node_stop;

static void on_signal(int sig)
{
    (void)sig;
    node_stop = 1;
}

/* The node passphrase of --passphrase-file (one trailing newline dropped)
 * or env KASHGUARD_NODE_PASSPHRASE into out; "" when there is none. */
static int node_passphrase(kg_cli *cli, char *out, size_t cap)
{
    const char *file = kg_cli_str(cli, "passphrase-file"), *env = getenv("KASHGUARD_NODE_PASSPHRASE");
    out[0] = 0;
    if (!file) {
        if (env && strlen(env) >= cap) return kg_cli_usage_error(cli, "KASHGUARD_NODE_PASSPHRASE is too long");
        if (env) snprintf(out, cap, "%s", env);
        return KG_CLI_OK;
    }
    FILE *f = fopen(file, "r");
    if (!f) return kg_cli_usage_error(cli, "--passphrase-file: cannot open %s", file);
    size_t n = fread(out, 1, cap - 1, f);
    bool more = fgetc(f) != EOF;
    fclose(f);
    out[n] = 0;
    if (more || strlen(out) != n) {
        kg_wipe(out, cap);
        return kg_cli_usage_error(cli, "--passphrase-file: %s is too long or holds a NUL byte", file);
    }
    if (n && out[n - 1] == '\n') out[--n] = 0;
    if (n && out[n - 1] == '\r') out[--n] = 0;
    if (!n) return kg_cli_usage_error(cli, "--passphrase-file: %s is empty", file);
    return KG_CLI_OK;
}

int kg_cmd_mpc_node(kg_cli *cli)
{
    unsigned long id;
    if (kg_cli_uint(cli, &id, "id", 0, 1, 65535)) return KG_CLI_LOCAL;
    char envkey[4096];
    const char *ek = kg_cli_str(cli, "envelope-key");
    if (!ek) {
        const char *key = kg_cli_str(cli, "key"), *slash = strrchr(key, '/');
        int dl = slash ? (int)(slash - key) : 1;
        snprintf(envkey, sizeof envkey, "%.*s/envelope.key", dl, slash ? key : ".");
        ek = envkey;
    }
    kg_mpc_node_config cfg = {.data_dir = kg_cli_str(cli, "data"), .listen = kg_cli_str(cli, "listen"),
                              .ca_cert = kg_cli_str(cli, "ca"), .cert = kg_cli_str(cli, "cert"),
                              .key = kg_cli_str(cli, "key"), .envelope_key = ek, .id = (uint16_t)id};
    unsigned long pbits = 0;
    const char *pb_env = getenv("KG_MPC_PAILLIER_BITS"); /* tests: small moduli without a flag on every node */
    if (kg_cli_uint(cli, &pbits, "paillier-bits", 0, 2048, 4096)) return KG_CLI_LOCAL;
    if (!kg_cli_str(cli, "paillier-bits") && pb_env && *pb_env) {
        char *end = NULL;
        pbits = strtoul(pb_env, &end, 10);
        if (*end) pbits = 1; /* refused below, naming the value */
    }
    if (pbits && pbits != 2048 && pbits != 3072 && pbits != 4096)
        return kg_cli_usage_error(cli, "--paillier-bits (or KG_MPC_PAILLIER_BITS) must be 2048, 3072 or 4096");
    cfg.paillier_bits = (unsigned)pbits;
    char pass[1024];
    int prc = node_passphrase(cli, pass, sizeof pass);
    if (prc != KG_CLI_OK) return prc;
    if (pass[0]) cfg.passphrase = pass;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* A node the dev server started must not outlive it, even when the server
     * is killed with SIGKILL and cannot stop its children itself. */
    if (kg_cli_bool(cli, "exit-with-parent")) {
        pid_t parent = getppid();
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent || parent == 1)
            return kg_cli_usage_error(cli, "--exit-with-parent: the parent process is already gone");
    }
    node_stop = 0;
    kg_err err = kg_mpc_node_run(&cfg, &node_stop);
    kg_wipe(pass, sizeof pass);
    return err ? kg_cli_local_error(cli, err) : KG_CLI_OK;
}
