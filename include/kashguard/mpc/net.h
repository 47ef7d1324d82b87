/* KashGuard mpc layer: the transport between the coordinator (the KashGuard
 * server) and the MPC nodes (`kashguard mpc-node`).
 *
 * Three parts, from the bottom up:
 *
 *  1. A private CA. `kg_mpc_net_ca_create` makes a P-256 CA; it issues each
 *     party a P-256 certificate whose only subjectAltName is the URI
 *     "kashguard:node:<id>" (a node, id 1..65535) or "kashguard:coordinator"
 *     (party id 0). A peer is known by that URI and nothing else.
 *
 *  2. Mutually authenticated TLS 1.3 connections carrying frames: a u32
 *     big-endian length then that many bytes (at most
 *     KG_MPC_NET_FRAME_MAX_BYTES). Both sides present a certificate of the CA
 *     and check the other's; the peer's party id is known after the
 *     handshake. Every blocking call takes a timeout in milliseconds.
 *
 *  3. The message envelope, protected end to end between parties whatever
 *     relays it (the coordinator sees only ciphertext and signatures):
 *
 *       offset size  field
 *         0     1    version (1)
 *         1     1    scheme id (nonzero; chosen by the session layer)
 *         2     1    payload type (chosen by the session layer)
 *         3     1    reserved, 0
 *         4    32    session id
 *        36     2    sender party id (u16 BE, 1..65535)
 *        38     2    receiver party id (u16 BE; 0 = broadcast)
 *        40     4    round number (u32 BE)
 *        44     8    sequence number (u64 BE), per (session, sender), from 1
 *        52     4    body length (u32 BE) = total length - 56
 *        56     -    body
 *
 *     Point-to-point (receiver != 0): body = nonce (24) || XChaCha20-Poly1305
 *     ciphertext of the payload with its tag (payload + 16), the key
 *     crypto_box_beforenm(peer X25519 public, own X25519 secret) and the
 *     56 header bytes as additional data: any change to a header field or to
 *     the ciphertext is caught, and only the receiver can read it.
 *     Broadcast (receiver == 0): body = payload || Ed25519 signature (64) of
 *     the sender over header || payload, so every party can check it and
 *     two different signed payloads for one (session, round) prove
 *     equivocation (kg_mpc_net_equivocation_check).
 *
 *     Receivers drop replays with a kg_mpc_net_replay window: for each
 *     (session, sender) the highest accepted sequence number; anything not
 *     above it is refused. Record a message only after it authenticated.
 *
 * Each party has long-term envelope keys (kg_mpc_net_keys_generate): an
 * X25519 key pair for sealing and an Ed25519 key pair for signing. Their
 * public halves travel in the coordinator's registry; this header does not
 * bind them to the TLS certificates (the session layer must check them
 * against the registry entry the operator approved).
 *
 * The process must ignore SIGPIPE (OpenSSL writes to sockets with write(2)):
 * a peer that goes away otherwise kills it. */
#ifndef KASHGUARD_MPC_NET_H
#define KASHGUARD_MPC_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "kashguard/base.h"

/* ------------------------------------------------------------ parties */

/** Party id of the coordinator; nodes are 1..KG_MPC_NET_PARTY_MAX. */
#define KG_MPC_NET_COORDINATOR 0u
#define KG_MPC_NET_PARTY_MAX 65535u
/** For kg_mpc_net_connect: accept any party id the CA certified. */
#define KG_MPC_NET_PARTY_ANY 0xFFFFFFFFu

/* ------------------------------------------------------------ private CA */

/** Create a CA: a P-256 key and a self-signed certificate (CN
 *  "KashGuard MPC CA", 10 years, basicConstraints critical CA:TRUE with
 *  pathlen 0, keyUsage critical keyCertSign+cRLSign). Both files are PEM,
 *  written mode 0600 through a temporary file and rename(2); existing files
 *  are refused. Returns KG_OK | KG_ERR_CONFLICT (a file exists) |
 *  KG_ERR_IO | KG_ERR_CRYPTO. */
kg_err kg_mpc_net_ca_create(const char *ca_cert_path, const char *ca_key_path) KG_WARN_UNUSED;

/** Make a P-256 key (PEM, 0600) and a certificate signing request for party
 *  (the node side of enrolment: the key never leaves the node). Returns
 *  KG_OK | KG_ERR_BAD_INPUT (party id) | KG_ERR_CONFLICT | KG_ERR_IO | KG_ERR_CRYPTO. */
kg_err kg_mpc_net_csr_create(const char *key_path, const char *csr_path, uint32_t party) KG_WARN_UNUSED;

/** Issue a certificate for party (KG_MPC_NET_COORDINATOR or 1..65535):
 *  CN "kashguard-coordinator" or "kashguard-node-<id>", subjectAltName URI
 *  "kashguard:coordinator" or "kashguard:node:<id>", extendedKeyUsage
 *  clientAuth+serverAuth, keyUsage digitalSignature, 1 year, random serial.
 *  The public key comes from the CSR at csr_path (its signature is checked;
 *  its subject and extensions are ignored; it must be P-256), or when
 *  csr_path is NULL from a new P-256 key written to key_path. cert_path is
 *  written like the CA files (0600, atomic, no overwrite). Returns KG_OK |
 *  KG_ERR_BAD_INPUT (party id, bad CSR, key not P-256, CA files unusable) |
 *  KG_ERR_CONFLICT | KG_ERR_IO | KG_ERR_CRYPTO. */
kg_err kg_mpc_net_cert_issue(const char *cert_path, const char *key_path,
                             const char *ca_cert_path, const char *ca_key_path,
                             uint32_t party, const char *csr_path) KG_WARN_UNUSED;

/** Check the PEM certificate at cert_path against the CA (signature,
 *  validity period, not a CA itself, clientAuth/serverAuth) and return its
 *  party id in *party (KG_MPC_NET_COORDINATOR for the coordinator). Returns
 *  KG_OK | KG_ERR_BAD_INPUT (unreadable file, SAN not exactly one kashguard
 *  URI) | KG_ERR_UNAUTHENTICATED (chain does not verify). */
kg_err kg_mpc_net_cert_verify(uint32_t *party, const char *ca_cert_path,
                              const char *cert_path) KG_WARN_UNUSED;

/** Parse a SAN URI: "kashguard:node:<id>" (decimal, 1..65535, no leading
 *  zero or sign) or "kashguard:coordinator". KG_OK | KG_ERR_BAD_INPUT. */
kg_err kg_mpc_net_uri_parse(uint32_t *party, const char *uri, size_t len) KG_WARN_UNUSED;

/* ------------------------------------------------------- TLS + frames */

#define KG_MPC_NET_FRAME_MAX_BYTES (1024u * 1024u)

/** One party's TLS identity: CA, certificate and key (an SSL_CTX). Shared by
 *  any number of threads and connections; free it after them. */
typedef struct kg_mpc_net_tls kg_mpc_net_tls;
typedef struct kg_mpc_net_listener kg_mpc_net_listener;
/** A framed mTLS connection. One thread may send while another receives;
 *  concurrent senders are serialised (whole frames), as are receivers. */
typedef struct kg_mpc_net_conn kg_mpc_net_conn;

/** Load PEM files. Returns KG_OK | KG_ERR_BAD_INPUT (a file is unreadable,
 *  the key does not match the certificate, the certificate has no kashguard
 *  party URI) | KG_ERR_NOMEM | KG_ERR_CRYPTO. */
kg_err kg_mpc_net_tls_new(kg_mpc_net_tls **out, const char *ca_cert_path, const char *cert_path,
                          const char *key_path) KG_WARN_UNUSED;
void kg_mpc_net_tls_free(kg_mpc_net_tls *tls);
/** The party id of this identity's own certificate. */
uint32_t kg_mpc_net_tls_party(const kg_mpc_net_tls *tls);

/** Listen on "host:port" ("127.0.0.1:7400", "[::1]:0", ":7400" for all
 *  addresses; port 0 picks one, see kg_mpc_net_listener_port). Returns
 *  KG_OK | KG_ERR_BAD_INPUT (address) | KG_ERR_NETWORK | KG_ERR_NOMEM. */
kg_err kg_mpc_net_listen(kg_mpc_net_listener **out, kg_mpc_net_tls *tls, const char *addr) KG_WARN_UNUSED;
uint16_t kg_mpc_net_listener_port(const kg_mpc_net_listener *l);
void kg_mpc_net_listener_free(kg_mpc_net_listener *l);

/** Wait up to timeout_ms for a connection and run the TLS handshake (within
 *  the same deadline). Returns KG_OK | KG_ERR_NETWORK ("timed out" or a
 *  socket error) | KG_ERR_UNAUTHENTICATED (the peer's certificate was
 *  missing or not from our CA) | KG_ERR_NOMEM. */
kg_err kg_mpc_net_accept(kg_mpc_net_conn **out, kg_mpc_net_listener *l, int timeout_ms) KG_WARN_UNUSED;

/** Connect to "host:port" and handshake within timeout_ms. expect_party is
 *  the party id the server's certificate must carry, or
 *  KG_MPC_NET_PARTY_ANY. Same returns as kg_mpc_net_accept, plus
 *  KG_ERR_BAD_INPUT for a bad address. */
kg_err kg_mpc_net_connect(kg_mpc_net_conn **out, kg_mpc_net_tls *tls, const char *addr,
                          uint32_t expect_party, int timeout_ms) KG_WARN_UNUSED;

/** The peer's certified party id. */
uint32_t kg_mpc_net_conn_peer(const kg_mpc_net_conn *c);

/** Send one frame (len <= KG_MPC_NET_FRAME_MAX_BYTES) within timeout_ms.
 *  Returns KG_OK | KG_ERR_TOO_LARGE | KG_ERR_NETWORK. After a network error
 *  the connection is dead: every later call fails; close it. */
kg_err kg_mpc_net_send(kg_mpc_net_conn *c, const uint8_t *frame, size_t len, int timeout_ms) KG_WARN_UNUSED;

/** Receive one frame into *out (new buffer) within timeout_ms. Returns KG_OK
 *  | KG_ERR_NETWORK (timed out, peer closed, socket or TLS error) |
 *  KG_ERR_TOO_LARGE (the peer announced more than the maximum) |
 *  KG_ERR_NOMEM. A timeout before the first byte of a frame leaves the
 *  connection usable; any other failure kills it. */
kg_err kg_mpc_net_recv(kg_bytes *out, kg_mpc_net_conn *c, int timeout_ms) KG_WARN_UNUSED;
/** Once a frame's first byte has arrived, the rest of it may take up to
 *  this long whatever timeout_ms was: a short poll (a serving loop's 1 s)
 *  must not cut a large frame in two on a loaded machine. */
#define KG_MPC_NET_FRAME_REST_MS 30000
/** The TLS handshake of a connection kg_mpc_net_accept took may take this
 *  long, whatever was left of its timeout_ms. (The handshake runs in the
 *  accepting thread: a peer that stalls it delays the next accept by at
 *  most this much; nodes listen for their coordinator only.) */
#define KG_MPC_NET_HANDSHAKE_MS 10000
/** kg_mpc_net_recv that tells an idle poll from a failure: *idle is true
 *  when nothing arrived within timeout_ms and the connection is still
 *  usable (the return is then KG_ERR_NETWORK), false otherwise. */
kg_err kg_mpc_net_recv_poll(kg_bytes *out, kg_mpc_net_conn *c, int timeout_ms, bool *idle) KG_WARN_UNUSED;

/** Send a TLS close_notify (best effort) and free; NULL is ignored. */
void kg_mpc_net_close(kg_mpc_net_conn *c);

/* -------------------------------------------------------- envelope keys */

#define KG_MPC_NET_KEYS_SECRET_BYTES 64 /* X25519 secret || Ed25519 seed */

typedef struct {
    uint8_t box[32];  /* X25519 public key (sealing) */
    uint8_t sign[32]; /* Ed25519 public key (broadcast signatures) */
} kg_mpc_net_pubkeys;

/** New envelope keys: *secret (KG_MPC_NET_KEYS_SECRET_BYTES) and its public
 *  halves. Returns KG_OK | KG_ERR_NOMEM | KG_ERR_CRYPTO. */
kg_err kg_mpc_net_keys_generate(kg_secret **secret, kg_mpc_net_pubkeys *pub) KG_WARN_UNUSED;
/** The public halves of secret. KG_OK | KG_ERR_BAD_INPUT (wrong size). */
kg_err kg_mpc_net_keys_public(kg_mpc_net_pubkeys *pub, const kg_secret *secret) KG_WARN_UNUSED;

/* ------------------------------------------------------------ envelope */

#define KG_MPC_NET_HEADER_BYTES 56
#define KG_MPC_NET_SESSION_ID_BYTES 32
#define KG_MPC_NET_NONCE_BYTES 24
#define KG_MPC_NET_TAG_BYTES 16
#define KG_MPC_NET_SIG_BYTES 64
#define KG_MPC_NET_VERSION 1
/** Largest payload that still fits a frame once enveloped. */
#define KG_MPC_NET_PAYLOAD_MAX_BYTES \
    (KG_MPC_NET_FRAME_MAX_BYTES - KG_MPC_NET_HEADER_BYTES - KG_MPC_NET_NONCE_BYTES - KG_MPC_NET_TAG_BYTES)

typedef struct {
    uint8_t version; /* KG_MPC_NET_VERSION */
    uint8_t scheme;  /* nonzero */
    uint8_t type;
    uint8_t session[KG_MPC_NET_SESSION_ID_BYTES];
    uint16_t sender;   /* 1..65535 */
    uint16_t receiver; /* 0 = broadcast; != sender */
    uint32_t round;
    uint64_t seq;      /* >= 1 */
    uint32_t body_len; /* set by the encoders and the decoder */
} kg_mpc_net_header;

/** A decoded envelope; body points into the decoded buffer. */
typedef struct {
    kg_mpc_net_header h;
    const uint8_t *body;
} kg_mpc_net_envelope;

/** Write the 56 header bytes of h (h->body_len as given). KG_OK |
 *  KG_ERR_BAD_INPUT (a field out of range, as the decoder would refuse). */
kg_err kg_mpc_net_header_encode(uint8_t out[static KG_MPC_NET_HEADER_BYTES],
                                const kg_mpc_net_header *h) KG_WARN_UNUSED;

/** Parse an envelope (untrusted bytes): version 1, reserved 0, scheme != 0,
 *  sender 1..65535, receiver != sender, seq >= 1, body length equal to what
 *  follows the header and at least the nonce+tag (point-to-point) or the
 *  signature (broadcast). Checks structure only: open or verify it next.
 *  Returns KG_OK | KG_ERR_BAD_INPUT (*out zeroed). */
kg_err kg_mpc_net_envelope_decode(kg_mpc_net_envelope *out, const uint8_t *in, size_t len) KG_WARN_UNUSED;

/** Seal a point-to-point payload from the holder of my_secret (h->sender) to
 *  h->receiver (!= 0) whose X25519 key is receiver_box. h->body_len is
 *  ignored. *out is the whole envelope. Returns KG_OK | KG_ERR_BAD_INPUT
 *  (header fields, receiver_box a low-order point) | KG_ERR_TOO_LARGE |
 *  KG_ERR_NOMEM | KG_ERR_CRYPTO. */
kg_err kg_mpc_net_envelope_seal(kg_bytes *out, const kg_mpc_net_header *h, const kg_secret *my_secret,
                                const uint8_t receiver_box[static 32],
                                const uint8_t *payload, size_t payload_len) KG_WARN_UNUSED;

/** Open a decoded point-to-point envelope addressed to me (my_party) from
 *  the party whose X25519 key is sender_box. *payload is a new kg_secret.
 *  Returns KG_OK | KG_ERR_BAD_INPUT (a broadcast, or not addressed to me) |
 *  KG_ERR_DECRYPT (wrong keys, or header or body altered) | KG_ERR_NOMEM. */
kg_err kg_mpc_net_envelope_open(kg_secret **payload, const kg_mpc_net_envelope *env,
                                const kg_secret *my_secret, uint32_t my_party,
                                const uint8_t sender_box[static 32]) KG_WARN_UNUSED;

/** Sign a broadcast payload (h->receiver must be 0). Returns like _seal. */
kg_err kg_mpc_net_envelope_sign(kg_bytes *out, const kg_mpc_net_header *h, const kg_secret *my_secret,
                                const uint8_t *payload, size_t payload_len) KG_WARN_UNUSED;

/** Check a decoded broadcast's signature with the sender's Ed25519 key and
 *  point *payload and *payload_len into it. Returns KG_OK | KG_ERR_BAD_INPUT
 *  (not a broadcast) | KG_ERR_VERIFY. */
kg_err kg_mpc_net_envelope_verify(const uint8_t **payload, size_t *payload_len,
                                  const kg_mpc_net_envelope *env,
                                  const uint8_t sender_sign[static 32]) KG_WARN_UNUSED;

/** Compare two broadcasts claimed to come from one sender for one (session,
 *  round); both are verified with sender_sign first. Returns KG_OK when
 *  they agree (same type and payload), or do not concern the same (sender,
 *  session, round); KG_ERR_CONFLICT when both are validly signed and differ:
 *  *equivocator gets the sender's id and the detail names it and the round;
 *  KG_ERR_VERIFY when a signature is bad (no proof either way);
 *  KG_ERR_BAD_INPUT when one is not a broadcast. *equivocator is 0 unless
 *  KG_ERR_CONFLICT. */
kg_err kg_mpc_net_equivocation_check(uint32_t *equivocator, const kg_mpc_net_envelope *a,
                                     const kg_mpc_net_envelope *b,
                                     const uint8_t sender_sign[static 32]) KG_WARN_UNUSED;

/* --------------------------------------------------------- replay window */

typedef struct kg_mpc_net_replay kg_mpc_net_replay;

/** A replay window tracking at most max_pairs (session, sender) pairs.
 *  Thread-safe. Returns KG_OK | KG_ERR_NOMEM. */
kg_err kg_mpc_net_replay_new(kg_mpc_net_replay **out, size_t max_pairs) KG_WARN_UNUSED;
void kg_mpc_net_replay_free(kg_mpc_net_replay *r);
/** Accept h->seq if it is above the highest seen for (h->session,
 *  h->sender) and record it. Call only for authenticated messages. Returns
 *  KG_OK | KG_ERR_CONFLICT (a replay or an old message) | KG_ERR_TOO_LARGE
 *  (the window is full: forget finished sessions). */
kg_err kg_mpc_net_replay_check(kg_mpc_net_replay *r, const kg_mpc_net_header *h) KG_WARN_UNUSED;
/** Drop every entry of a finished session. */
void kg_mpc_net_replay_forget(kg_mpc_net_replay *r, const uint8_t session[static KG_MPC_NET_SESSION_ID_BYTES]);

#endif
