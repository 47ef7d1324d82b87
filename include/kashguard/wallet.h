/* KashGuard wallet layer: the umbrella header of include/kashguard/wallet/. */
#ifndef KASHGUARD_WALLET_H
#define KASHGUARD_WALLET_H

#include "wallet/store.h"
#include "wallet/signers.h"
#include "wallet/hd.h"

#endif
