/* Pure policy helpers of the KMS module (policy_rules.c): validation of a
 * policy document, glob matching and rule evaluation. No store, no lock, no
 * KMS handle, so the rules can be tested on their own and reused by a future
 * MPC node that re-checks a request. policy.c wraps them with the store. */
#ifndef KASHGUARD_KMS_POLICY_INT_H
#define KASHGUARD_KMS_POLICY_INT_H

#include <stdbool.h>
#include "kashguard/base.h"

/** Longest key pattern and the most rules a policy may hold. */
#define KMS_POLICY_PATTERN_MAX 256
#define KMS_POLICY_RULES_MAX 256
#define KMS_POLICY_NAME_MAX 64

/** 1..64 characters of [a-z0-9_-]. Does not reject the reserved "root". */
bool kms_policy_name_valid(const char *name);

/** True for a known action name (not "*"); *global says whether it is a
 *  global action (list-keys, seal, ...) rather than a key action. */
bool kms_action_known(const char *action, bool *global);

/** Glob match: '*' matches any run of characters (also empty), '?' exactly
 *  one; everything else matches itself. Linear-space, no recursion. */
bool kms_glob_match(const char *pattern, const char *s);

/** Validate a policy document from a client and return its normalised form
 *  {"name":…,"rules":[{"keys"?:[…],"actions":[…]}…]} in *norm.
 *  KG_ERR_BAD_INPUT with a message naming the offending field, rule and
 *  value ("rules[1].actions[0]: unknown action 'sgin'; ..."). */
kg_err kms_policy_validate(json_t **norm, const json_t *doc) KG_WARN_UNUSED;

/** Does one (valid, normalised) policy allow action? For key actions pass the
 *  key's id and alias (either may be NULL, e.g. create-key without alias);
 *  both are ignored for global actions. */
bool kms_policy_allows(const json_t *policy, const char *action,
                       const char *key_id, const char *alias);

#endif
