/* The coordinator<->node request/response framing of mpc/node.h: a 40-byte
 * header (version, type, scheme, session id, body length) and bodies built
 * from u16s, fixed fields and u32-length blobs. Everything here parses
 * untrusted bytes, so every read is bounds-checked and a short, long or
 * malformed message is KG_ERR_BAD_INPUT, never a crash. */
#include <stdlib.h>
#include <string.h>
#include "kashguard/mpc/node.h"

static bool type_known(uint8_t t)
{
    uint8_t base = (uint8_t)(t & 0x7F);
    if (t == KG_MPC_NODE_ERROR) return true;
    return base == KG_MPC_NODE_DKG_ROUND1 || base == KG_MPC_NODE_DKG_ROUND2 ||
           base == KG_MPC_NODE_DKG_FINISH || base == KG_MPC_NODE_DKG_CONFIRM ||
           base == KG_MPC_NODE_DKG_ABORT || base == KG_MPC_NODE_SIGN_COMMIT ||
           base == KG_MPC_NODE_SIGN_TR_NONCE || base == KG_MPC_NODE_SIGN_TR_SIGN ||
           base == KG_MPC_NODE_SIGN_SHARE || base == KG_MPC_NODE_PING ||
           base == KG_MPC_NODE_KEY_INFO ||
           base == KG_MPC_NODE_SIGN_PREPROCESS || base == KG_MPC_NODE_SIGN_PRE ||
           (base >= KG_MPC_NODE_EPOCH_DEAL && base <= KG_MPC_NODE_EPOCH_DELETE) ||
           (base >= KG_MPC_NODE_REPAIR_STEP1 && base <= KG_MPC_NODE_REPAIR_FINISH) ||
           (base >= KG_MPC_NODE_IMPORT_SHARE && base <= KG_MPC_NODE_IMPORT_ABORT) ||
           (base >= KG_MPC_NODE_CGGMP_START && base <= KG_MPC_NODE_CGGMP_INFO);
}

kg_err kg_mpc_node_msg_encode(kg_bytes *out, const kg_mpc_node_msg *m)
{
    *out = (kg_bytes){0};
    if (!type_known(m->type))
        return kg_err_set(KG_ERR_BAD_INPUT, "mpc node message: unknown type 0x%02x", m->type);
    if (m->type != KG_MPC_NODE_ERROR && !kg_mpc_group_valid((kg_mpc_group_id)m->scheme))
        return kg_err_set(KG_ERR_BAD_INPUT, "mpc node message: unknown scheme %u", m->scheme);
    if (m->body_len > KG_MPC_NET_FRAME_MAX_BYTES - KG_MPC_NODE_HEADER_BYTES)
        return kg_err_set(KG_ERR_TOO_LARGE, "mpc node message: body of %zu bytes is too large", m->body_len);
    size_t len = KG_MPC_NODE_HEADER_BYTES + m->body_len;
    uint8_t *p = malloc(len);
    if (!p) return kg_err_set(KG_ERR_NOMEM, "out of memory");
    p[0] = KG_MPC_NODE_VERSION;
    p[1] = m->type;
    p[2] = m->scheme;
    p[3] = 0;
    memcpy(p + 4, m->session, KG_MPC_NET_SESSION_ID_BYTES);
    uint32_t bl = (uint32_t)m->body_len;
    p[36] = (uint8_t)(bl >> 24); p[37] = (uint8_t)(bl >> 16);
    p[38] = (uint8_t)(bl >> 8); p[39] = (uint8_t)bl;
    if (m->body_len) memcpy(p + KG_MPC_NODE_HEADER_BYTES, m->body, m->body_len);
    out->data = p;
    out->len = len;
    return KG_OK;
}

kg_err kg_mpc_node_msg_decode(kg_mpc_node_msg *out, const uint8_t *in, size_t len)
{
    memset(out, 0, sizeof *out);
    if (!in || len < KG_MPC_NODE_HEADER_BYTES)
        return kg_err_set(KG_ERR_BAD_INPUT, "mpc node message: %zu bytes is shorter than the header", len);
    if (in[0] != KG_MPC_NODE_VERSION)
        return kg_err_set(KG_ERR_BAD_INPUT, "mpc node message: version %u is not supported", in[0]);
    if (in[3] != 0) return kg_err_set(KG_ERR_BAD_INPUT, "mpc node message: reserved byte is not 0");
    if (!type_known(in[1]))
        return kg_err_set(KG_ERR_BAD_INPUT, "mpc node message: unknown type 0x%02x", in[1]);
    if (in[1] != KG_MPC_NODE_ERROR && !kg_mpc_group_valid((kg_mpc_group_id)in[2]))
        return kg_err_set(KG_ERR_BAD_INPUT, "mpc node message: unknown scheme %u", in[2]);
    uint32_t bl = (uint32_t)in[36] << 24 | (uint32_t)in[37] << 16 | (uint32_t)in[38] << 8 | in[39];
    if (bl != len - KG_MPC_NODE_HEADER_BYTES)
        return kg_err_set(KG_ERR_BAD_INPUT, "mpc node message: body length %u does not match %zu bytes",
                          bl, len - KG_MPC_NODE_HEADER_BYTES);
    out->type = in[1];
    out->scheme = in[2];
    memcpy(out->session, in + 4, KG_MPC_NET_SESSION_ID_BYTES);
    out->body = in + KG_MPC_NODE_HEADER_BYTES;
    out->body_len = bl;
    return KG_OK;
}

kg_err kg_mpc_node_error_encode(kg_bytes *out, const uint8_t session[static KG_MPC_NET_SESSION_ID_BYTES],
                                kg_err err, const char *detail)
{
    uint8_t body[2 + 256];
    size_t dl = detail ? strnlen(detail, 256) : 0;
    body[0] = (uint8_t)((unsigned)err >> 8);
    body[1] = (uint8_t)err;
    if (dl) memcpy(body + 2, detail, dl);
    kg_mpc_node_msg m = {.type = KG_MPC_NODE_ERROR, .scheme = 0, .body = body, .body_len = 2 + dl};
    memcpy(m.session, session, KG_MPC_NET_SESSION_ID_BYTES);
    return kg_mpc_node_msg_encode(out, &m);
}

kg_err kg_mpc_node_error_decode(const kg_mpc_node_msg *m, uint32_t node)
{
    if (m->type != KG_MPC_NODE_ERROR || m->body_len < 2)
        return kg_err_set(KG_ERR_BAD_INPUT, "node %u sent a malformed error", node);
    unsigned code = (unsigned)m->body[0] << 8 | m->body[1];
    char text[257];
    size_t n = m->body_len - 2 > 256 ? 256 : m->body_len - 2;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = m->body[2 + i];
        text[i] = (c >= 0x20 && c < 0x7F) ? (char)c : '?';
    }
    text[n] = 0;
    kg_err e = code > KG_OK && code < KG_ERR_COUNT_ ? (kg_err)code : KG_ERR_INTERNAL;
    return kg_err_set(e, "node %u: %s", node, text);
}

/* ---------------------------------------------------------------- reader */

void kg_mpc_node_rd_init(kg_mpc_node_rd *r, const uint8_t *p, size_t len)
{
    r->p = p;
    r->left = p ? len : 0;
    r->bad = false;
}

const uint8_t *kg_mpc_node_rd_fixed(kg_mpc_node_rd *r, size_t len)
{
    if (r->bad || len > r->left) { r->bad = true; return NULL; }
    const uint8_t *p = r->p;
    r->p += len;
    r->left -= len;
    return p;
}

uint16_t kg_mpc_node_rd_u16(kg_mpc_node_rd *r)
{
    const uint8_t *p = kg_mpc_node_rd_fixed(r, 2);
    return p ? (uint16_t)(p[0] << 8 | p[1]) : 0;
}

const uint8_t *kg_mpc_node_rd_blob(kg_mpc_node_rd *r, size_t *len, size_t max)
{
    *len = 0;
    const uint8_t *p = kg_mpc_node_rd_fixed(r, 4);
    if (!p) return NULL;
    uint32_t n = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    if (n > max) { r->bad = true; return NULL; }
    const uint8_t *b = kg_mpc_node_rd_fixed(r, n);
    if (b) *len = n;
    return b;
}

kg_err kg_mpc_node_rd_end(const kg_mpc_node_rd *r, const char *what)
{
    if (r->bad) return kg_err_set(KG_ERR_BAD_INPUT, "%s: truncated or oversized field", what);
    if (r->left) return kg_err_set(KG_ERR_BAD_INPUT, "%s: %zu trailing bytes", what, r->left);
    return KG_OK;
}

/* ---------------------------------------------------------------- writer */

void kg_mpc_node_wr_fixed(kg_mpc_node_wr *w, const uint8_t *p, size_t len)
{
    if (w->bad) return;
    if (w->b.len + len > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap < w->b.len + len) cap *= 2;
        uint8_t *n = realloc(w->b.data, cap);
        if (!n) { w->bad = true; return; }
        w->b.data = n;
        w->cap = cap;
    }
    if (len) memcpy(w->b.data + w->b.len, p, len);
    w->b.len += len;
}

void kg_mpc_node_wr_u16(kg_mpc_node_wr *w, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    kg_mpc_node_wr_fixed(w, b, 2);
}

void kg_mpc_node_wr_blob(kg_mpc_node_wr *w, const uint8_t *p, size_t len)
{
    uint32_t n = (uint32_t)len;
    uint8_t b[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    kg_mpc_node_wr_fixed(w, b, 4);
    kg_mpc_node_wr_fixed(w, p, len);
}

kg_err kg_mpc_node_wr_done(kg_mpc_node_wr *w)
{
    if (!w->bad) return KG_OK;
    kg_bytes_free(&w->b);
    w->cap = 0;
    return kg_err_set(KG_ERR_NOMEM, "out of memory building an mpc node message");
}
