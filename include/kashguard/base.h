/* KashGuard base layer: bytes and encodings, guarded secret memory, JSON
 * helpers and structured logging. Everything above uses these; this layer
 * uses only libc, libsodium (secret memory, constant-time helpers) and
 * jansson.
 *
 * Conventions for every public header of KashGuard (see kashguard.h):
 * arguments go context, outputs, in/out, inputs, with a length right after
 * its array; functions return kg_err (0 = ok); outputs are zeroed on error. */
#ifndef KASHGUARD_BASE_H
#define KASHGUARD_BASE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <jansson.h>
#include "err.h"

/* ---------------------------------------------------------------- bytes */

/** A heap byte buffer owned by its holder. Not for secrets (see kg_secret). */
typedef struct {
    uint8_t *data;
    size_t len;
} kg_bytes;

/** Copy len bytes of data into a new buffer. Returns KG_OK | KG_ERR_NOMEM. */
kg_err kg_bytes_set(kg_bytes *out, const uint8_t *data, size_t len) KG_WARN_UNUSED;
/** Free b->data and reset b. Safe on a zeroed kg_bytes. */
void kg_bytes_free(kg_bytes *b);

/** Hex-encode in_len bytes into out (2*in_len+1 bytes, NUL-terminated, lower case). */
void kg_hex_encode(char *out, const uint8_t *in, size_t in_len);
/** Decode hex (either case, optional "0x") into out (out_cap bytes); *out_len gets the size.
 *  Returns KG_OK | KG_ERR_BAD_INPUT (odd length, bad digit, too long). */
kg_err kg_hex_decode(uint8_t *out, size_t out_cap, size_t *out_len, const char *hex) KG_WARN_UNUSED;

/** Standard base64 with padding. out must hold kg_b64_encoded_len(in_len) bytes (incl. NUL). */
size_t kg_b64_encoded_len(size_t in_len);
void kg_b64_encode(char *out, const uint8_t *in, size_t in_len);
/** Decode standard base64 (padding required, no whitespace) into a new kg_bytes.
 *  Returns KG_OK | KG_ERR_BAD_INPUT | KG_ERR_NOMEM. Constant time in the data. */
kg_err kg_b64_decode(kg_bytes *out, const char *b64) KG_WARN_UNUSED;

/** Constant-time equality of two byte strings of the same length (1 = equal). */
int kg_ct_equal(const uint8_t *a, const uint8_t *b, size_t len);
/** Wipe memory in a way the compiler cannot remove. */
void kg_wipe(void *p, size_t len);
/** Declare len bytes at p public although computed from secrets (a
 *  validity flag, an output length). Under Valgrind it marks them defined,
 *  so the constant-time test (tests/ctime) flags only branches and indexes
 *  on data that is really secret; otherwise it does nothing. */
void kg_declassify(const void *p, size_t len);

/* ------------------------------------------------------- secret memory */

/** A secret held in guarded memory (sodium_malloc: guard pages, canary,
 *  mlock, MADV_DONTDUMP). Wiped when freed. Never log its contents. */
typedef struct kg_secret kg_secret;

/** Allocate a zeroed secret of len bytes (len may be 0). Returns NULL when out of memory. */
kg_secret *kg_secret_new(size_t len);
/** A new secret holding a copy of data. NULL when out of memory. */
kg_secret *kg_secret_from(const uint8_t *data, size_t len);
/** Wipe and free; NULL is ignored. */
void kg_secret_free(kg_secret *s);
uint8_t *kg_secret_data(kg_secret *s);
const uint8_t *kg_secret_cdata(const kg_secret *s);
size_t kg_secret_len(const kg_secret *s);

/* ------------------------------------------------------------------ JSON */

/** Deepest nesting kg_json_parse_object accepts (an empty object is depth 1). */
#define KG_JSON_MAX_DEPTH 32

/** Parse a JSON object from a buffer (at most KG_JSON_MAX_DEPTH deep; duplicate
 *  keys and NUL characters in strings are rejected). Returns
 *  KG_OK | KG_ERR_BAD_JSON (with a detail naming line and column) |
 *  KG_ERR_BAD_INPUT (not an object). */
kg_err kg_json_parse_object(json_t **out, const char *buf, size_t len) KG_WARN_UNUSED;

/** Typed field getters. A missing optional field leaves *out unchanged and
 *  returns KG_OK; a missing required field or a wrong type returns
 *  KG_ERR_BAD_INPUT with a detail naming the field ("field 'spec' must be a string").
 *  A JSON null counts as absent. kg_json_get_str's result points into obj and
 *  lives as long as the document. */
kg_err kg_json_get_str(const char **out, const json_t *obj, const char *field, bool required) KG_WARN_UNUSED;
kg_err kg_json_get_int(int64_t *out, const json_t *obj, const char *field, bool required) KG_WARN_UNUSED;
kg_err kg_json_get_bool(bool *out, const json_t *obj, const char *field, bool required) KG_WARN_UNUSED;
/** A base64 field decoded into out (freshly allocated); max_len bounds the decoded size. */
kg_err kg_json_get_b64(kg_bytes *out, const json_t *obj, const char *field, bool required,
                       size_t max_len) KG_WARN_UNUSED;
/** Reject fields not named in allowed (NULL-terminated list): a typo in a
 *  request is an error, not a silently ignored option. */
kg_err kg_json_check_fields(const json_t *obj, const char *const *allowed) KG_WARN_UNUSED;
/** A new JSON string holding base64 of data (NULL on OOM). */
json_t *kg_json_b64(const uint8_t *data, size_t len);

/* ------------------------------------------------------------- time */

/** Seconds since the Unix epoch. */
int64_t kg_now(void);
/** Format t as RFC 3339 UTC ("2026-11-26T03:31:50Z") into out (at least 21 bytes). */
void kg_time_rfc3339(char out[static 21], int64_t t);
/** Parse a duration like "30d", "12h", "90m", "45s" or plain seconds. */
kg_err kg_duration_parse(int64_t *out_seconds, const char *s) KG_WARN_UNUSED;

/* -------------------------------------------------------------- logging */

typedef enum { KG_LOG_DEBUG, KG_LOG_INFO, KG_LOG_WARN, KG_LOG_ERROR } kg_log_level;

/** Structured logging: one JSON object per line on stderr, e.g.
 *  {"time":"...","level":"info","msg":"server listening","addr":"127.0.0.1:8200"}.
 *  Fields come as key/value string pairs ending with NULL:
 *      kg_log(KG_LOG_INFO, "server listening", "addr", addr, NULL);
 *  Never pass a secret, plaintext or token as a value. */
void kg_log(kg_log_level level, const char *msg, ...);
void kg_log_set_level(kg_log_level min);

#endif
