/* KashGuard mpc layer: the umbrella header. Each area has its own
 * sub-header under include/kashguard/mpc/. */
#ifndef KASHGUARD_MPC_H
#define KASHGUARD_MPC_H

#include "mpc/group.h"
#include "mpc/frost.h"
#include "mpc/frost_tr.h"
#include "mpc/net.h"
#include "mpc/node.h"

#endif
