/* KashGuard command-line interface: `kashguard <command> ...`.
 * `server` runs the server; every other command is a client of the REST API
 * (address from KASHGUARD_ADDR, default http://127.0.0.1:8200; token from
 * --token or KASHGUARD_TOKEN), mirroring it one-to-one. */
#ifndef KASHGUARD_CLI_H
#define KASHGUARD_CLI_H

/** Run the CLI. Exit codes: 0 success, 1 local or usage error, 2 server error. */
int kg_cli_main(int argc, char **argv);

#endif
