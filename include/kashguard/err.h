/* KashGuard error codes: the one list every layer shares.
 *
 * Each error is defined once in KG_ERRORS. From that single list come the
 * kg_err enum, the snake_case code the REST API returns in
 * {"error":{"code":...}}, the HTTP status, and the default text. A code
 * cannot be added to one of these and forgotten in another.
 *
 * The default text names the class of error; the specifics of one call
 * ("key 'payments' is disabled; enable it with `kashguard key enable
 * payments`") go into the per-thread detail set by kg_err_set(). */
#ifndef KASHGUARD_ERR_H
#define KASHGUARD_ERR_H

#include <stdarg.h>

#define KG_ERRORS(X) \
    X(KG_OK,                  "ok",                 200, "success") \
    X(KG_ERR_BAD_INPUT,       "bad_input",          400, "the request is malformed") \
    X(KG_ERR_BAD_JSON,        "bad_json",           400, "the request body is not valid JSON") \
    X(KG_ERR_TOO_LARGE,       "too_large",          413, "the request is too large") \
    X(KG_ERR_UNAUTHENTICATED, "unauthenticated",    401, "a valid token is required") \
    X(KG_ERR_DENIED,          "permission_denied",  403, "the token's policies do not allow this") \
    X(KG_ERR_NOT_FOUND,       "not_found",          404, "no such resource") \
    X(KG_ERR_METHOD,          "method_not_allowed", 405, "method not allowed on this path") \
    X(KG_ERR_CONFLICT,        "conflict",           409, "the resource already exists or changed") \
    X(KG_ERR_KEY_DISABLED,    "key_disabled",       409, "the key is disabled") \
    X(KG_ERR_KEY_PENDING_DELETION, "key_pending_deletion", 409, "the key is scheduled for deletion") \
    X(KG_ERR_KEY_DESTROYED,   "key_destroyed",      410, "the key material was destroyed") \
    X(KG_ERR_WRONG_KEY_USAGE, "wrong_key_usage",    400, "the key's spec does not support this operation") \
    X(KG_ERR_DECRYPT,         "decryption_failed",  400, "the ciphertext or its context is wrong") \
    X(KG_ERR_VERIFY,          "invalid_signature",  400, "the signature is not valid") \
    X(KG_ERR_ALREADY_INIT,    "already_initialized",409, "the server is already initialized") \
    X(KG_ERR_NOT_INIT,        "not_initialized",    503, "the server is not initialized; run `kashguard operator init`") \
    X(KG_ERR_SEALED,          "sealed",             503, "the server is sealed; unseal it with `kashguard operator unseal`") \
    X(KG_ERR_UNSEAL_KEY,      "bad_unseal_key",     400, "the unseal key is not valid") \
    X(KG_ERR_AUDIT,           "audit_failed",       500, "the request could not be recorded in the audit log") \
    X(KG_ERR_AUDIT_TAMPERED,  "audit_tampered",     422, "the audit log failed verification") \
    X(KG_ERR_STORE,           "store_failed",       500, "the storage backend failed") \
    X(KG_ERR_CRYPTO,          "crypto_failed",      500, "a cryptographic operation failed") \
    X(KG_ERR_NOMEM,           "out_of_memory",      500, "out of memory") \
    X(KG_ERR_IO,              "io_failed",          500, "an I/O operation failed") \
    X(KG_ERR_NETWORK,         "network_failed",     502, "could not reach the server") \
    X(KG_ERR_INTERNAL,        "internal",           500, "internal error") \
    X(KG_ERR_ARG,             "illegal_argument",   500, "a caller broke an API contract")

typedef enum {
#define KG_ERR_ENUM_(name, code, status, text) name,
    KG_ERRORS(KG_ERR_ENUM_)
#undef KG_ERR_ENUM_
    KG_ERR_COUNT_
} kg_err;

#if defined(__GNUC__)
#define KG_WARN_UNUSED __attribute__((warn_unused_result))
#define KG_NONNULL(...) __attribute__((nonnull(__VA_ARGS__)))
#define KG_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define KG_WARN_UNUSED
#define KG_NONNULL(...)
#define KG_PRINTF(f, a)
#endif

/** The snake_case code of err for the API ("key_disabled"); never NULL. */
const char *kg_err_code(kg_err err);
/** The HTTP status that goes with err (400, 404, 503, ...). */
int kg_err_http(kg_err err);
/** The default one-line text of err; never NULL. */
const char *kg_err_str(kg_err err);
/** Looks a code string up again (the CLI maps API errors back); KG_ERR_INTERNAL if unknown. */
kg_err kg_err_from_code(const char *code);

/** Record the specifics of an error for this thread and return err, so that
 *  `return kg_err_set(KG_ERR_NOT_FOUND, "no key '%s'", alias);` reads well.
 *  CR and LF in the formatted text are replaced by spaces (echoed input must
 *  not forge log lines). Never put secret material in the text. */
kg_err kg_err_set(kg_err err, const char *fmt, ...) KG_PRINTF(2, 3);
kg_err kg_err_setv(kg_err err, const char *fmt, va_list ap);
/** The detail of this thread's last kg_err_set, or the default text of err
 *  when the last detail was set for a different code. */
const char *kg_err_detail(kg_err err);
/** Forget this thread's detail (call at the start of a request). */
void kg_err_clear(void);

/** Contract violations by our own code (NULL handle, wrong size): the
 *  illegal-argument hook runs (default: print and abort) and the caller
 *  returns KG_ERR_ARG. Network input never takes this path. */
typedef void (*kg_illegal_hook)(const char *what, void *arg);
void kg_set_illegal_hook(kg_illegal_hook hook, void *arg);
void kg_illegal(const char *what);
#define KG_ARG_CHECK(cond) do { if (!(cond)) { kg_illegal(#cond); return KG_ERR_ARG; } } while (0)

#endif
