/* Error codes and per-thread error detail.
 *
 * The tables below are generated from the KG_ERRORS X-macro in err.h, so the
 * enum, the API code string, the HTTP status and the default text can never
 * disagree. A value outside the enum (a caller bug or memory corruption) maps
 * to KG_ERR_INTERNAL rather than reading past the table.
 *
 * The detail ("key 'payments' is disabled; ...") lives in a thread-local
 * buffer together with the code it was set for. kg_err_detail(err) returns it
 * only when asked about that same code, so a stale detail from an earlier,
 * unrelated failure is never shown next to a different error. Control
 * characters (CR, LF, TAB, ...) in the formatted text become spaces so echoed
 * input cannot forge log lines or HTTP headers, and bytes that are not valid
 * UTF-8 (also a sequence cut by truncation) become '?', so the detail always
 * renders as a JSON string.
 *
 * The illegal-argument hook is process-wide and guarded by a mutex; it is
 * normally set once at start-up (or by a test). */
#include <kashguard/err.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KG_ERR_DETAIL_MAX 512

typedef struct {
    const char *code;
    int status;
    const char *text;
} kg_err_info;

static const kg_err_info kg_err_table[] = {
#define KG_ERR_ROW_(name, code, status, text) { code, status, text },
    KG_ERRORS(KG_ERR_ROW_)
#undef KG_ERR_ROW_
};

_Static_assert(sizeof(kg_err_table) / sizeof(kg_err_table[0]) == KG_ERR_COUNT_,
               "one table row per error code");

static _Thread_local char kg_detail_buf[KG_ERR_DETAIL_MAX];
static _Thread_local kg_err kg_detail_code;
static _Thread_local bool kg_detail_set;

static const kg_err_info *err_info(kg_err err)
{
    if ((unsigned)err >= (unsigned)KG_ERR_COUNT_)
        return &kg_err_table[KG_ERR_INTERNAL];
    return &kg_err_table[err];
}

const char *kg_err_code(kg_err err) { return err_info(err)->code; }
int kg_err_http(kg_err err) { return err_info(err)->status; }
const char *kg_err_str(kg_err err) { return err_info(err)->text; }

kg_err kg_err_from_code(const char *code)
{
    if (code == NULL)
        return KG_ERR_INTERNAL;
    for (int i = 0; i < KG_ERR_COUNT_; i++) {
        if (strcmp(kg_err_table[i].code, code) == 0)
            return (kg_err)i;
    }
    return KG_ERR_INTERNAL;
}

/* Length of the valid UTF-8 sequence starting at s (at most n bytes), or 0
 * when it is not valid (overlong, surrogate, > U+10FFFF or cut short). */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t need;
    unsigned min;
    if (c < 0x80) return 1;
    if ((c & 0xE0) == 0xC0) { need = 1; min = 0x80; c &= 0x1F; }
    else if ((c & 0xF0) == 0xE0) { need = 2; min = 0x800; c &= 0x0F; }
    else if ((c & 0xF8) == 0xF0) { need = 3; min = 0x10000; c &= 0x07; }
    else return 0;
    if (need >= n)
        return 0;
    for (size_t i = 1; i <= need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    return need + 1;
}

/* Make the detail safe to echo: control characters become spaces, bytes that
 * are not valid UTF-8 (including a sequence cut by truncation) become '?'. */
static void sanitize_detail(char *buf)
{
    unsigned char *s = (unsigned char *)buf;
    size_t n = strlen(buf);
    for (size_t i = 0; i < n;) {
        if (s[i] < 0x20 || s[i] == 0x7F) {
            s[i++] = ' ';
            continue;
        }
        size_t l = utf8_seq_len(s + i, n - i);
        if (l == 0) {
            s[i++] = '?';
            continue;
        }
        i += l;
    }
}

kg_err kg_err_setv(kg_err err, const char *fmt, va_list ap)
{
    if (fmt == NULL) {
        kg_detail_set = false;
        return err;
    }
    /* Format into a scratch buffer first: callers often pass the current
     * detail (kg_err_detail) as an argument, which must not overlap the
     * buffer vsnprintf writes. */
    char tmp[sizeof(kg_detail_buf)];
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    if (n < 0) {
        kg_detail_set = false;
        return err;
    }
    memcpy(kg_detail_buf, tmp, sizeof(tmp));
    sanitize_detail(kg_detail_buf);
    kg_detail_code = err;
    kg_detail_set = true;
    return err;
}

kg_err kg_err_set(kg_err err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kg_err r = kg_err_setv(err, fmt, ap);
    va_end(ap);
    return r;
}

const char *kg_err_detail(kg_err err)
{
    if (kg_detail_set && kg_detail_code == err)
        return kg_detail_buf;
    return kg_err_str(err);
}

void kg_err_clear(void)
{
    kg_detail_set = false;
    kg_detail_buf[0] = '\0';
}

/* ------------------------------------------------- illegal-argument hook */

static void default_illegal_hook(const char *what, void *arg)
{
    (void)arg;
    fprintf(stderr, "kashguard: illegal argument: %s\n", what ? what : "(null)");
    fflush(stderr);
    abort();
}

static pthread_mutex_t kg_hook_lock = PTHREAD_MUTEX_INITIALIZER;
static kg_illegal_hook kg_hook = default_illegal_hook;
static void *kg_hook_arg;

void kg_set_illegal_hook(kg_illegal_hook hook, void *arg)
{
    pthread_mutex_lock(&kg_hook_lock);
    kg_hook = hook ? hook : default_illegal_hook;
    kg_hook_arg = hook ? arg : NULL;
    pthread_mutex_unlock(&kg_hook_lock);
}

void kg_illegal(const char *what)
{
    pthread_mutex_lock(&kg_hook_lock);
    kg_illegal_hook hook = kg_hook;
    void *arg = kg_hook_arg;
    pthread_mutex_unlock(&kg_hook_lock);
    hook(what, arg);
}
