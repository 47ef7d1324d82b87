/* KashGuard mpc layer: MPC node processes (`kashguard mpc-node`) and the
 * coordinator that drives them over mutual TLS (mpc/net.h).
 *
 * Wire protocol (node_proto.c). Every frame on a coordinator<->node
 * connection is one message:
 *
 *   offset size  field
 *     0     1    version (1)
 *     1     1    type (KG_MPC_NODE_*; a response has the request's type
 *                | 0x80, or KG_MPC_NODE_ERROR)
 *     2     1    scheme (kg_mpc_group_id, nonzero)
 *     3     1    reserved, 0
 *     4    32    session id
 *    36     4    body length (u32 BE) = total - 40
 *    40     -    body
 *
 * Only the coordinator (party 0, checked from its TLS certificate) may talk
 * to a node. Node-to-node data never appears in clear: DKG round-1 messages
 * are net.h broadcast envelopes signed by their sender, DKG round-2 shares
 * are point-to-point envelopes sealed to their receiver (the coordinator
 * relays them and cannot read them); a node checks every envelope against
 * the registry's keys and its replay window. Bodies (lists are a u16 count
 * then entries; blobs a u32 length then bytes; ids u16 BE):
 *
 *   DKG_ROUND1 req: t u16, n u16, key id blob, n x {id, box 32, sign 32}
 *              rsp: blob round-1 broadcast envelope
 *   DKG_ROUND2 req: list of blobs (the others' round-1 envelopes)
 *              rsp: list of blobs (sealed round-2 envelopes, one per other)
 *   DKG_FINISH req: list of blobs (round-2 envelopes addressed to me)
 *              rsp: group public key (P), the n public shares (n x P), blob
 *                   confirmation (a round-3 broadcast envelope signed by me:
 *                   SHA-256 digest of the round-1 transcript (32), blob my
 *                   own round-1 envelope); the new share stays PENDING
 *   DKG_CONFIRM req: list of n blobs (every node's confirmation)
 *              rsp: empty; the node checked every confirmation's signature,
 *                   digest and round-1 envelope and activated its share
 *   DKG_ABORT  req: empty    rsp: empty (drops the session and its pending
 *                   or just-activated share; unknown sessions are fine)
 *   An error that blames another party has a detail starting "party <id> ".
 *   SIGN_COMMIT req: key id blob     rsp: commitment (2 + 2P)
 *   SIGN_SHARE req: key id blob, message blob, list of commitments (2 + 2P)
 *              rsp: signature share (34)
 *   SIGN_PREPROCESS req: key id blob, count u16 (1..100)
 *              rsp: list of blobs (count commitments (2 + 2P) whose nonces
 *                   the node made and stored durably, sealed, ahead of use)
 *   SIGN_PRE   req: as SIGN_SHARE, where this node's commitment is one it
 *              preprocessed (no session, one round trip); the node records
 *              the nonce as used durably before it answers, and refuses a
 *              commitment it never made or already used
 *              rsp: signature share (34)
 *   PING req: empty    rsp: node id u16, key shares held u16 (capped),
 *              open sessions u16 (any scheme; no secret in the answer)
 *   SIGN_TR_NONCE req (scheme secp256k1; BIP 445, frost-secp256k1-tr):
 *              key id blob, message blob    rsp: pubnonce (66)
 *   SIGN_TR_SIGN req: key id blob, message blob (the round-1 one), u16 u,
 *              u x {node id u16, pubshare 33}, aggnonce 66, u16 tweak
 *              count, count x {is_xonly u8 (0/1), tweak 32}
 *              rsp: partial signature (32)
 *   Refresh and reshare (two phases; E = epoch u32 BE; node ids 1..255;
 *   reg = u16 count, count x {id, box 32, sign 32}; ids = u16 count, ids):
 *   EPOCH_DEAL req: u16 mode (1 refresh, 2 reshare), key id blob, E (the
 *              current epoch), u16 new t, holders ids (the whole new set),
 *              dealers ids, reg (dealers and receivers; receivers are the
 *              dealers for a refresh, the holders for a reshare)
 *              rsp: blob commitment envelope (broadcast signed by the
 *                   dealer: dealer u16, t u16, t points, a refresh leaving
 *                   out C_0 = identity), list of blobs (one sealed envelope
 *                   {from u16, to u16, scalar} per other receiver)
 *   EPOCH_FINISH req: the DEAL fields, group key (P), u16 count + publics
 *              (refresh: the holders' current PK, holders order; reshare:
 *              the dealers' PK, dealers order), list of the dealers'
 *              commitment blobs, list of the sealed blobs addressed to me
 *              rsp: group key (P), the holders' new PK (n x P); the new
 *                   share is stored PENDING for epoch E+1
 *   EPOCH_COMMIT req: key id blob, E+1   rsp: empty (pending -> active)
 *   EPOCH_ABORT req: key id blob    rsp: empty (drops this session's pending)
 *   EPOCH_DELETE req: key id blob, E   rsp: empty (share deleted)
 *   REPAIR_STEP1 req: key id blob, E, lost u16, helpers ids, reg (helpers
 *              and lost)   rsp: list of sealed pieces, one per other helper
 *   REPAIR_STEP2 req: list of sealed pieces addressed to me
 *              rsp: blob, the sealed sum for the lost node
 *   REPAIR_FINISH req: key id blob, E, u16 t, holders ids, reg (helpers),
 *              my PK (P), group key (P), list of sealed sums
 *              rsp: my PK (P); the share is active at E
 *   A node whose share is at another epoch than E answers KG_ERR_CONFLICT.
 *   KEY_INFO req: key id blob    rsp: node id u16, E (the epoch of this
 *              node's active share), its public share (P); public data
 *              only; KG_ERR_NOT_FOUND "no key" when it holds no share
 *              (coord_resync.c rebuilds a key record from the answers)
 *   Import of an existing key by a trusted dealer (RFC 9591 Appendix C;
 *   node_import.c): the dealer (the operator's CLI, sender id
 *   KG_MPC_IMPORT_DEALER, fresh X25519 key) seals each share to its node;
 *   the coordinator only relays. vss = u16 t, t points (C_0 = group key).
 *   IMPORT_SHARE req: t u16, key id blob, holders ids, reg (holders),
 *              dealer box 32, vss, blob sealed envelope (dealer -> me,
 *              type IMPORT_SHARE, round 1, session = this message's;
 *              payload {to u16, t u16, scalar})
 *              rsp: my PK (P), blob confirmation (broadcast signed by me,
 *                   type IMPORT_CONFIRM, round 2: SHA-256 digest of the
 *                   session, key id, t, holders, dealer key and vss); the
 *                   share is PENDING
 *   IMPORT_CONFIRM req: list of n blobs (every holder's confirmation)
 *              rsp: empty; all signatures and digests match mine: active
 *                   at epoch 0
 *   IMPORT_ABORT req: empty  rsp: empty (drops the session and its pending
 *              or just-activated share)
 *   CGGMP21 threshold ECDSA (node_cggmp*.c; scheme = the curve; the full
 *   contract with the envelope rules is in docs/mpc.md). A phase (1 keygen,
 *   2 aux, 3 refresh, 4 presign) is one session: library messages travel
 *   in envelopes of type CGGMP_ROUND (round r = library round, seq r*1000
 *   + index + 1; broadcasts signed, p2p sealed); every result stays
 *   PENDING until CGGMP_CONFIRM. E = epoch u32; P = point (33).
 *   CGGMP_START req: phase u16, key id blob, t u16, u16 n + n ids
 *              (ascending), n x {box 32, sign 32}, u16 ns + ns signer ids
 *              (presign; else 0), E   rsp: list of blobs (round-1 envelopes)
 *              Phase 5 (reshare, coord_cggmp_reshare.c): t = the new t, ids =
 *              dealers and new parties, signers = the dealers, E = the old
 *              epoch, then u16 + new ids, old t u16, u16 + old ids, old n x
 *              P, group key P, chain code 32; ROUND 3 is its finish (result:
 *              a new party's new n x P, nothing from one leaving); CONFIRM
 *              stages a new party's share for the aux run at E+1 (whose
 *              CONFIRM stores both) and makes one leaving delete the key.
 *   CGGMP_ROUND req: round u16 (2, 3; 4 = finish), list of blobs (the
 *              previous round's broadcasts of the others and p2p to me)
 *              rsp: 2..3: list of blobs; 4: phase u16, result (keygen: P,
 *              chain code 32, n x P; aux: aux digest 64; refresh: digest
 *              64, n x P; presign: presig id 32, R), blob confirmation
 *              (broadcast envelope, type CGGMP_CONFIRM, round 100, seq
 *              100000, payload the SHA-256 transcript digest 32)
 *   CGGMP_CONFIRM req: list of blobs (every participant's confirmation)
 *              rsp: empty (all digests equal mine: stored atomically)
 *   CGGMP_ABORT req: empty   rsp: empty (a keygen or presign activated in
 *              the session is deleted again)
 *   CGGMP_SIGN req: key id blob, presig id 32, digest 32, u16 depth +
 *              depth x u32 (non-hardened path)   rsp: sigma_i 32, child P
 *              (the presignature is marked used durably first)
 *   CGGMP_BLAME req: kind u16 (1: the session's failed presign; 2: key id
 *              blob, presig id 32, digest 32, path as SIGN), u16 count +
 *              verifier ids   rsp: blob, the proof (cggmp_blame.c wire form)
 *              Kinds 3 (session) / 4 (+ key id .. path as 2) verify: verifier
 *              ids list, u16 count + {prover u16, (4) sigma_j 32, blob proof}
 *              rsp: list of prover ids whose proof failed or is missing
 *   CGGMP_INFO req: key id blob [, flags u8]   rsp: E, has aux u8, aux
 *              digest 64 (zero without), u16 count + count x {presig id 32,
 *              u16 ns + ids} (unused presignatures), u16 count + count x R;
 *              flag 1 adds t u16, u16 n + ids, group key P, chain code 32,
 *              n x P public shares (coord_cggmp_resync.c)
 *   ERROR rsp: u16 kg_err code, then the detail text (no NUL)
 *
 * Node ids are the FROST identifiers; a t-of-n DKG uses nodes 1..n. */
#ifndef KASHGUARD_MPC_NODE_H
#define KASHGUARD_MPC_NODE_H

#include "frost.h"
#include "net.h"
#include <jansson.h>

#define KG_MPC_NODE_VERSION 1
#define KG_MPC_NODE_HEADER_BYTES 40
#define KG_MPC_NODE_KEY_ID_MAX 64

enum {
    KG_MPC_NODE_DKG_ROUND1 = 0x10,
    KG_MPC_NODE_DKG_ROUND2 = 0x11,
    KG_MPC_NODE_DKG_FINISH = 0x12,
    KG_MPC_NODE_DKG_CONFIRM = 0x13, /* echo check of the round-1 transcript (node_dkg.c) */
    KG_MPC_NODE_DKG_ABORT = 0x14,   /* drop a DKG session and its pending share */
    KG_MPC_NODE_SIGN_COMMIT = 0x20,
    KG_MPC_NODE_SIGN_SHARE = 0x21,
    KG_MPC_NODE_SIGN_PREPROCESS = 0x22, /* durable preprocessed nonces (node_sign.c) */
    KG_MPC_NODE_SIGN_PRE = 0x23,        /* one-round signing with a preprocessed nonce */
    KG_MPC_NODE_SIGN_TR_NONCE = 0x30, /* BIP 445 round 1 (node_sign_tr.c) */
    KG_MPC_NODE_SIGN_TR_SIGN = 0x31,  /* BIP 445 round 2 */
    KG_MPC_NODE_EPOCH_DEAL = 0x40,    /* refresh/reshare phase 1 (node_refresh.c) */
    KG_MPC_NODE_EPOCH_FINISH = 0x41,  /* verify dealings, keep the new share PENDING */
    KG_MPC_NODE_EPOCH_COMMIT = 0x42,  /* phase 2: pending -> active (node_epoch.c) */
    KG_MPC_NODE_EPOCH_ABORT = 0x43,   /* drop the pending share */
    KG_MPC_NODE_EPOCH_DELETE = 0x44,  /* a reshare left this node out */
    KG_MPC_NODE_REPAIR_STEP1 = 0x48,  /* repair (node_repair.c) */
    KG_MPC_NODE_REPAIR_STEP2 = 0x49,
    KG_MPC_NODE_REPAIR_FINISH = 0x4A,
    KG_MPC_NODE_CGGMP_START = 0x50,   /* CGGMP21 phase round 1 (node_cggmp.c) */
    KG_MPC_NODE_CGGMP_ROUND = 0x51,   /* CGGMP21 next round / finish */
    KG_MPC_NODE_CGGMP_CONFIRM = 0x52, /* echo check of the broadcasts, then activate */
    KG_MPC_NODE_CGGMP_ABORT = 0x53,   /* drop the session and anything pending */
    KG_MPC_NODE_CGGMP_SIGN = 0x54,    /* online signing from a stored presignature */
    KG_MPC_NODE_CGGMP_BLAME = 0x55,   /* identification proofs after a failed check */
    KG_MPC_NODE_CGGMP_INFO = 0x56,    /* a key's epoch, aux digest, presignatures held */
    KG_MPC_NODE_PING = 0x60,        /* liveness and facts (node_ping.c) */
    KG_MPC_NODE_KEY_INFO = 0x64,    /* a key's epoch and public share here (node_keyinfo.c) */
    KG_MPC_NODE_IMPORT_SHARE = 0x70,   /* trusted-dealer import (node_import.c) */
    KG_MPC_NODE_IMPORT_CONFIRM = 0x71, /* echo check, then activate */
    KG_MPC_NODE_IMPORT_ABORT = 0x72,   /* drop the pending or new share */
    KG_MPC_NODE_RESPONSE = 0x80,
    KG_MPC_NODE_ERROR = 0xFF
};

/** A decoded message; body points into the decoded buffer. */
typedef struct {
    uint8_t type;
    uint8_t scheme;
    uint8_t session[KG_MPC_NET_SESSION_ID_BYTES];
    const uint8_t *body;
    size_t body_len;
} kg_mpc_node_msg;

/** Encode m into *out (new buffer). KG_OK | KG_ERR_BAD_INPUT (unknown type,
 *  scheme 0) | KG_ERR_TOO_LARGE | KG_ERR_NOMEM. */
kg_err kg_mpc_node_msg_encode(kg_bytes *out, const kg_mpc_node_msg *m) KG_WARN_UNUSED;
/** Parse untrusted bytes: version, reserved 0, known type, scheme a valid
 *  group (any for ERROR), exact length. KG_OK | KG_ERR_BAD_INPUT (*out zeroed). */
kg_err kg_mpc_node_msg_decode(kg_mpc_node_msg *out, const uint8_t *in, size_t len) KG_WARN_UNUSED;
/** An ERROR response for session carrying err and its current detail. */
kg_err kg_mpc_node_error_encode(kg_bytes *out, const uint8_t session[static KG_MPC_NET_SESSION_ID_BYTES],
                                kg_err err, const char *detail) KG_WARN_UNUSED;
/** Read an ERROR body: sets the thread's detail to "node <node>: <text>" and
 *  returns the error code it carries (KG_ERR_BAD_INPUT if malformed). */
kg_err kg_mpc_node_error_decode(const kg_mpc_node_msg *m, uint32_t node);

/** Body reader over untrusted bytes (every read bounds-checked). */
typedef struct {
    const uint8_t *p;
    size_t left;
    bool bad;
} kg_mpc_node_rd;
void kg_mpc_node_rd_init(kg_mpc_node_rd *r, const uint8_t *p, size_t len);
uint16_t kg_mpc_node_rd_u16(kg_mpc_node_rd *r);
/** Bytes of a u32-length blob (at most max); NULL and r->bad on error. */
const uint8_t *kg_mpc_node_rd_blob(kg_mpc_node_rd *r, size_t *len, size_t max);
const uint8_t *kg_mpc_node_rd_fixed(kg_mpc_node_rd *r, size_t len);
/** KG_OK when nothing is left and no read failed, else KG_ERR_BAD_INPUT. */
kg_err kg_mpc_node_rd_end(const kg_mpc_node_rd *r, const char *what) KG_WARN_UNUSED;

/** Body writer (growing buffer; the first failure sticks). */
typedef struct {
    kg_bytes b;
    size_t cap;
    bool bad;
} kg_mpc_node_wr;
void kg_mpc_node_wr_u16(kg_mpc_node_wr *w, uint16_t v);
void kg_mpc_node_wr_blob(kg_mpc_node_wr *w, const uint8_t *p, size_t len);
void kg_mpc_node_wr_fixed(kg_mpc_node_wr *w, const uint8_t *p, size_t len);
/** KG_OK | KG_ERR_NOMEM (the buffer is freed). */
kg_err kg_mpc_node_wr_done(kg_mpc_node_wr *w) KG_WARN_UNUSED;

/* ------------------------------------------------------- node (node.c) */

typedef struct {
    const char *data_dir;      /* kg_store node.db and seal.key (created 0600) */
    const char *listen;        /* "127.0.0.1:7401" */
    const char *ca_cert, *cert, *key;
    const char *envelope_key;  /* 64-byte kg_mpc_net_keys secret file */
    uint16_t id;               /* must equal the certificate's party id */
    const char *passphrase;    /* optional: seal.key kept wrapped in seal.key.enc (node_seal.c) */
    unsigned paillier_bits;    /* CGGMP21 Paillier modulus size: 2048, 3072 or 4096; 0 = 3072 */
} kg_mpc_node_config;

/** Run a node until *stop becomes nonzero (checked every second). Prints
 *  "listening on <addr>" to stderr once ready. Returns KG_OK after a stop,
 *  or the error that prevented the start. */
kg_err kg_mpc_node_run(const kg_mpc_node_config *cfg, volatile int *stop) KG_WARN_UNUSED;

/* ------------------------------------------------ coordinator (coord*.c) */

/** The coordinator's directory (from `kashguard mpc ca-init`): ca.pem,
 *  ca.key, coordinator.pem, coordinator.key and nodes/<id>.pub (64 bytes,
 *  X25519 || Ed25519 envelope public keys, written by node enrolment). Key
 *  records are not kept here: the caller stores kg_mpc_key (the server in
 *  its store, the CLI as JSON files). */
kg_err kg_mpc_coord_ca_init(const char *dir) KG_WARN_UNUSED;
/** Issue node id's certificate and key (out_dir/node.pem, node.key), its
 *  envelope keys (out_dir/envelope.key 0600, envelope.pub) and register
 *  the public keys in dir/nodes/<id>.pub. */
kg_err kg_mpc_coord_node_enroll(const char *dir, uint16_t id, const char *out_dir) KG_WARN_UNUSED;

typedef struct {
    uint16_t id;
    char addr[128];
} kg_mpc_coord_node;

/* ---------------------------------------------------------- key records */

/** A key id: 1..KG_MPC_NODE_KEY_ID_MAX characters of [A-Za-z0-9._-], not
 *  starting with '.'. KG_OK | KG_ERR_BAD_INPUT. */
kg_err kg_mpc_node_key_id_check(const uint8_t *id, size_t len) KG_WARN_UNUSED;

/** What the coordinator knows of a threshold key: public values only. */
typedef struct {
    char key_id[KG_MPC_NODE_KEY_ID_MAX + 1];
    kg_mpc_group_id g;
    bool taproot;        /* scheme frost-secp256k1-tr (BIP 445 signing) */
    unsigned t, n;       /* threshold, number of share holders */
    uint32_t epoch;      /* 0 after the DKG; +1 for every refresh or reshare */
    kg_mpc_point group_public;
    uint16_t ids[KG_MPC_FROST_MAX_PARTICIPANTS];    /* ids[0..n-1] ascending */
    kg_mpc_point pub[KG_MPC_FROST_MAX_PARTICIPANTS]; /* public share of ids[i] at `epoch` */
    bool stale[KG_MPC_FROST_MAX_PARTICIPANTS];       /* ids[i] missed a refresh: repair it */
    /* CGGMP21 threshold ECDSA keys (coord_cggmp*.c): ecdsa is set and the
     * scheme is "cggmp21-secp256k1" / "cggmp21-p256"; chain_code is the
     * BIP32 chain code of group_public (public, agreed at keygen). FROST
     * keys leave both zero. */
    bool ecdsa;
    uint8_t chain_code[32];
} kg_mpc_key;

/** The scheme name of k ("frost-ed25519", ..., "frost-secp256k1-tr"). */
const char *kg_mpc_key_scheme(const kg_mpc_key *k);
/** Parse a scheme name of the API (the four RFC 9591 ones and
 *  frost-secp256k1-tr). KG_OK | KG_ERR_BAD_INPUT. */
kg_err kg_mpc_key_scheme_parse(kg_mpc_group_id *g, bool *taproot, const char *name) KG_WARN_UNUSED;
/** Like kg_mpc_key_scheme_parse, also accepting the CGGMP21 names
 *  "cggmp21-secp256k1" and "cggmp21-p256" (*ecdsa set). KG_OK |
 *  KG_ERR_BAD_INPUT (the detail lists every known name). */
kg_err kg_mpc_key_scheme_parse_any(kg_mpc_group_id *g, bool *taproot, bool *ecdsa, const char *name) KG_WARN_UNUSED;
/** The public key as the API shows it: 32 bytes for Ed25519/ristretto255,
 *  the 32-byte x-only key for frost-secp256k1-tr, else 33 bytes SEC1. */
kg_err kg_mpc_key_public(uint8_t out[static KG_MPC_POINT_MAX_BYTES], size_t *out_len, const kg_mpc_key *k) KG_WARN_UNUSED;
/** JSON form {"key_id","scheme","threshold","n","epoch","public_key"(b64 of
 *  the serialized group point),"nodes":[{"id","public_share","stale"}]}.
 *  CGGMP21 keys add "chain_code" (b64 of 32 bytes).
 *  from_json checks everything (untrusted: ids ascending in 1..65535, points
 *  valid, 2 <= t <= n) and ignores unknown fields. */
kg_err kg_mpc_key_to_json(json_t **out, const kg_mpc_key *k) KG_WARN_UNUSED;
kg_err kg_mpc_key_from_json(kg_mpc_key *k, const json_t *o) KG_WARN_UNUSED;

/** The standalone coordinator's files (the CLI's `mpc ... --ca-dir DIR`):
 *  DIR/keys/<key id>.json, written 0600 through a temporary file. */
kg_err kg_mpc_key_file_save(const char *dir, const kg_mpc_key *k) KG_WARN_UNUSED;
/** KG_OK | KG_ERR_NOT_FOUND ("no MPC key ...") | KG_ERR_BAD_INPUT. */
kg_err kg_mpc_key_file_load(kg_mpc_key *k, const char *dir, const char *key_id) KG_WARN_UNUSED;

/* ---------------------------------------------------------- coordinator */

/** A coordinator: the TLS identity of a coordinator directory and an
 *  address book of nodes. Thread-safe: any number of operations may run at
 *  once on different keys (and on one key: signing sessions are independent;
 *  the caller serialises refresh/reshare/repair of one key). */
typedef struct kg_mpc_coordinator kg_mpc_coordinator;

kg_err kg_mpc_coordinator_new(kg_mpc_coordinator **out, const char *dir) KG_WARN_UNUSED;
void kg_mpc_coordinator_free(kg_mpc_coordinator *co);
/** Set or change node id's address ("host:port"). KG_OK | KG_ERR_BAD_INPUT. */
kg_err kg_mpc_coordinator_set_node(kg_mpc_coordinator *co, uint16_t id, const char *addr) KG_WARN_UNUSED;

/** The address book on disk: DIR/nodes/<id>.addr, one "host:port" each.
 *  save writes every entry; load adds every file it finds. */
kg_err kg_mpc_coordinator_book_save(kg_mpc_coordinator *co) KG_WARN_UNUSED;
kg_err kg_mpc_coordinator_book_load(kg_mpc_coordinator *co) KG_WARN_UNUSED;

/** Distributed key generation across nodes ids[0..n-1] (any distinct ids of
 *  the address book, each enrolled) with threshold t: fills *out (new key
 *  id "mpc-<32 hex>", epoch 0). 2 <= t <= n <= 255, else KG_ERR_BAD_INPUT.
 *  Every node must take part; a node that cheats is named in the error. */
kg_err kg_mpc_coordinator_keygen(kg_mpc_coordinator *co, kg_mpc_key *out, kg_mpc_group_id g, bool taproot,
                                 unsigned t, const uint16_t *ids, size_t n) KG_WARN_UNUSED;

/** Options of a signature (NULL = none). For frost-secp256k1-tr: tweak the
 *  key for a BIP341 key-path spend (BIP86 when no merkle root). */
typedef struct {
    bool taproot_tweak;
    bool has_merkle_root;
    uint8_t merkle_root[32];
} kg_mpc_sign_opts;

/** Sign msg with t of k's non-stale nodes (those that answer first; a node
 *  that is down or fails mid-session is replaced by another while enough
 *  are left). KG_ERR_NETWORK names the unreachable nodes when fewer than t
 *  answer; KG_ERR_VERIFY names the nodes whose shares are invalid. */
kg_err kg_mpc_coordinator_sign(kg_mpc_coordinator *co, uint8_t sig[static KG_MPC_FROST_SIG_MAX_BYTES],
                               size_t *sig_len, const kg_mpc_key *k, const uint8_t *msg, size_t msg_len,
                               const kg_mpc_sign_opts *opts) KG_WARN_UNUSED;

/** Preprocessed nonces (RFC 9591 §5.1 commit done ahead): with batch > 0
 *  the coordinator keeps, per node and key, a cache of commitments whose
 *  nonces the node stores durably, and refills it in the background (batch
 *  at a time) when it runs low; a signature whose signers all have cached
 *  commitments is one round trip. 0 (the default) turns it off: every
 *  signature runs both rounds. Turn it on only in a long-lived coordinator
 *  (a one-shot CLI would leave unused nonces on the nodes). batch <= 100. */
kg_err kg_mpc_coordinator_set_preprocess(kg_mpc_coordinator *co, unsigned batch) KG_WARN_UNUSED;
/** Ask every non-stale holder of k for n (1..100) fresh commitments now
 *  (in parallel) and cache them. KG_ERR_NETWORK names the nodes that
 *  failed (the others' commitments are kept). */
kg_err kg_mpc_coordinator_preprocess(kg_mpc_coordinator *co, const kg_mpc_key *k, unsigned n) KG_WARN_UNUSED;

/** A kg_signer (signer.h) over k's nodes, the networked twin of
 *  kg_mpc_frost_signer_new: KG_SIG_ED25519 with frost-ed25519 keys,
 *  KG_SIG_BIP340 with frost-secp256k1-tr keys (the BIP341 output key when
 *  ref->taproot), anything else KG_ERR_WRONG_KEY_USAGE; no derivation
 *  paths. Each sign is one kg_mpc_coordinator_sign. It copies *k (public
 *  values) and borrows co, which must outlive it; free with
 *  kg_signer_close. KG_OK | KG_ERR_BAD_INPUT | KG_ERR_NOMEM. */
struct kg_signer;
kg_err kg_mpc_coordinator_signer_new(struct kg_signer **out, kg_mpc_coordinator *co, const kg_mpc_key *k) KG_WARN_UNUSED;

/** Proactive refresh: new shares for the same group key. Needs at least t
 *  live share holders; holders that are down are marked stale (repair them
 *  when they are back). On success *k is the new epoch; on failure *k is
 *  unchanged and every node keeps its old share. */
kg_err kg_mpc_coordinator_refresh(kg_mpc_coordinator *co, kg_mpc_key *k) KG_WARN_UNUSED;
/** Reshare to new_ids[0..new_n-1] with threshold new_t (same group key):
 *  t live old holders deal; every new holder must take part. Old holders
 *  outside the new set delete their shares. */
kg_err kg_mpc_coordinator_reshare(kg_mpc_coordinator *co, kg_mpc_key *k, unsigned new_t,
                                  const uint16_t *new_ids, size_t new_n) KG_WARN_UNUSED;
/** Rebuild holder id's share of the current epoch with t live helpers
 *  (a stale or replaced node catches up); clears its stale flag. */
kg_err kg_mpc_coordinator_repair(kg_mpc_coordinator *co, kg_mpc_key *k, uint16_t id) KG_WARN_UNUSED;
/** Rebuild *k from the nodes (coord_resync.c) after the coordinator lost
 *  the record of a committed refresh/reshare/repair: asks every node of
 *  the address book for KEY_INFO, takes the highest epoch at least k->t
 *  nodes report whose public shares are consistent with k->group_public,
 *  and sets epoch, t, holders, public shares and stale flags from it.
 *  KG_ERR_CONFLICT (naming each node's answer, and any node whose share
 *  is inconsistent) leaves *k unchanged. */
kg_err kg_mpc_coordinator_resync(kg_mpc_coordinator *co, kg_mpc_key *k) KG_WARN_UNUSED;

/* ------------------------------------------ import (coord_import.c) */

/** The envelope sender id of a trusted dealer (never a node id in use). */
#define KG_MPC_IMPORT_DEALER 65535
/** A trusted-dealer split of an existing secret (RFC 9591 Appendix C),
 *  run by the dealer only (the operator's machine): t-of-n shares for
 *  ids[0..n-1] (ascending, 1..255), each sealed (KG_MPC_IMPORT_DEALER ->
 *  ids[i], type IMPORT_SHARE, round 1, a fresh random session) with a fresh
 *  ephemeral envelope key to keys[i].box. Out: sealed[0..n-1] (freed by the
 *  caller), vss[0..t-1] (vss[0] = secret * G), dealer_box (the ephemeral
 *  X25519 public key). Everything secret is wiped before return. */
kg_err kg_mpc_import_deal(kg_bytes *sealed, kg_mpc_point *vss, uint8_t dealer_box[static 32], kg_mpc_group_id g,
                          unsigned t, const uint16_t *ids, size_t n, const kg_mpc_net_pubkeys *keys,
                          const kg_mpc_scalar *secret) KG_WARN_UNUSED;
/** Import: relay sealed[i] (kg_mpc_import_deal) to node ids[i] with the
 *  commitments vss[0..t-1]; every node opens and checks its share against
 *  vss, and signs the digest of what it got; the shares are activated only
 *  when every node confirmed the same (else every node drops its share,
 *  and the error names the node or the dealer). *out: new key id, epoch 0,
 *  group key vss[0]. The coordinator never sees a share. */
kg_err kg_mpc_coordinator_import(kg_mpc_coordinator *co, kg_mpc_key *out, kg_mpc_group_id g, bool taproot, unsigned t,
                                 const uint16_t *ids, size_t n, const kg_mpc_point *vss,
                                 const uint8_t dealer_box[static 32], const kg_bytes *sealed) KG_WARN_UNUSED;
/** Node id's envelope public keys (box || sign) from the coordinator's
 *  registry (dir/nodes/<id>.pub). KG_OK | KG_ERR_NOT_FOUND. */
kg_err kg_mpc_coordinator_node_keys(kg_mpc_net_pubkeys *out, kg_mpc_coordinator *co, uint16_t id) KG_WARN_UNUSED;

/** One node as seen by the coordinator. */
typedef struct {
    uint16_t id;
    char addr[128];
    bool up;
    double rtt_ms;       /* of a PING round trip when up */
    char error[200];     /* why not, when down */
    int shares;          /* key shares the node holds (its PING answer), -1 when down */
} kg_mpc_node_status;
/** Probe every node of the address book (in id order) into out[0..*n-1]. */
kg_err kg_mpc_coordinator_status(kg_mpc_coordinator *co, kg_mpc_node_status *out, size_t *n, size_t cap) KG_WARN_UNUSED;

/* ------------------------------ CGGMP21 threshold ECDSA (coord_cggmp*.c)
 * The coordinator drives the CGGMP_* requests of the nodes (the wire
 * contract of node_cggmp*.c): every phase (keygen, aux, refresh, presign)
 * runs its rounds on all its parties in parallel, relays signed
 * broadcasts and sealed point-to-point envelopes, checks that every party
 * reports the same result and only then sends CONFIRM (else ABORT to all).
 * A failure names the node to blame when a node's check blamed one
 * ("party <id> ...") or the node that is unreachable. Group: secp256k1 or
 * P-256; node ids any distinct 1..65535 of the address book, at most 64. */

/** Key generation then aux info (Paillier keys, ring-Pedersen parameters)
 *  on nodes ids[0..n-1] with threshold t (2 <= t <= n <= 64): *out gets a
 *  new key id "mpc-<32 hex>", ecdsa set, epoch 0, the group key, the
 *  chain code and the public shares (checked to lie on one polynomial of
 *  degree t-1 through the group key). Every node must take part. */
kg_err kg_mpc_coordinator_cggmp_keygen(kg_mpc_coordinator *co, kg_mpc_key *out, kg_mpc_group_id g, unsigned t,
                                       const uint16_t *ids, size_t n) KG_WARN_UNUSED;
/** Proactive refresh of a CGGMP21 key (every holder takes part): new
 *  Paillier keys and re-randomised shares; the group key is checked to be
 *  unchanged. On success *key is at epoch + 1 with its new public shares,
 *  and every presignature of the old epoch is gone (the nodes delete them,
 *  the coordinator forgets them). On failure *key is unchanged. */
kg_err kg_mpc_coordinator_cggmp_refresh(kg_mpc_coordinator *co, kg_mpc_key *key) KG_WARN_UNUSED;
/** Reshare a CGGMP21 key (coord_cggmp_reshare.c) to nodes new_ids[0..new_n-1]
 *  (old or new ids, any order) with threshold new_t (2 <= new_t <= new_n
 *  <= 64): the same public key and chain code. The old holders that answer
 *  at the key's epoch (at least the old t) deal; every new node must take
 *  part, and runs aux info before the new shares become active. On success
 *  *key has the new t, n, ids and public shares at epoch + 1, the old
 *  epoch's presignatures are gone, and the old holders outside the new set
 *  were told to delete their shares (best effort: a node down keeps its
 *  useless old share). On failure *key is unchanged and the old shares
 *  still sign. */
kg_err kg_mpc_coordinator_cggmp_reshare(kg_mpc_coordinator *co, kg_mpc_key *key, unsigned new_t,
                                        const uint16_t *new_ids, size_t new_n) KG_WARN_UNUSED;
/** Repair node `node` of a CGGMP21 key (coord_cggmp_reshare.c): its share
 *  is at an older epoch (stale) or lost, or it is suspect. A reshare to the
 *  same set and threshold dealt by t holders at the key's epoch other than
 *  `node` (which only receives; its old record, if any, is replaced), then
 *  aux info for the whole set: every holder must be reachable. No node
 *  learns anything secret. On success *key is at epoch + 1 with new public
 *  shares, no holder stale, the old epoch's presignatures gone; on failure
 *  *key is unchanged. */
kg_err kg_mpc_coordinator_cggmp_repair(kg_mpc_coordinator *co, kg_mpc_key *key, uint16_t node) KG_WARN_UNUSED;
/** Rebuild a CGGMP21 key record from the nodes (coord_cggmp_resync.c),
 *  e.g. after the coordinator lost the write that followed a refresh or
 *  reshare: every node of the address book is asked CGGMP_INFO with its
 *  public data; the highest epoch (not older than the record's) at which
 *  at least t nodes with aux info report the same t, holders and public
 *  shares of the record's group key and chain code (checked to lie on one
 *  polynomial) becomes the record; holders that are down or at another
 *  epoch are marked stale (repair them). KG_ERR_CONFLICT (what every node
 *  said; the record unchanged) when no epoch qualifies. */
kg_err kg_mpc_coordinator_cggmp_resync(kg_mpc_coordinator *co, kg_mpc_key *key) KG_WARN_UNUSED;
/** Make count (1..1000) presignatures ahead of signing, each with t live
 *  nodes (preferring the lowest ids; a node that is down or fails is left
 *  out and the session rerun with another set). *made gets the number
 *  made (also on error). KG_ERR_NETWORK when fewer than t nodes work. */
kg_err kg_mpc_coordinator_cggmp_presign(kg_mpc_coordinator *co, const kg_mpc_key *key, unsigned count,
                                        unsigned *made) KG_WARN_UNUSED;
/** ECDSA signature of the 32-byte digest by key, or by its non-hardened
 *  BIP32 child at path ("m/0/5"; NULL or "m" = the key itself). Uses a
 *  stored presignature whose signing set is live (one round trip), else
 *  runs one presign first ("full signing"); a node down or failing is
 *  replaced by another t-set. sig = r || s (low-S), *recovery_id (0..3)
 *  recovers the signing key, *child_pub (may be NULL) gets the key signed
 *  for. The signature is verified before it is returned; KG_ERR_VERIFY
 *  names the node(s) whose share is wrong when identification can tell. */
kg_err kg_mpc_coordinator_cggmp_sign(kg_mpc_coordinator *co, const kg_mpc_key *key, const uint8_t digest[32],
                                     const char *path, uint8_t sig[64], int *recovery_id,
                                     kg_mpc_point *child_pub) KG_WARN_UNUSED;
/** A kg_signer (signer.h) over a CGGMP21 key's nodes (coord_signer_ecdsa.c):
 *  KG_SIG_ECDSA_SECP256K1 with cggmp21-secp256k1 keys, KG_SIG_ECDSA_P256
 *  with cggmp21-p256 keys (32-byte digests); ref->path is a non-hardened
 *  BIP32 path below the group key (hardened levels, a Taproot tweak or
 *  another scheme are refused). Each sign is one
 *  kg_mpc_coordinator_cggmp_sign. Copies *k, borrows co (must outlive it);
 *  free with kg_signer_close. KG_OK | KG_ERR_BAD_INPUT | KG_ERR_NOMEM. */
struct kg_signer;
kg_err kg_mpc_coordinator_ecdsa_signer_new(struct kg_signer **out, kg_mpc_coordinator *co,
                                           const kg_mpc_key *k) KG_WARN_UNUSED;

#endif
