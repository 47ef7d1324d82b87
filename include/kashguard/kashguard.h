/* KashGuard: the umbrella header.
 *
 * Rules that hold for every public header below:
 *  - Names: functions kg_<module>_<noun>_<verb>(), types kg_<module>_<noun>;
 *    kg_err, kg_bytes and kg_secret are shared by every layer.
 *  - Argument order: context, outputs, in/out, inputs; a length comes right
 *    after its array.
 *  - Functions return kg_err (KG_OK = 0). On error, outputs are left empty
 *    (NULL pointers, zero lengths) and no state has changed.
 *  - No pointer may be NULL unless its documentation says so; breaking that
 *    is a caller bug (KG_ARG_CHECK), not a runtime error.
 *  - Secrets live in kg_secret (guarded memory) and never reach a log. */
#ifndef KASHGUARD_H
#define KASHGUARD_H

#include "err.h"
#include "base.h"
#include "crypto.h"
#include "store.h"
#include "kms.h"
#include "server.h"
#include "cli.h"

#endif
