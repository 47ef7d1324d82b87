/* Wall-clock time, RFC 3339 timestamps and human durations.
 *
 * Timestamps in the API are RFC 3339 UTC with second precision. Durations
 * ("ttl": "30d") are parsed strictly: digits with an optional unit s, m, h or
 * d; no sign, no spaces, no fractions, and a result that fits in int64 --
 * anything else is a clear error rather than a surprising TTL. */
#include <kashguard/base.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

/* 9999-12-31T23:59:59Z: the largest instant with a four-digit year. */
#define KG_TIME_MAX INT64_C(253402300799)

int64_t kg_now(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return (int64_t)time(NULL);
    return (int64_t)ts.tv_sec;
}

void kg_time_rfc3339(char out[static 21], int64_t t)
{
    if (t < 0)
        t = 0;
    if (t > KG_TIME_MAX)
        t = KG_TIME_MAX;
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) != 20)
        memcpy(out, "1970-01-01T00:00:00Z", 21);
}

kg_err kg_duration_parse(int64_t *out_seconds, const char *s)
{
    KG_ARG_CHECK(out_seconds != NULL && s != NULL);
    *out_seconds = 0;
    int64_t v = 0;
    size_t i = 0;
    for (; s[i] >= '0' && s[i] <= '9'; i++) {
        if (v > (INT64_MAX - (s[i] - '0')) / 10)
            return kg_err_set(KG_ERR_BAD_INPUT, "duration '%.32s' is too large", s);
        v = v * 10 + (s[i] - '0');
    }
    if (i == 0)
        return kg_err_set(KG_ERR_BAD_INPUT,
                          "duration '%.32s' is not valid; use a whole number with an optional unit "
                          "s, m, h or d, e.g. \"30d\", \"12h\", \"90m\", \"45s\"", s);
    int64_t mul = 1;
    switch (s[i]) {
    case '\0': break;
    case 's': mul = 1; i++; break;
    case 'm': mul = 60; i++; break;
    case 'h': mul = 3600; i++; break;
    case 'd': mul = 86400; i++; break;
    default:
        return kg_err_set(KG_ERR_BAD_INPUT,
                          "duration '%.32s' has an unknown unit; use s, m, h or d (e.g. \"30d\")", s);
    }
    if (s[i] != '\0')
        return kg_err_set(KG_ERR_BAD_INPUT,
                          "duration '%.32s' has trailing characters; use one number and one unit (e.g. \"12h\")", s);
    if (v > INT64_MAX / mul)
        return kg_err_set(KG_ERR_BAD_INPUT, "duration '%.32s' is too large", s);
    *out_seconds = v * mul;
    return KG_OK;
}
