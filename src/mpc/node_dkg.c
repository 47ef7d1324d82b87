/* The DKG requests of `kashguard mpc-node` (mpc/node.h): round 1 (a signed
 * broadcast of the commitments and proof of knowledge), round 2 (checks
 * every other party's round 1, seals one share to each), finish (opens the
 * shares addressed to this node, checks them against the commitments and
 * keeps the resulting key share PENDING in memory) and confirm.
 *
 * The confirmation is an echo broadcast (Goldwasser-Lindell style "echo"
 * of the round-1 messages, as FROST's DKG needs a broadcast channel; see
 * the FROST paper, section 5.1, and RFC 9591 appendix C): with its finish
 * answer every node signs (round 3) the SHA-256 digest of the whole round-1
 * transcript it used together with its own round-1 envelope; DKG_CONFIRM
 * hands it all n confirmations, and the share becomes the key's share only
 * if every signature verifies, every digest equals ours and every sender's
 * own round-1 envelope is the one the coordinator relayed to us (two
 * different signed ones prove equivocation: kg_mpc_net_equivocation_check).
 * Otherwise the pending share is wiped and the error names the party. A
 * pending share lives only in the session, so a crash or an expired session
 * leaves nothing behind. The state between requests lives in the session
 * (node_int.h). Errors that blame a party start "party <id> " (node.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kashguard/crypto.h"
#include "node_evil.h"
#include "node_int.h"

#define CONFIRM_ROUND 3

kg_err kg_mpc_nd_env_header(kg_mpc_net_header *h, const kg_mpc_nd_session *s, uint8_t type, uint16_t me, uint16_t to,
                         uint32_t round, uint64_t seq)
{
    memset(h, 0, sizeof *h);
    h->version = KG_MPC_NET_VERSION;
    h->scheme = (uint8_t)s->g;
    h->type = type;
    memcpy(h->session, s->id, KG_MPC_NET_SESSION_ID_BYTES);
    h->sender = me;
    h->receiver = to;
    h->round = round;
    h->seq = seq;
    return KG_OK;
}

kg_err kg_mpc_nd_dkg_round1(kg_mpc_nd *nd, const kg_mpc_node_msg *m, kg_mpc_node_wr *w)
{
    kg_mpc_node_rd r;
    size_t kl = 0;
    kg_mpc_node_rd_init(&r, m->body, m->body_len);
    unsigned t = kg_mpc_node_rd_u16(&r), n = kg_mpc_node_rd_u16(&r);
    const uint8_t *kid = kg_mpc_node_rd_blob(&r, &kl, KG_MPC_NODE_KEY_ID_MAX);
    if (r.bad || n < 2 || n > KG_MPC_FROST_MAX_PARTICIPANTS || t < 2 || t > n)
        return kg_err_set(KG_ERR_BAD_INPUT, "DKG round 1: bad threshold %u of %u", t, n);
    kg_err err = kg_mpc_node_key_id_check(kid, kl);
    if (err) return err;
    if (nd->cfg->id > n) return kg_err_set(KG_ERR_BAD_INPUT, "DKG of %u parties does not include node %u", n, nd->cfg->id);
    kg_mpc_nd_session *s;
    if ((err = kg_mpc_nd_session_new(&s, nd, m, KG_MPC_ND_S_DKG1))) return err;
    memcpy(s->key_id, kid, kl);
    s->t = t;
    s->n = n;
    bool seen[KG_MPC_FROST_MAX_PARTICIPANTS + 1] = {false};
    for (unsigned i = 0; i < n && !r.bad; i++) {
        uint16_t id = kg_mpc_node_rd_u16(&r);
        const uint8_t *k = kg_mpc_node_rd_fixed(&r, 64);
        if (!k || id == 0 || id > n || seen[id]) { r.bad = true; break; }
        seen[id] = true;
        memcpy(s->reg[id - 1].box, k, 32);
        memcpy(s->reg[id - 1].sign, k + 32, 32);
    }
    err = kg_mpc_node_rd_end(&r, "DKG round 1 registry (node ids must be 1..n, each once)");
    if (!err && (memcmp(&s->reg[nd->cfg->id - 1], &nd->env_pub, sizeof nd->env_pub)))
        err = kg_err_set(KG_ERR_BAD_INPUT, "the registry's envelope keys of node %u are not this node's", nd->cfg->id);
    kg_bytes b = {0};
    if (!err) {
        char rec[128];
        kg_mpc_nd_share_record(rec, sizeof rec, s->key_id);
        kg_bytes tmp = {0};
        if (kg_store_get(nd->st, NULL, &tmp, rec) == KG_OK)
            err = kg_err_set(KG_ERR_CONFLICT, "key %s already exists on this node", s->key_id);
        kg_bytes_free(&tmp);
    }
    if (!err) err = kg_mpc_frost_dkg_new(&s->dkg, s->g, nd->cfg->id, t, n);
    kg_mpc_frost_dkg_round1 *msg = err ? NULL : calloc(1, sizeof *msg);
    uint8_t *ser = err ? NULL : malloc(KG_MPC_FROST_DKG_ROUND1_MAX_BYTES);
    size_t ser_len = 0;
    if (!err && (!msg || !ser)) err = kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (!err) err = kg_mpc_frost_dkg_round1_run(s->dkg, msg, NULL, NULL);
    if (!err) KG_MPC_EVIL_HOOK("bad-proof", kg_mpc_evil_bump(s->g, &msg->proof_mu));
    if (!err) err = kg_mpc_frost_dkg_round1_serialize(s->g, ser, &ser_len, msg);
    kg_mpc_net_header h;
    if (!err) err = kg_mpc_nd_env_header(&h, s, KG_MPC_NODE_DKG_ROUND1, nd->cfg->id, 0, 1, 1);
    if (!err) err = kg_mpc_net_envelope_sign(&b, &h, nd->env, ser, ser_len);
    if (!err && !(s->r1 = calloc(n, sizeof *s->r1))) err = kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (!err) err = kg_bytes_set(&s->r1[nd->cfg->id - 1], b.data, b.len);
    free(msg);
    free(ser);
    if (err) { kg_bytes_free(&b); kg_mpc_nd_session_drop(nd, s); return err; }
    kg_mpc_node_wr_blob(w, b.data, b.len);
    kg_bytes_free(&b);
    return KG_OK;
}

/* Check a relayed envelope's header against the session. */
kg_err kg_mpc_nd_env_check(const kg_mpc_net_envelope *e, const kg_mpc_nd_session *s, uint8_t type, uint32_t round,
                        uint16_t to, uint16_t me)
{
    const kg_mpc_net_header *h = &e->h;
    if (h->scheme != (uint8_t)s->g || h->type != type || h->round != round || h->receiver != to ||
        memcmp(h->session, s->id, KG_MPC_NET_SESSION_ID_BYTES) || h->sender == me || h->sender > s->n)
        return kg_err_set(KG_ERR_BAD_INPUT, "an envelope from party %u does not belong to this step", h->sender);
    return KG_OK;
}

/* err from the FROST library naming culprit ("participant <id> sent ...")
 * as a blame of this node's protocol: "party <id> sent ...". */
static kg_err blame(kg_err err, uint16_t culprit, const char *what)
{
    char d[300], pre[40];
    snprintf(d, sizeof d, "%s", kg_err_detail(err));
    int pl = snprintf(pre, sizeof pre, "participant %u ", culprit);
    if (pl > 0 && !strncmp(d, pre, (size_t)pl)) return kg_err_set(err, "party %u %s", culprit, d + pl);
    return kg_err_set(err, "party %u sent %s (%s)", culprit, what, d);
}

static void put_u32(kg_crypto_sha256_ctx *c, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    kg_crypto_sha256_update(c, b, sizeof b);
}

/* s->transcript = SHA-256 of a domain tag, the session, t, n, the key id and
 * every party's signed round-1 payload in id order, each length-prefixed. */
static kg_err transcript_digest(kg_mpc_nd_session *s)
{
    static const char tag[] = "kashguard/mpc/dkg-transcript/v1";
    kg_crypto_sha256_ctx c;
    kg_crypto_sha256_init(&c);
    kg_crypto_sha256_update(&c, (const uint8_t *)tag, sizeof tag - 1);
    kg_crypto_sha256_update(&c, s->id, KG_MPC_NET_SESSION_ID_BYTES);
    put_u32(&c, s->t);
    put_u32(&c, s->n);
    put_u32(&c, (uint32_t)strlen(s->key_id));
    kg_crypto_sha256_update(&c, (const uint8_t *)s->key_id, strlen(s->key_id));
    for (unsigned i = 1; i <= s->n; i++) {
        kg_mpc_net_envelope e;
        const uint8_t *pl = NULL;
        size_t pl_len = 0;
        kg_err err = kg_mpc_net_envelope_decode(&e, s->r1[i - 1].data, s->r1[i - 1].len);
        if (!err) err = kg_mpc_net_envelope_verify(&pl, &pl_len, &e, s->reg[i - 1].sign);
        if (err) return kg_err_set(err, "the round-1 message of party %u is missing or invalid", i);
        put_u32(&c, i);
        put_u32(&c, (uint32_t)pl_len);
        kg_crypto_sha256_update(&c, pl, pl_len);
    }
    kg_crypto_sha256_final(s->transcript, &c);
    return KG_OK;
}

kg_err kg_mpc_nd_dkg_round2(kg_mpc_nd *nd, kg_mpc_nd_session *s, const kg_mpc_node_msg *m, kg_mpc_node_wr *w)
{
    uint16_t me = nd->cfg->id;
    kg_mpc_node_rd r;
    kg_mpc_node_rd_init(&r, m->body, m->body_len);
    unsigned cnt = kg_mpc_node_rd_u16(&r);
    if (cnt != s->n - 1) return kg_err_set(KG_ERR_BAD_INPUT, "DKG round 2 needs %u round-1 messages, got %u", s->n - 1, cnt);
    kg_mpc_frost_dkg_round1 *msgs = calloc(cnt, sizeof *msgs);
    kg_mpc_frost_dkg_round2 *out = calloc(cnt, sizeof *out);
    kg_err err = msgs && out ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
    bool seen[KG_MPC_FROST_MAX_PARTICIPANTS + 1] = {false};
    for (unsigned i = 0; i < cnt && !err; i++) {
        size_t len;
        const uint8_t *p = kg_mpc_node_rd_blob(&r, &len, KG_MPC_NET_FRAME_MAX_BYTES);
        kg_mpc_net_envelope e;
        const uint8_t *pl;
        size_t pl_len;
        if (!p) { err = kg_err_set(KG_ERR_BAD_INPUT, "DKG round 2: truncated message list"); break; }
        if ((err = kg_mpc_net_envelope_decode(&e, p, len))) break;
        if ((err = kg_mpc_nd_env_check(&e, s, KG_MPC_NODE_DKG_ROUND1, 1, 0, me))) break;
        uint16_t from = e.h.sender;
        if (seen[from]) { err = kg_err_set(KG_ERR_BAD_INPUT, "two round-1 messages from party %u", from); break; }
        seen[from] = true;
        if ((err = kg_mpc_net_envelope_verify(&pl, &pl_len, &e, s->reg[from - 1].sign))) break;
        if ((err = kg_mpc_net_replay_check(nd->replay, &e.h))) break;
        if ((err = kg_mpc_frost_dkg_round1_parse(s->g, &msgs[i], pl, pl_len)))
            err = kg_err_set(err, "party %u sent a malformed round-1 message: %s", from, kg_err_detail(err));
        else if (msgs[i].from != from)
            err = kg_err_set(KG_ERR_BAD_INPUT, "party %u sent a round-1 message of party %u", from, msgs[i].from);
        if (!err) err = kg_bytes_set(&s->r1[from - 1], p, len);
    }
    if (!err) err = kg_mpc_node_rd_end(&r, "DKG round 2 request");
    uint16_t culprit = 0;
    if (!err) {
        err = kg_mpc_frost_dkg_round2_run(s->dkg, out, &culprit, msgs, cnt);
        if (err && culprit) err = blame(err, culprit, "an invalid round-1 message");
    }
    if (!err) err = transcript_digest(s);
    if (!err) KG_MPC_EVIL_HOOK("bad-share", kg_mpc_evil_bump(s->g, &out[0].share));
    if (!err) kg_mpc_node_wr_u16(w, (uint16_t)cnt);
    for (unsigned k = 0; k < cnt && !err; k++) {
        uint8_t pl[4 + KG_MPC_SCALAR_BYTES];
        kg_mpc_net_header h;
        kg_bytes b = {0};
        pl[0] = (uint8_t)(out[k].from >> 8); pl[1] = (uint8_t)out[k].from;
        pl[2] = (uint8_t)(out[k].to >> 8); pl[3] = (uint8_t)out[k].to;
        memcpy(pl + 4, out[k].share.b, KG_MPC_SCALAR_BYTES);
        err = kg_mpc_nd_env_header(&h, s, KG_MPC_NODE_DKG_ROUND2, me, out[k].to, 2, 2 + k);
        if (!err) err = kg_mpc_net_envelope_seal(&b, &h, nd->env, s->reg[out[k].to - 1].box, pl, sizeof pl);
        kg_wipe(pl, sizeof pl);
        if (!err) kg_mpc_node_wr_blob(w, b.data, b.len);
        kg_bytes_free(&b);
    }
    if (out) kg_wipe(out, cnt * sizeof *out);
    free(out);
    free(msgs);
    if (err) kg_mpc_nd_session_drop(nd, s);
    else s->kind = KG_MPC_ND_S_DKG2;
    return err;
}

/* The own round-1 envelope to put in the confirmation: the one broadcast,
 * or (test build, mode equivocate) a second one, validly signed, that
 * differs in its last payload byte. */
static kg_err own_round1(kg_bytes *out, kg_mpc_nd *nd, const kg_mpc_nd_session *s)
{
    const kg_bytes *mine = &s->r1[nd->cfg->id - 1];
    kg_err err = kg_bytes_set(out, mine->data, mine->len);
    KG_MPC_EVIL_HOOK("equivocate", {
        kg_mpc_net_envelope e;
        const uint8_t *pl = NULL;
        size_t pl_len = 0;
        uint8_t *alt = NULL;
        if (!err) err = kg_mpc_net_envelope_decode(&e, mine->data, mine->len);
        if (!err) err = kg_mpc_net_envelope_verify(&pl, &pl_len, &e, nd->env_pub.sign);
        if (!err && (alt = malloc(pl_len))) {
            memcpy(alt, pl, pl_len);
            alt[pl_len - 1] ^= 1;
            kg_bytes_free(out);
            err = kg_mpc_net_envelope_sign(out, &e.h, nd->env, alt, pl_len);
        }
        free(alt);
    });
    return err;
}

/* Append the blob of this node's signed confirmation (round 3): the
 * transcript digest, then the blob of its own round-1 envelope. */
static kg_err confirmation(kg_mpc_nd *nd, const kg_mpc_nd_session *s, kg_mpc_node_wr *w)
{
    kg_bytes own = {0}, env = {0};
    kg_mpc_node_wr pl = {0};
    kg_mpc_net_header h;
    kg_err err = own_round1(&own, nd, s);
    kg_mpc_node_wr_fixed(&pl, s->transcript, sizeof s->transcript);
    kg_mpc_node_wr_blob(&pl, own.data, own.len);
    if (!err) err = kg_mpc_node_wr_done(&pl);
    if (!err) err = kg_mpc_nd_env_header(&h, s, KG_MPC_NODE_DKG_CONFIRM, nd->cfg->id, 0, CONFIRM_ROUND, s->n + 1);
    if (!err) err = kg_mpc_net_envelope_sign(&env, &h, nd->env, pl.b.data, pl.b.len);
    if (!err) kg_mpc_node_wr_blob(w, env.data, env.len);
    kg_bytes_free(&own);
    kg_bytes_free(&env);
    kg_bytes_free(&pl.b);
    return err;
}

kg_err kg_mpc_nd_dkg_finish(kg_mpc_nd *nd, kg_mpc_nd_session *s, const kg_mpc_node_msg *m, kg_mpc_node_wr *w)
{
    uint16_t me = nd->cfg->id;
    kg_mpc_node_rd r;
    kg_mpc_node_rd_init(&r, m->body, m->body_len);
    unsigned cnt = kg_mpc_node_rd_u16(&r);
    if (cnt != s->n - 1) return kg_err_set(KG_ERR_BAD_INPUT, "DKG finish needs %u shares, got %u", s->n - 1, cnt);
    kg_secret *sec = kg_secret_new(cnt * sizeof(kg_mpc_frost_dkg_round2) + sizeof(kg_mpc_frost_key_share));
    kg_mpc_point *pubs = calloc(s->n, sizeof *pubs);
    kg_err err = sec && pubs ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
    kg_mpc_frost_dkg_round2 *msgs = sec ? (kg_mpc_frost_dkg_round2 *)kg_secret_data(sec) : NULL;
    bool seen[KG_MPC_FROST_MAX_PARTICIPANTS + 1] = {false};
    for (unsigned i = 0; i < cnt && !err; i++) {
        size_t len;
        const uint8_t *p = kg_mpc_node_rd_blob(&r, &len, KG_MPC_NET_FRAME_MAX_BYTES);
        kg_mpc_net_envelope e;
        kg_secret *pl = NULL;
        if (!p) { err = kg_err_set(KG_ERR_BAD_INPUT, "DKG finish: truncated share list"); break; }
        if ((err = kg_mpc_net_envelope_decode(&e, p, len))) break;
        if ((err = kg_mpc_nd_env_check(&e, s, KG_MPC_NODE_DKG_ROUND2, 2, me, me))) break;
        uint16_t from = e.h.sender;
        if (seen[from]) { err = kg_err_set(KG_ERR_BAD_INPUT, "two round-2 shares from party %u", from); break; }
        seen[from] = true;
        if ((err = kg_mpc_net_envelope_open(&pl, &e, nd->env, me, s->reg[from - 1].box))) break;
        err = kg_mpc_net_replay_check(nd->replay, &e.h);
        const uint8_t *d = kg_secret_cdata(pl);
        if (!err && (kg_secret_len(pl) != 4 + KG_MPC_SCALAR_BYTES || (uint16_t)(d[0] << 8 | d[1]) != from ||
                     (uint16_t)(d[2] << 8 | d[3]) != me))
            err = kg_err_set(KG_ERR_BAD_INPUT, "the round-2 share of party %u is malformed", from);
        if (!err) {
            msgs[i].from = from;
            msgs[i].to = me;
            err = kg_mpc_scalar_from_bytes(s->g, &msgs[i].share, d + 4, KG_MPC_SCALAR_BYTES);
        }
        kg_secret_free(pl);
    }
    if (!err) err = kg_mpc_node_rd_end(&r, "DKG finish request");
    kg_mpc_frost_key_share *share = sec ? (kg_mpc_frost_key_share *)(msgs + cnt) : NULL;
    uint16_t culprit = 0;
    if (!err) {
        err = kg_mpc_frost_dkg_finish(s->dkg, share, pubs, &culprit, msgs, cnt);
        if (err && culprit) err = blame(err, culprit, "an invalid secret share");
    }
    size_t pl_len = kg_mpc_group_point_len(s->g);
    uint8_t pt[KG_MPC_POINT_MAX_BYTES];
    kg_mpc_point gp;
    if (!err) {
        gp = share->group_public;
        KG_MPC_EVIL_HOOK("bad-result", gp = pubs[0]);
        err = kg_mpc_point_serialize(s->g, pt, &gp);
    }
    if (!err) kg_mpc_node_wr_fixed(w, pt, pl_len);
    for (unsigned i = 0; i < s->n && !err; i++) {
        err = kg_mpc_point_serialize(s->g, pt, &pubs[i]);
        if (!err) kg_mpc_node_wr_fixed(w, pt, pl_len);
    }
    if (!err) err = confirmation(nd, s, w);
    if (!err && !(s->pending = kg_secret_from((const uint8_t *)share, sizeof *share)))
        err = kg_err_set(KG_ERR_NOMEM, "out of memory");
    kg_secret_free(sec);
    free(pubs);
    if (err) {
        kg_mpc_nd_session_drop(nd, s);
        return err;
    }
    kg_mpc_frost_dkg_free(s->dkg);
    s->dkg = NULL;
    s->kind = KG_MPC_ND_S_DKG3;
    return KG_OK;
}

/* ------------------------------------------------------------ confirm */

void kg_mpc_nd_dkg_state_free(kg_mpc_nd_session *s)
{
    for (unsigned i = 0; s->r1 && i < s->n; i++) kg_bytes_free(&s->r1[i]);
    free(s->r1);
    s->r1 = NULL;
    kg_secret_free(s->pending);
    s->pending = NULL;
}

/* One confirmation: structure, header and signature of the outer envelope,
 * then its payload; *digest and *inner point into `raw`. Errors are not
 * blames: a bad signature may be the relay's doing. */
static kg_err confirm_open(uint16_t *from, const uint8_t **digest, kg_mpc_net_envelope *inner,
                           const kg_mpc_nd_session *s, const uint8_t *raw, size_t len)
{
    kg_mpc_net_envelope e;
    const uint8_t *pl = NULL;
    size_t pl_len = 0, il = 0;
    kg_err err = kg_mpc_net_envelope_decode(&e, raw, len);
    if (err) return err;
    const kg_mpc_net_header *h = &e.h;
    if (h->scheme != (uint8_t)s->g || h->type != KG_MPC_NODE_DKG_CONFIRM || h->round != CONFIRM_ROUND ||
        h->receiver != 0 || memcmp(h->session, s->id, KG_MPC_NET_SESSION_ID_BYTES) || h->sender > s->n)
        return kg_err_set(KG_ERR_BAD_INPUT, "a DKG confirmation from party %u does not belong to this session", h->sender);
    *from = h->sender;
    if ((err = kg_mpc_net_envelope_verify(&pl, &pl_len, &e, s->reg[h->sender - 1].sign)))
        return kg_err_set(err, "the DKG confirmation of party %u has a bad signature", h->sender);
    kg_mpc_node_rd r;
    kg_mpc_node_rd_init(&r, pl, pl_len);
    *digest = kg_mpc_node_rd_fixed(&r, 32);
    const uint8_t *ip = kg_mpc_node_rd_blob(&r, &il, KG_MPC_NET_FRAME_MAX_BYTES);
    if (r.bad || r.left || kg_mpc_net_envelope_decode(inner, ip, il) != KG_OK)
        return kg_err_set(KG_ERR_VERIFY, "party %u signed a malformed DKG confirmation", h->sender);
    return KG_OK;
}

/* Every confirmation's own round-1 envelope against the one relayed to us:
 * two different validly signed ones are proof that their sender equivocated. */
static kg_err confirm_echo(const kg_mpc_nd_session *s, uint16_t from, const kg_mpc_net_envelope *inner)
{
    kg_mpc_net_envelope got;
    uint32_t eq = 0;
    const kg_mpc_net_header *h = &inner->h;
    if (h->sender != from || h->type != KG_MPC_NODE_DKG_ROUND1 || h->round != 1 || h->receiver != 0 ||
        memcmp(h->session, s->id, KG_MPC_NET_SESSION_ID_BYTES))
        return kg_err_set(KG_ERR_VERIFY, "party %u confirmed a round-1 envelope that is not its own for this session", from);
    kg_err err = kg_mpc_net_envelope_decode(&got, s->r1[from - 1].data, s->r1[from - 1].len);
    if (!err) err = kg_mpc_net_equivocation_check(&eq, &got, inner, s->reg[from - 1].sign);
    if (err == KG_ERR_CONFLICT)
        return kg_err_set(KG_ERR_CONFLICT, "party %u equivocated: it signed two different DKG round-1 broadcasts "
                          "(the one relayed to me and the one in its confirmation)", from);
    if (err == KG_ERR_VERIFY)
        return kg_err_set(KG_ERR_VERIFY, "party %u confirmed a round-1 envelope with a bad signature", from);
    return err;
}

kg_err kg_mpc_nd_dkg_confirm(kg_mpc_nd *nd, kg_mpc_nd_session *s, const kg_mpc_node_msg *m, kg_mpc_node_wr *w)
{
    kg_mpc_node_rd r;
    kg_mpc_node_rd_init(&r, m->body, m->body_len);
    unsigned cnt = kg_mpc_node_rd_u16(&r);
    if (r.bad || cnt != s->n) /* a malformed request changes nothing: the session waits for a good one */
        return kg_err_set(KG_ERR_BAD_INPUT, "DKG confirm needs %u confirmations, got %u", s->n, cnt);
    const uint8_t *digest[KG_MPC_FROST_MAX_PARTICIPANTS + 1] = {NULL};
    kg_mpc_net_envelope inner[KG_MPC_FROST_MAX_PARTICIPANTS + 1];
    kg_mpc_net_header hs[KG_MPC_FROST_MAX_PARTICIPANTS + 1];
    kg_err err = KG_OK;
    for (unsigned i = 0; i < cnt && !err; i++) {
        size_t len = 0;
        uint16_t from = 0;
        const uint8_t *p = kg_mpc_node_rd_blob(&r, &len, KG_MPC_NET_FRAME_MAX_BYTES);
        kg_mpc_net_envelope tmp;
        if (!p) return kg_err_set(KG_ERR_BAD_INPUT, "DKG confirm: truncated confirmation list");
        if ((err = confirm_open(&from, &digest[0], &tmp, s, p, len))) return err;
        if (digest[from]) return kg_err_set(KG_ERR_BAD_INPUT, "two DKG confirmations from party %u", from);
        digest[from] = digest[0];
        inner[from] = tmp;
        if ((err = kg_mpc_net_envelope_decode(&tmp, p, len))) return err;
        hs[from] = tmp.h;
    }
    if ((err = kg_mpc_node_rd_end(&r, "DKG confirm request"))) return err;
    /* The request is well formed and authentic: from here on a failure ends
     * the DKG on this node and wipes the pending share. */
    for (unsigned i = 1; i <= s->n && !err; i++) /* our own envelope needs no echo */
        if (i != nd->cfg->id) err = confirm_echo(s, (uint16_t)i, &inner[i]);
    for (unsigned i = 1; i <= s->n && !err; i++)
        if (memcmp(digest[i], s->transcript, sizeof s->transcript))
            err = kg_err_set(KG_ERR_VERIFY, "the DKG round-1 transcript confirmed by party %u differs from mine: "
                             "a party equivocated or the coordinator relayed different messages", i);
    for (unsigned i = 1; i <= s->n && !err; i++)
        if (i != nd->cfg->id) err = kg_mpc_net_replay_check(nd->replay, &hs[i]);
    if (!err) err = kg_mpc_nd_share_save(nd, s->key_id, (const kg_mpc_frost_key_share *)kg_secret_cdata(s->pending));
    if (err) {
        kg_mpc_nd_session_drop(nd, s);
        return err;
    }
    kg_mpc_nd_dkg_state_free(s);
    s->kind = KG_MPC_ND_S_DKGOK;
    (void)w;
    return KG_OK;
}

kg_err kg_mpc_nd_dkg_abort(kg_mpc_nd *nd, kg_mpc_nd_session *s, const kg_mpc_node_msg *m, kg_mpc_node_wr *w)
{
    (void)w;
    if (m->body_len) return kg_err_set(KG_ERR_BAD_INPUT, "DKG abort takes no body");
    if (!s) return KG_OK; /* nothing left of it (finished with an error, expired, or never started) */
    if (s->kind != KG_MPC_ND_S_DKG1 && s->kind != KG_MPC_ND_S_DKG2 && s->kind != KG_MPC_ND_S_DKG3 &&
        s->kind != KG_MPC_ND_S_DKGOK)
        return kg_err_set(KG_ERR_BAD_INPUT, "session is not a DKG");
    kg_err err = KG_OK;
    if (s->kind == KG_MPC_ND_S_DKGOK) /* activated in this session: the coordinator did not record the key */
        err = kg_mpc_nd_ep_del(nd, NULL, "share", s->key_id);
    kg_mpc_nd_session_drop(nd, s);
    return err;
}
