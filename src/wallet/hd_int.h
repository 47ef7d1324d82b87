/* Private declarations shared by the HD-key files of src/wallet (bip39*.c,
 * bip32.c, slip10.c, descriptor*.c). Not part of the public API. */
#ifndef KASHGUARD_WALLET_HD_INT_H
#define KASHGUARD_WALLET_HD_INT_H

#include "kashguard/wallet/hd.h"

/* One BIP39 list: 2048 NUL-padded words of stride bytes each. */
typedef struct {
    const char *name;
    const char *words;
    size_t stride;
    const char *sep;   /* separator when writing a mnemonic */
} kg_wallet_wordlist;
extern const kg_wallet_wordlist kg_wallet_bip39_lists[KG_WALLET_LANG_COUNT];

/* NFKD data (bip39_nfkd_table.c, generated). */
extern const char kg_wallet_nfkd_unicode_version[];
extern const size_t kg_wallet_nfkd_count;
extern const uint32_t kg_wallet_nfkd_keys[];
extern const uint32_t kg_wallet_nfkd_offs[];
extern const uint32_t kg_wallet_nfkd_data[];
extern const size_t kg_wallet_ccc_count;
extern const uint32_t kg_wallet_ccc_ranges[][3];

/* SLIP-10 internals (slip10.c) used by bip32.c. */
kg_err kg_wallet_slip10_pubkey(uint8_t pub[static 33], kg_wallet_curve curve, const uint8_t priv[static 32]);

#endif
