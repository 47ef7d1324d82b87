/* KashGuard chain layer: the umbrella header. Each chain or area has its
 * own sub-header under include/kashguard/chain/. */
#ifndef KASHGUARD_CHAIN_H
#define KASHGUARD_CHAIN_H

#include "chain/encoding.h"
#include "chain/bitcoin.h"
#include "chain/psbt.h"
#include "chain/ethereum.h"
#include "chain/cosmos.h"
#include "chain/solana.h"

#endif
