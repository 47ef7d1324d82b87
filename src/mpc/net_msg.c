/* The MPC message envelope (layout in include/kashguard/mpc/net.h): its
 * strict encoder and decoder, end-to-end sealing of point-to-point payloads,
 * signatures on broadcasts, the equivocation check and the replay window.
 *
 * Why end to end: the coordinator relays every message but must never learn
 * a share nor be able to alter or forge one, so protection cannot stop at
 * the TLS hop. Point-to-point payloads use XChaCha20-Poly1305 (RFC 8439
 * with the XChaCha nonce extension) under the static X25519 shared key
 * crypto_box_beforenm(peer, own) (HSalsa20 of the RFC 7748 shared secret);
 * the 56 header bytes are the additional data, so session, round, sender,
 * receiver, sequence and type are all authenticated, and a random 24-byte
 * nonce is safe for any number of messages. Broadcasts are signed with
 * Ed25519 (RFC 8032) over header || payload so that a party who received a
 * different payload for the same (session, round) from the same sender can
 * prove equivocation to everyone (the echo-broadcast check of the session
 * layer rests on that). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "kashguard/crypto.h"
#include "net_int.h"

/* ------------------------------------------------------------ keys */

kg_err kg_mpc_net_keys_generate(kg_secret **secret, kg_mpc_net_pubkeys *pub)
{
    KG_ARG_CHECK(secret != NULL && pub != NULL);
    *secret = NULL;
    memset(pub, 0, sizeof *pub);
    if (kg_crypto_init() != KG_OK)
        return kg_err_set(KG_ERR_CRYPTO, "cannot initialise libsodium");
    kg_secret *s = kg_secret_new(KG_MPC_NET_KEYS_SECRET_BYTES);
    if (s == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (kg_crypto_random(kg_secret_data(s), KG_MPC_NET_KEYS_SECRET_BYTES) != KG_OK
        || kg_mpc_net_keys_public(pub, s) != KG_OK) {
        kg_secret_free(s);
        memset(pub, 0, sizeof *pub);
        return kg_err_set(KG_ERR_CRYPTO, "could not generate envelope keys");
    }
    *secret = s;
    return KG_OK;
}

kg_err kg_mpc_net_keys_public(kg_mpc_net_pubkeys *pub, const kg_secret *secret)
{
    KG_ARG_CHECK(pub != NULL && secret != NULL);
    memset(pub, 0, sizeof *pub);
    if (kg_secret_len(secret) != KG_MPC_NET_KEYS_SECRET_BYTES)
        return kg_err_set(KG_ERR_BAD_INPUT, "envelope secret must be %d bytes", KG_MPC_NET_KEYS_SECRET_BYTES);
    const uint8_t *sk = kg_secret_cdata(secret);
    if (kg_crypto_init() != KG_OK || crypto_scalarmult_base(pub->box, sk) != 0
        || kg_crypto_ed25519_pubkey(pub->sign, sk + 32) != KG_OK) {
        memset(pub, 0, sizeof *pub);
        return kg_err_set(KG_ERR_CRYPTO, "could not derive the envelope public keys");
    }
    return KG_OK;
}

/* ------------------------------------------------------------ encoding */

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)); put16(p + 2, (uint16_t)v); }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }

static size_t body_min(uint16_t receiver)
{
    return receiver == 0 ? KG_MPC_NET_SIG_BYTES : KG_MPC_NET_NONCE_BYTES + KG_MPC_NET_TAG_BYTES;
}

/* The field rules shared by the encoder and the decoder. */
static kg_err header_check(const kg_mpc_net_header *h)
{
    if (h->version != KG_MPC_NET_VERSION)
        return kg_err_set(KG_ERR_BAD_INPUT, "envelope version %u is not supported (expected %d)",
                          h->version, KG_MPC_NET_VERSION);
    if (h->scheme == 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "envelope scheme id 0 is reserved");
    if (h->sender == 0 || h->receiver == h->sender)
        return kg_err_set(KG_ERR_BAD_INPUT, "envelope sender %u / receiver %u are not valid", h->sender,
                          h->receiver);
    if (h->seq == 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "envelope sequence numbers start at 1");
    if (h->body_len < body_min(h->receiver)
        || h->body_len > KG_MPC_NET_FRAME_MAX_BYTES - KG_MPC_NET_HEADER_BYTES)
        return kg_err_set(KG_ERR_BAD_INPUT, "envelope body of %u bytes is out of range", h->body_len);
    return KG_OK;
}

kg_err kg_mpc_net_header_encode(uint8_t out[static KG_MPC_NET_HEADER_BYTES], const kg_mpc_net_header *h)
{
    KG_ARG_CHECK(out != NULL && h != NULL);
    memset(out, 0, KG_MPC_NET_HEADER_BYTES);
    kg_err err = header_check(h);
    if (err != KG_OK)
        return err;
    out[0] = h->version;
    out[1] = h->scheme;
    out[2] = h->type;
    out[3] = 0;
    memcpy(out + 4, h->session, KG_MPC_NET_SESSION_ID_BYTES);
    put16(out + 36, h->sender);
    put16(out + 38, h->receiver);
    put32(out + 40, h->round);
    put32(out + 44, (uint32_t)(h->seq >> 32));
    put32(out + 48, (uint32_t)h->seq);
    put32(out + 52, h->body_len);
    return KG_OK;
}

kg_err kg_mpc_net_envelope_decode(kg_mpc_net_envelope *out, const uint8_t *in, size_t len)
{
    KG_ARG_CHECK(out != NULL && (in != NULL || len == 0));
    memset(out, 0, sizeof *out);
    if (len < KG_MPC_NET_HEADER_BYTES)
        return kg_err_set(KG_ERR_BAD_INPUT, "envelope of %zu bytes is shorter than its header", len);
    kg_mpc_net_header h = {0};
    h.version = in[0];
    h.scheme = in[1];
    h.type = in[2];
    memcpy(h.session, in + 4, KG_MPC_NET_SESSION_ID_BYTES);
    h.sender = get16(in + 36);
    h.receiver = get16(in + 38);
    h.round = get32(in + 40);
    h.seq = (uint64_t)get32(in + 44) << 32 | get32(in + 48);
    h.body_len = get32(in + 52);
    if (in[3] != 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "envelope reserved byte is not 0");
    kg_err err = header_check(&h);
    if (err != KG_OK)
        return err;
    if ((size_t)h.body_len != len - KG_MPC_NET_HEADER_BYTES)
        return kg_err_set(KG_ERR_BAD_INPUT, "envelope body length %u does not match the %zu bytes received",
                          h.body_len, len - KG_MPC_NET_HEADER_BYTES);
    out->h = h;
    out->body = in + KG_MPC_NET_HEADER_BYTES;
    return KG_OK;
}

/* A new buffer holding the encoded header of h with body_len, the body to follow. */
static kg_err envelope_alloc(kg_bytes *out, uint8_t hdr[static KG_MPC_NET_HEADER_BYTES],
                             const kg_mpc_net_header *h_in, size_t payload_len, size_t overhead)
{
    if (payload_len > KG_MPC_NET_FRAME_MAX_BYTES - KG_MPC_NET_HEADER_BYTES - overhead)
        return kg_err_set(KG_ERR_TOO_LARGE, "payload of %zu bytes does not fit one frame", payload_len);
    kg_mpc_net_header h = *h_in;
    h.body_len = (uint32_t)(payload_len + overhead);
    kg_err err = kg_mpc_net_header_encode(hdr, &h);
    if (err != KG_OK)
        return err;
    out->len = KG_MPC_NET_HEADER_BYTES + h.body_len;
    if ((out->data = malloc(out->len)) == NULL) {
        out->len = 0;
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
    memcpy(out->data, hdr, KG_MPC_NET_HEADER_BYTES);
    return KG_OK;
}

/* ------------------------------------------------------ point to point */

static kg_err shared_key(uint8_t key[static 32], const kg_secret *my_secret, const uint8_t peer_box[static 32])
{
    if (kg_secret_len(my_secret) != KG_MPC_NET_KEYS_SECRET_BYTES)
        return kg_err_set(KG_ERR_BAD_INPUT, "envelope secret must be %d bytes", KG_MPC_NET_KEYS_SECRET_BYTES);
    if (kg_crypto_init() != KG_OK)
        return kg_err_set(KG_ERR_CRYPTO, "cannot initialise libsodium");
    if (crypto_box_beforenm(key, peer_box, kg_secret_cdata(my_secret)) != 0) {
        kg_wipe(key, 32);
        return kg_err_set(KG_ERR_BAD_INPUT, "the peer's X25519 key is a low-order point");
    }
    return KG_OK;
}

kg_err kg_mpc_net_envelope_seal(kg_bytes *out, const kg_mpc_net_header *h, const kg_secret *my_secret,
                                const uint8_t receiver_box[static 32], const uint8_t *payload,
                                size_t payload_len)
{
    KG_ARG_CHECK(out != NULL && h != NULL && my_secret != NULL && receiver_box != NULL);
    KG_ARG_CHECK(payload != NULL || payload_len == 0);
    out->data = NULL;
    out->len = 0;
    if (h->receiver == 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "a sealed envelope needs a receiver; sign broadcasts instead");
    uint8_t hdr[KG_MPC_NET_HEADER_BYTES], key[32];
    kg_err err = envelope_alloc(out, hdr, h, payload_len, KG_MPC_NET_NONCE_BYTES + KG_MPC_NET_TAG_BYTES);
    if (err != KG_OK)
        return err;
    err = shared_key(key, my_secret, receiver_box);
    uint8_t *nonce = out->data + KG_MPC_NET_HEADER_BYTES;
    if (err == KG_OK)
        err = kg_crypto_random(nonce, KG_MPC_NET_NONCE_BYTES);
    if (err == KG_OK)
        err = kg_crypto_xchacha_encrypt(nonce + KG_MPC_NET_NONCE_BYTES, key, nonce, hdr, sizeof hdr, payload,
                                        payload_len);
    kg_wipe(key, sizeof key);
    if (err != KG_OK)
        kg_bytes_free(out);
    return err;
}

kg_err kg_mpc_net_envelope_open(kg_secret **payload, const kg_mpc_net_envelope *env, const kg_secret *my_secret,
                                uint32_t my_party, const uint8_t sender_box[static 32])
{
    KG_ARG_CHECK(payload != NULL && env != NULL && my_secret != NULL && sender_box != NULL);
    *payload = NULL;
    if (env->h.receiver == 0 || env->h.receiver != my_party)
        return kg_err_set(KG_ERR_BAD_INPUT, "envelope is addressed to party %u, not to party %u",
                          env->h.receiver, my_party);
    uint8_t hdr[KG_MPC_NET_HEADER_BYTES], key[32];
    kg_err err = kg_mpc_net_header_encode(hdr, &env->h);
    if (err != KG_OK)
        return err;
    size_t ct_len = env->h.body_len - KG_MPC_NET_NONCE_BYTES;
    kg_secret *pt = kg_secret_new(ct_len - KG_MPC_NET_TAG_BYTES);
    if (pt == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    err = shared_key(key, my_secret, sender_box);
    if (err == KG_OK)
        err = kg_crypto_xchacha_decrypt(ct_len > KG_MPC_NET_TAG_BYTES ? kg_secret_data(pt) : NULL, key,
                                        env->body, hdr, sizeof hdr, env->body + KG_MPC_NET_NONCE_BYTES, ct_len);
    kg_wipe(key, sizeof key);
    if (err != KG_OK) {
        kg_secret_free(pt);
        return kg_err_set(KG_ERR_DECRYPT, "envelope from party %u does not authenticate (altered, or sealed "
                                          "for other keys)", env->h.sender);
    }
    *payload = pt;
    return KG_OK;
}

/* ------------------------------------------------------------ broadcast */

kg_err kg_mpc_net_envelope_sign(kg_bytes *out, const kg_mpc_net_header *h, const kg_secret *my_secret,
                                const uint8_t *payload, size_t payload_len)
{
    KG_ARG_CHECK(out != NULL && h != NULL && my_secret != NULL && (payload != NULL || payload_len == 0));
    out->data = NULL;
    out->len = 0;
    if (h->receiver != 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "a signed envelope is a broadcast: its receiver must be 0");
    if (kg_secret_len(my_secret) != KG_MPC_NET_KEYS_SECRET_BYTES)
        return kg_err_set(KG_ERR_BAD_INPUT, "envelope secret must be %d bytes", KG_MPC_NET_KEYS_SECRET_BYTES);
    uint8_t hdr[KG_MPC_NET_HEADER_BYTES];
    kg_err err = envelope_alloc(out, hdr, h, payload_len, KG_MPC_NET_SIG_BYTES);
    if (err != KG_OK)
        return err;
    if (payload_len > 0)
        memcpy(out->data + KG_MPC_NET_HEADER_BYTES, payload, payload_len);
    /* signed message = header || payload, contiguous in out */
    err = kg_crypto_ed25519_sign(out->data + KG_MPC_NET_HEADER_BYTES + payload_len,
                                 kg_secret_cdata(my_secret) + 32, out->data, KG_MPC_NET_HEADER_BYTES + payload_len);
    if (err != KG_OK)
        kg_bytes_free(out);
    return err;
}

kg_err kg_mpc_net_envelope_verify(const uint8_t **payload, size_t *payload_len, const kg_mpc_net_envelope *env,
                                  const uint8_t sender_sign[static 32])
{
    KG_ARG_CHECK(payload != NULL && payload_len != NULL && env != NULL && sender_sign != NULL);
    *payload = NULL;
    *payload_len = 0;
    if (env->h.receiver != 0 || env->body == NULL || env->h.body_len < KG_MPC_NET_SIG_BYTES)
        return kg_err_set(KG_ERR_BAD_INPUT, "envelope is not a broadcast");
    uint8_t hdr[KG_MPC_NET_HEADER_BYTES];
    kg_err err = kg_mpc_net_header_encode(hdr, &env->h);
    if (err != KG_OK)
        return err;
    size_t plen = env->h.body_len - KG_MPC_NET_SIG_BYTES;
    uint8_t *msg = malloc(sizeof hdr + plen);
    if (msg == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    memcpy(msg, hdr, sizeof hdr);
    if (plen > 0)
        memcpy(msg + sizeof hdr, env->body, plen);
    err = kg_crypto_ed25519_verify(env->body + plen, sender_sign, msg, sizeof hdr + plen);
    free(msg);
    if (err != KG_OK)
        return kg_err_set(KG_ERR_VERIFY, "broadcast from party %u has a bad signature", env->h.sender);
    *payload = env->body;
    *payload_len = plen;
    return KG_OK;
}

kg_err kg_mpc_net_equivocation_check(uint32_t *equivocator, const kg_mpc_net_envelope *a,
                                     const kg_mpc_net_envelope *b, const uint8_t sender_sign[static 32])
{
    KG_ARG_CHECK(equivocator != NULL && a != NULL && b != NULL && sender_sign != NULL);
    *equivocator = 0;
    if (a->h.sender != b->h.sender || a->h.round != b->h.round
        || memcmp(a->h.session, b->h.session, KG_MPC_NET_SESSION_ID_BYTES) != 0)
        return KG_OK; /* not two claims about the same slot */
    const uint8_t *pa = NULL, *pb = NULL;
    size_t la = 0, lb = 0;
    kg_err err = kg_mpc_net_envelope_verify(&pa, &la, a, sender_sign);
    if (err == KG_OK)
        err = kg_mpc_net_envelope_verify(&pb, &lb, b, sender_sign);
    if (err != KG_OK)
        return err;
    if (a->h.type == b->h.type && a->h.scheme == b->h.scheme && la == lb && memcmp(pa, pb, la) == 0)
        return KG_OK;
    char sid[17];
    kg_hex_encode(sid, a->h.session, 8);
    *equivocator = a->h.sender;
    return kg_err_set(KG_ERR_CONFLICT, "party %u equivocated: two different signed broadcasts for round %u "
                                       "of session %s...", a->h.sender, a->h.round, sid);
}

/* ------------------------------------------------------- replay window */

typedef struct {
    uint8_t session[KG_MPC_NET_SESSION_ID_BYTES];
    uint16_t sender;
    uint64_t highest;
} replay_entry;

struct kg_mpc_net_replay {
    pthread_mutex_t lock;
    size_t len, cap;
    replay_entry *e; /* small sets: a linear scan is fine */
};

kg_err kg_mpc_net_replay_new(kg_mpc_net_replay **out, size_t max_pairs)
{
    KG_ARG_CHECK(out != NULL && max_pairs > 0);
    kg_mpc_net_replay *r = calloc(1, sizeof *r);
    if (r == NULL || (r->e = calloc(max_pairs, sizeof *r->e)) == NULL) {
        free(r);
        *out = NULL;
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
    r->cap = max_pairs;
    pthread_mutex_init(&r->lock, NULL);
    *out = r;
    return KG_OK;
}

void kg_mpc_net_replay_free(kg_mpc_net_replay *r)
{
    if (r == NULL)
        return;
    pthread_mutex_destroy(&r->lock);
    free(r->e);
    free(r);
}

kg_err kg_mpc_net_replay_check(kg_mpc_net_replay *r, const kg_mpc_net_header *h)
{
    KG_ARG_CHECK(r != NULL && h != NULL);
    kg_err err = KG_OK;
    pthread_mutex_lock(&r->lock);
    replay_entry *e = NULL;
    for (size_t i = 0; i < r->len && e == NULL; i++)
        if (r->e[i].sender == h->sender && memcmp(r->e[i].session, h->session, sizeof h->session) == 0)
            e = &r->e[i];
    if (e == NULL && r->len == r->cap) {
        err = kg_err_set(KG_ERR_TOO_LARGE, "replay window full (%zu session/sender pairs); forget finished "
                                           "sessions", r->cap);
    } else if (e == NULL) {
        e = &r->e[r->len++];
        memcpy(e->session, h->session, sizeof e->session);
        e->sender = h->sender;
        e->highest = h->seq;
    } else if (h->seq <= e->highest) {
        err = kg_err_set(KG_ERR_CONFLICT, "replayed or stale message from party %u (sequence %llu, already "
                                          "at %llu)", h->sender, (unsigned long long)h->seq,
                         (unsigned long long)e->highest);
    } else {
        e->highest = h->seq;
    }
    pthread_mutex_unlock(&r->lock);
    return err;
}

void kg_mpc_net_replay_forget(kg_mpc_net_replay *r, const uint8_t session[static KG_MPC_NET_SESSION_ID_BYTES])
{
    if (r == NULL || session == NULL)
        return;
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < r->len;) {
        if (memcmp(r->e[i].session, session, KG_MPC_NET_SESSION_ID_BYTES) == 0)
            r->e[i] = r->e[--r->len];
        else
            i++;
    }
    pthread_mutex_unlock(&r->lock);
}
