/* Declarations shared inside the mpc layer (never in a public header).
 *
 * group.c dispatches the public kg_mpc_scalar_* / kg_mpc_point_* functions
 * through one table of operations per backend: group_sodium.c
 * (edwards25519 and ristretto255 over libsodium) and group_ec.c (P-256 and
 * secp256k1 over OpenSSL EC). Every operation gets canonical values (see
 * include/kashguard/mpc/group.h) and cannot fail except on a library
 * failure, which aborts. */
#ifndef KG_MPC_INT_H
#define KG_MPC_INT_H

#include "kashguard/mpc/group.h"

typedef struct {
    size_t point_len;
    bool scalar_le; /* scalar byte order: little-endian (sodium groups) */
    const char *context; /* RFC 9591 contextString */
    bool sha512;     /* SHA-512 suite (else SHA-256 + hash_to_field) */
    void (*scalar_random)(kg_mpc_group_id g, kg_mpc_scalar *out);
    bool (*scalar_canonical)(kg_mpc_group_id g, const uint8_t in[32]);
    void (*scalar_reduce)(kg_mpc_group_id g, kg_mpc_scalar *out, const uint8_t *in, size_t len);
    void (*scalar_add)(kg_mpc_group_id g, kg_mpc_scalar *out, const kg_mpc_scalar *a, const kg_mpc_scalar *b);
    void (*scalar_sub)(kg_mpc_group_id g, kg_mpc_scalar *out, const kg_mpc_scalar *a, const kg_mpc_scalar *b);
    void (*scalar_mul)(kg_mpc_group_id g, kg_mpc_scalar *out, const kg_mpc_scalar *a, const kg_mpc_scalar *b);
    int (*scalar_invert)(kg_mpc_group_id g, kg_mpc_scalar *out, const kg_mpc_scalar *a);
    void (*point_identity)(kg_mpc_point *out);
    void (*point_base_mul)(kg_mpc_group_id g, kg_mpc_point *out, const kg_mpc_scalar *k);
    void (*point_mul)(kg_mpc_group_id g, kg_mpc_point *out, const kg_mpc_scalar *k, const kg_mpc_point *p);
    void (*point_add)(kg_mpc_group_id g, kg_mpc_point *out, const kg_mpc_point *p, const kg_mpc_point *q);
    void (*point_neg)(kg_mpc_group_id g, kg_mpc_point *out, const kg_mpc_point *p);
    /* structural decode check (length already checked); identity rejected by the caller */
    bool (*point_valid)(kg_mpc_group_id g, const uint8_t *in);
} kg_mpc_group_ops;

extern const kg_mpc_group_ops kg_mpc_group_ed25519_ops;
extern const kg_mpc_group_ops kg_mpc_group_ristretto255_ops;
extern const kg_mpc_group_ops kg_mpc_group_p256_ops;
extern const kg_mpc_group_ops kg_mpc_group_secp256k1_ops;

/** The table of g; NULL for an invalid id. */
const kg_mpc_group_ops *kg_mpc_group_ops_get(kg_mpc_group_id g);
/** Print and abort: a library failed on valid input (out of memory). */
_Noreturn void kg_mpc_fatal(const char *what);

#endif
