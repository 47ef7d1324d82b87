/* The server's HSM fleet registrations in its kg_store, their re-adding at
 * start, PINs from files or the environment, and HMS events as audit
 * entries.
 *
 *   hsm/members/<name>  {"name","module","token","pin_file"|"pin_env","registered_at"}
 *   hsm/groups/<name>   {"name","members":[...],"created_at"}
 *
 * A registration is written after the HMS accepted it (module loaded, token
 * opened, PIN right) and before the API answers, so an acknowledged member
 * survives a restart. The record holds where the PIN comes from (a file
 * path or an environment variable name), never the PIN: the PIN is read
 * again at every start, so rotating it is editing that file.
 *
 * At start (before the KMS opens, so HSM keys are usable as soon as it
 * unseals) every member is re-added with must_open = false: a token that
 * is away is registered "down" with the reason and the probes bring it
 * back. A member whose PIN cannot be read is skipped with a log line
 * rather than registered with a wrong PIN, which a probe loop would retry
 * until the token locks the PIN. Groups are re-opened after the members. */
#include "server_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PIN_MAX 256

/* The first line of path, without its line end. */
static kg_err pin_from_file(kg_secret **out, const char *path, const char *what)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return kg_err_set(KG_ERR_BAD_INPUT, "cannot read the PIN file %.200s of %s: %s", path, what,
                          strerror(errno));
    char buf[PIN_MAX + 2];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    size_t len = strcspn(buf, "\r\n");
    kg_err e = KG_OK;
    if (len == 0 || len > PIN_MAX)
        e = kg_err_set(KG_ERR_BAD_INPUT, "the PIN file %.200s of %s is empty or longer than %d bytes", path, what,
                       PIN_MAX);
    else if ((*out = kg_secret_from((const uint8_t *)buf, len)) == NULL)
        e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    kg_wipe(buf, sizeof buf);
    return e;
}

kg_err kg_server_pin_read(kg_secret **out, const char *file, const char *env, const char *what)
{
    *out = NULL;
    if ((file == NULL) == (env == NULL))
        return kg_err_set(KG_ERR_BAD_INPUT, "%s needs exactly one of pin_file and pin_env", what);
    if (file != NULL)
        return pin_from_file(out, file, what);
    const char *v = getenv(env);
    if (v == NULL || v[0] == '\0' || strlen(v) > PIN_MAX)
        return kg_err_set(KG_ERR_BAD_INPUT, "the environment variable %.64s (the PIN of %s) is %s", env, what,
                          v == NULL ? "not set in the server's environment" : "empty or too long");
    *out = kg_secret_from((const uint8_t *)v, strlen(v));
    return *out ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
}

kg_err kg_server_hsm_member_put(kg_server *srv, const char *name, const char *module, const char *token,
                                const char *pin_file, const char *pin_env)
{
    char rec[128];
    snprintf(rec, sizeof rec, "hsm/members/%.64s", name);
    json_t *o = json_pack("{s:s, s:s, s:s, s:I}", "name", name, "module", module, "token", token,
                          "registered_at", (json_int_t)time(NULL));
    if (o != NULL && pin_file != NULL)
        json_object_set_new(o, "pin_file", json_string(pin_file));
    if (o != NULL && pin_env != NULL)
        json_object_set_new(o, "pin_env", json_string(pin_env));
    kg_err e = o ? kg_store_put_json(srv->store, NULL, rec, o) : kg_err_set(KG_ERR_NOMEM, "out of memory");
    json_decref(o);
    return e;
}

kg_err kg_server_hsm_member_delete(kg_server *srv, const char *name, bool *existed)
{
    char rec[128];
    snprintf(rec, sizeof rec, "hsm/members/%.64s", name);
    *existed = false;
    kg_err e = kg_store_delete(srv->store, NULL, rec);
    if (e == KG_OK)
        *existed = true;
    return e == KG_ERR_NOT_FOUND ? KG_OK : e;
}

kg_err kg_server_hsm_group_put(kg_server *srv, const char *name, const json_t *members)
{
    char rec[128];
    snprintf(rec, sizeof rec, "hsm/groups/%.64s", name);
    json_t *o = json_pack("{s:s, s:O, s:I}", "name", name, "members", (json_t *)members, "created_at",
                          (json_int_t)time(NULL));
    kg_err e = o ? kg_store_put_json(srv->store, NULL, rec, o) : kg_err_set(KG_ERR_NOMEM, "out of memory");
    json_decref(o);
    return e;
}

/* One stored member back into the HMS. */
static int load_member(void *arg, const char *key, const uint8_t *val, size_t val_len)
{
    kg_server *srv = arg;
    json_t *o = NULL;
    const char *name = NULL, *module = NULL, *token = NULL, *pin_file = NULL, *pin_env = NULL;
    kg_secret *pin = NULL;
    kg_err e = kg_json_parse_object(&o, (const char *)val, val_len);
    if (e == KG_OK)
        e = kg_json_get_str(&name, o, "name", true);
    if (e == KG_OK)
        e = kg_json_get_str(&module, o, "module", true);
    if (e == KG_OK)
        e = kg_json_get_str(&token, o, "token", true);
    if (e == KG_OK)
        e = kg_json_get_str(&pin_file, o, "pin_file", false);
    if (e == KG_OK)
        e = kg_json_get_str(&pin_env, o, "pin_env", false);
    char what[128];
    snprintf(what, sizeof what, "HSM member %.64s", name ? name : key);
    if (e == KG_OK)
        e = kg_server_pin_read(&pin, pin_file, pin_env, what);
    if (e == KG_OK)
        e = kg_hms_member_add(srv->hms, name, module, token, pin, false);
    if (e != KG_OK)
        kg_log(KG_LOG_ERROR, "stored HSM member not re-added", "record", key, "detail", kg_err_detail(e), NULL);
    else
        kg_log(KG_LOG_INFO, "HSM member re-added", "member", name, "token", token, NULL);
    kg_secret_free(pin);
    json_decref(o);
    return 0; /* go on with the others */
}

/* One stored group back into the HMS (after its members). */
static int load_group(void *arg, const char *key, const uint8_t *val, size_t val_len)
{
    kg_server *srv = arg;
    json_t *o = NULL;
    const char *name = NULL, *names[64];
    size_t n = 0;
    kg_err e = kg_json_parse_object(&o, (const char *)val, val_len);
    if (e == KG_OK)
        e = kg_json_get_str(&name, o, "name", true);
    const json_t *arr = json_object_get(o, "members");
    if (e == KG_OK && (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > 64))
        e = kg_err_set(KG_ERR_BAD_INPUT, "bad members list");
    for (; e == KG_OK && n < json_array_size(arr); n++)
        if ((names[n] = json_string_value(json_array_get(arr, n))) == NULL)
            e = kg_err_set(KG_ERR_BAD_INPUT, "bad member name");
    if (e == KG_OK)
        e = kg_hms_group_create(srv->hms, name, names, n);
    if (e != KG_OK)
        kg_log(KG_LOG_ERROR, "stored HSM group not re-opened", "record", key, "detail", kg_err_detail(e), NULL);
    json_decref(o);
    return 0;
}

void kg_server_hsm_load(kg_server *srv)
{
    kg_err e = kg_store_list(srv->store, NULL, "hsm/members/", NULL, 0, load_member, srv);
    if (e != KG_OK)
        kg_log(KG_LOG_ERROR, "cannot list the stored HSM members", "detail", kg_err_detail(e), NULL);
    e = kg_store_list(srv->store, NULL, "hsm/groups/", NULL, 0, load_group, srv);
    if (e != KG_OK)
        kg_log(KG_LOG_ERROR, "cannot list the stored HSM groups", "detail", kg_err_detail(e), NULL);
}

void kg_server_hsm_event(void *ctx, const char *event, const char *member, const char *group, const char *state,
                         const char *reason)
{
    kg_server *srv = ctx;
    char now[21];
    kg_time_rfc3339(now, kg_now());
    json_t *e = json_pack("{s:s, s:s, s:s}", "type", "hsm_event", "time", now, "event", event ? event : "");
    if (e == NULL)
        return;
    const char *const f[][2] = { { "member", member }, { "group", group }, { "state", state }, { "reason", reason } };
    for (size_t i = 0; i < 4; i++)
        if (f[i][1] != NULL)
            json_object_set_new(e, f[i][0], json_string(f[i][1]));
    kg_log(KG_LOG_INFO, "hsm event", "event", event ? event : "", "member", member ? member : "", "group",
           group ? group : "", "state", state ? state : "", "reason", reason ? reason : "", NULL);
    pthread_mutex_lock(&srv->event_mu);
    kg_err err = srv->kms_events ? kg_kms_audit_append(srv->kms, e) : KG_OK;
    pthread_mutex_unlock(&srv->event_mu);
    if (err != KG_OK)
        kg_log(KG_LOG_ERROR, "could not audit an HSM event", "event", event ? event : "", "detail",
               kg_err_detail(err), NULL);
    json_decref(e);
}
