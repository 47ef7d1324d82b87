/* Declarations shared by the mpc transport files (net_ca.c, net_tls.c,
 * net_msg.c) and their tests; never in a public header. */
#ifndef KG_MPC_NET_INT_H
#define KG_MPC_NET_INT_H

#include <openssl/x509.h>
#include "kashguard/mpc/net.h"

/** The party id of a certificate: its subjectAltName must be exactly one
 *  URI that kg_mpc_net_uri_parse accepts. KG_OK | KG_ERR_BAD_INPUT. */
kg_err kg_mpc_net_x509_party(uint32_t *party, X509 *cert) KG_WARN_UNUSED;

/** Write len raw bytes to the connection (no framing): lets the tests send
 *  a malformed frame header. KG_OK | KG_ERR_NETWORK. */
kg_err kg_mpc_net_conn_write_raw(kg_mpc_net_conn *c, const uint8_t *data, size_t len,
                                 int timeout_ms) KG_WARN_UNUSED;

#endif
