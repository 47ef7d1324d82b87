/* Private to the coordinator's CGGMP21 files: coord_cggmp.c (the generic
 * phase runner, keygen, refresh) and coord_cggmp_sign.c (presignature
 * inventory, presign, signing, identification). The wire contract is the
 * one of node_cggmp*.c (CGGMP_* of mpc/node.h). */
#ifndef KG_MPC_COORD_CGGMP_INT_H
#define KG_MPC_COORD_CGGMP_INT_H

#include "kashguard/mpc/cggmp.h"
#include "node_int.h"

/* CGGMP_START phases. */
enum { KG_MPC_CO_CG_KEYGEN = 1, KG_MPC_CO_CG_AUX = 2, KG_MPC_CO_CG_REFRESH = 3, KG_MPC_CO_CG_PRESIGN = 4 };
enum { KG_MPC_CO_CG_RESHARE = 5 }; /* coord_cggmp_reshare.c */

#define KG_MPC_CO_CG_MAXP KG_CGGMP_MAX_PARTIES
#define KG_MPC_CO_CG_AUX_DIGEST 64
#define KG_MPC_CO_CG_PRESIG_ID 32

/** One phase run. The caller fills the inputs; kg_mpc_co_cg_run fills the
 *  outputs. */
typedef struct kg_mpc_co_cg_phase_s {
    /* inputs */
    kg_mpc_coordinator *co;
    kg_mpc_group_id g;
    uint16_t phase;
    const char *key_id;
    unsigned t;
    const uint16_t *ids; /* every party of the key, ascending */
    size_t n;
    const uint16_t *parts; /* who runs it: ids, or the signing set (ascending) */
    size_t np;
    uint32_t epoch; /* the key's epoch (0 for keygen) */
    int call_ms;    /* per request and answer */
    /* Called with the agreed result (after the phase u16) before CONFIRM;
     * an error aborts the run (its detail "party <id> ..." names a node). */
    kg_err (*check)(void *arg, const uint8_t *res, size_t len);
    void *arg;
    /* Presign only (NULL: none): called when the finish failed with no
     * culprit (the δ check), before ABORT, with the parts' open
     * connections (NULL: unusable); returns an error whose detail "party
     * <id> ..." names the culprit (coord_cggmp_sign.c). */
    kg_err (*identify)(void *arg, struct kg_mpc_co_cg_phase_s *p, kg_mpc_net_conn **c);
    /* outputs */
    uint8_t sess[KG_MPC_NET_SESSION_ID_BYTES];
    kg_bytes result;                    /* the agreed result (freed by kg_mpc_co_cg_free) */
    bool down[KG_MPC_CO_CG_MAXP];       /* parts[i] was unreachable or failed in transport */
    bool blamed[KG_MPC_CO_CG_MAXP];     /* parts[i] was named as a culprit */
    /* Reshare (phase 5) inputs: t = the new threshold, ids = parts = every
     * participant; the dealers (START's signers), the new set and the old
     * key (its public data goes in the START tail). Only the new parties
     * get CONFIRM in the run; the others' sessions stay open for
     * kg_mpc_co_cg_tell once the new set has its aux. */
    const uint16_t *dealers;
    size_t n_dealers;
    const uint16_t *new_ids;
    size_t new_n;
    const kg_mpc_key *old;
    kg_bytes confirms; /* output (reshare): the CONFIRM body (freed by kg_mpc_co_cg_free) */
} kg_mpc_co_cg_phase;

/** Run p: START to every party, the rounds, the finish, the agreement
 *  check, p->check, CONFIRM; any failure sends ABORT to every party and
 *  returns an error naming the culprit or the unreachable node(s). */
kg_err kg_mpc_co_cg_run(kg_mpc_co_cg_phase *p) KG_WARN_UNUSED;
void kg_mpc_co_cg_free(kg_mpc_co_cg_phase *p);
/** Send type (CGGMP_CONFIRM with body, or CGGMP_ABORT with an empty one)
 *  in session sess to nodes ids[0..n-1], best effort; the number that
 *  answered without error. */
size_t kg_mpc_co_cg_tell(kg_mpc_coordinator *co, kg_mpc_group_id g, const uint8_t *sess, uint8_t type,
                         const kg_bytes *body, const uint16_t *ids, size_t n);
/** Length of a phase's result for n parties of group g (without the
 *  confirmation blob). */
size_t kg_mpc_co_cg_result_len(uint16_t phase, kg_mpc_group_id g, size_t n);
/** ids[0..n-1] are t-of-n public shares of pub: every t-set made of the
 *  first t-1 and any other interpolates to pub. KG_OK | KG_ERR_VERIFY. */
kg_err kg_mpc_co_cg_shares_check(kg_mpc_group_id g, const kg_mpc_point *pub, const kg_mpc_point *X,
                                 const uint16_t *ids, size_t n, unsigned t) KG_WARN_UNUSED;
/** A presignature the coordinator knows of (public facts only). */
typedef struct {
    char key_id[KG_MPC_NODE_KEY_ID_MAX + 1];
    uint32_t epoch;
    uint8_t id[KG_MPC_CO_CG_PRESIG_ID];
    uint16_t signers[KG_MPC_CO_CG_MAXP];
    size_t ns;
    bool has_R;
    kg_mpc_point R;
} kg_mpc_co_cg_presig;

/* Parsers of node answers (untrusted; fuzz/fuzz_cggmp_coord.c). Each
 * returns KG_OK or KG_ERR_BAD_INPUT naming the node ("party <id> ...")
 * and leaves its outputs empty on error. */
/** A finish answer of phase for n parties of g: *res (result_len bytes)
 *  and *conf (the confirmation envelope, not yet verified) point into body. */
kg_err kg_mpc_co_cg_finish_read(uint16_t phase, kg_mpc_group_id g, size_t n, uint16_t node, const uint8_t *body,
                                size_t len, const uint8_t **res, const uint8_t **conf, size_t *conf_len) KG_WARN_UNUSED;
/** A CGGMP_INFO answer: out[0..*n_out-1] (at most cap) get the unused
 *  presignatures if the node's epoch is k->epoch; their R when the node
 *  adds the optional tail (u16 count, count x R, entries' order). */
kg_err kg_mpc_co_cg_info_read(const kg_mpc_key *k, uint16_t node, const uint8_t *body, size_t len,
                              kg_mpc_co_cg_presig *out, size_t *n_out, size_t cap) KG_WARN_UNUSED;
/** A CGGMP_INFO answer to a request with flag 1 (coord_cggmp_resync.c):
 *  the node's epoch, whether it has aux info, and its share's public data
 *  (the tail after the presignatures and their R). */
typedef struct {
    uint32_t epoch;
    bool has_aux;
    unsigned t, n;
    uint16_t ids[KG_MPC_CO_CG_MAXP];
    kg_mpc_point pub;
    uint8_t chain_code[32];
    kg_mpc_point X[KG_MPC_CO_CG_MAXP];
} kg_mpc_co_cg_info_pub;
/** Parse it (untrusted: ids ascending and non-zero, 2 <= t <= n <= 64,
 *  valid points of g); *out zeroed on error. */
kg_err kg_mpc_co_cg_info_pub_read(kg_mpc_group_id g, uint16_t node, const uint8_t *body, size_t len,
                                  kg_mpc_co_cg_info_pub *out) KG_WARN_UNUSED;
/** A CGGMP_SIGN answer: σ_i, the child key and (when the node adds it) R. */
kg_err kg_mpc_co_cg_sign_read(kg_mpc_group_id g, uint16_t node, const uint8_t *body, size_t len,
                              kg_mpc_scalar *sigma, kg_mpc_point *child, kg_mpc_point *R, bool *has_R) KG_WARN_UNUSED;

/** The presignature inventory of co (coord_cggmp_sign.c; created lazily,
 *  freed by kg_mpc_co_cg_inv_free from kg_mpc_coordinator_free). */
struct kg_mpc_co_cg_inv;
void kg_mpc_co_cg_inv_free(struct kg_mpc_co_cg_inv *inv);
/** coord.c: the coordinator's inventory pointer (NULL until first use). */
struct kg_mpc_co_cg_inv **kg_mpc_co_cg_inv_slot(kg_mpc_coordinator *co);
/** Identification over c[0..ns-1] (the signers' open connections; sess
 *  the frame session: the presign session for δ). sbody: NULL for δ
 *  (BLAME kinds 1, 3), else the CGGMP_SIGN body (kinds 2, 4) with sigma[]
 *  the shares received. out gets "party N failed ... (who named whom)"
 *  with *culprit N, or why no culprit (0). Errors: local only
 *  (coord_cggmp_blame.c). */
kg_err kg_mpc_co_cg_blame_identify(kg_mpc_net_conn **c, const uint16_t *signers, size_t ns, kg_mpc_group_id g,
                                   const uint8_t *sess, const kg_bytes *sbody, const kg_mpc_scalar *sigma, char *out,
                                   size_t cap, uint16_t *culprit) KG_WARN_UNUSED;
/** The identification of a presign whose δ check failed (CGGMP_BLAME
 *  kinds 1 and 3 in the phase's session); for kg_mpc_co_cg_phase.identify. */
kg_err kg_mpc_co_cg_presign_identify(void *arg, kg_mpc_co_cg_phase *p, kg_mpc_net_conn **c) KG_WARN_UNUSED;
/** Forget every presignature of key_id (after a refresh). */
void kg_mpc_co_cg_inv_forget(kg_mpc_coordinator *co, const char *key_id);

#endif
