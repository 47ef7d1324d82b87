/* KashGuard wallet storage: the self-custody wallet's encrypted wallet files
 * and Web3 Secret Storage (Ethereum keystore v3) import/export.
 *
 * Wallet files (docs in src/wallet/wfile.c): a directory of wallets, one
 * file NAME.kgw per wallet, JSON:
 *   {"version":1,"name":"main","created_at":"2026-...Z",
 *    "kdf":{"alg":"argon2id","ops":3,"mem":67108864,"salt":b64(16)},
 *    "cipher":{"alg":"xchacha20poly1305","nonce":b64(24)},
 *    "ciphertext":b64, "public":{...optional, non-secret}}
 * The key is Argon2id(passphrase, salt, ops, mem); the AEAD's associated data
 * binds version, name, created_at, the kdf parameters and the "public"
 * object, so none of them can be edited without the open failing. The
 * plaintext keeps what a backup needs: the BIP39 entropy, its wordlist
 * language and the optional BIP39 passphrase (mnemonic wallets), or the raw
 * BIP32 seed (imported seeds). The seed is re-derived on every open.
 *
 * Argon2id: ops 3, mem 64 MiB by default. KASHGUARD_WALLET_KDF=fast (ops 1,
 * mem 64 KiB) is FOR TESTS ONLY: it makes a passphrase cheap to guess.
 *
 * Every write is atomic (NAME.kgw.tmp, O_EXCL, 0600, fsync, rename, fsync
 * of the directory), so a crash leaves the old file or the new one.
 *
 * Passphrases are NUL-terminated UTF-8; the caller normalises them (NFKD)
 * if it wants BIP39's rule for the BIP39 passphrase.
 *
 * Keystore v3 (docs in src/wallet/keystore_v3.c): scrypt or PBKDF2-SHA256,
 * AES-128-CTR, MAC = Keccak-256(dk[16..32] || ciphertext), for one
 * secp256k1 private key. */
#ifndef KASHGUARD_WALLET_STORE_H
#define KASHGUARD_WALLET_STORE_H

#include "../base.h"

/* ========================================================= wallet files */

#define KG_WALLET_NAME_MAX 64           /* [A-Za-z0-9._-], not starting with '.' */
#define KG_WALLET_FILE_MAX_BYTES 65536  /* a wallet file larger than this is refused */
#define KG_WALLET_PASSPHRASE_MAX 1024   /* bytes, for both passphrases */
#define KG_WALLET_SEED_MIN_BYTES 16     /* raw seeds: BIP32 allows 16..64 bytes */
#define KG_WALLET_SEED_MAX_BYTES 64

typedef enum {
    KG_WALLET_KIND_MNEMONIC = 1, /* BIP39 entropy + language + optional BIP39 passphrase */
    KG_WALLET_KIND_SEED = 2,     /* an imported raw BIP32 seed */
    KG_WALLET_KIND_KEY = 3       /* one secp256k1 private key (imported keystore v3); not HD */
} kg_wallet_kind;

/** Options of the create calls. dir NULL = kg_wallet_dir_default(). */
typedef struct {
    const char *dir;              /* wallet directory; created 0700 if missing */
    const char *name;             /* wallet name (file NAME.kgw) */
    const char *passphrase;       /* encrypts the file; must not be empty */
    const char *bip39_passphrase; /* mnemonic wallets: the "25th word"; NULL = none */
    const json_t *public_meta;    /* optional non-secret metadata (xpubs...); copied */
    bool overwrite;               /* replace an existing wallet of that name */
} kg_wallet_create_opts;

/** A wallet decrypted by kg_wallet_file_open. Free with kg_wallet_unlocked_free. */
typedef struct {
    char name[KG_WALLET_NAME_MAX + 1];
    int64_t created_at;           /* seconds since the epoch */
    kg_wallet_kind kind;
    char language[32];            /* BIP39 wordlist ("english", hd.h names); "" for seed wallets */
    kg_secret *entropy;           /* BIP39 entropy (16..32 bytes); NULL for seed wallets */
    kg_secret *bip39_passphrase;  /* may be 0 bytes; NULL for seed wallets */
    kg_secret *seed;              /* the BIP32 seed: BIP39 seed (64 bytes) or the raw seed; NULL for key wallets */
    json_t *public_meta;          /* the "public" object, or NULL */
    kg_secret *key;               /* KG_WALLET_KIND_KEY: the 32-byte secp256k1 private key; else NULL */
} kg_wallet_unlocked;

/** The default wallet directory: $KASHGUARD_WALLET_DIR if set and not empty,
 *  else $HOME/.kashguard/wallets. *out is malloc'd (free()).
 *  Returns KG_OK | KG_ERR_BAD_INPUT (no HOME) | KG_ERR_NOMEM. */
kg_err kg_wallet_dir_default(char **out) KG_WARN_UNUSED;

/** Check a wallet name: 1..KG_WALLET_NAME_MAX of [A-Za-z0-9._-], not
 *  starting with '.'. Returns KG_OK | KG_ERR_BAD_INPUT (the detail says why). */
kg_err kg_wallet_name_check(const char *name) KG_WARN_UNUSED;

/** Create a mnemonic wallet from BIP39 entropy (16, 20, 24, 28 or 32 bytes)
 *  and a wordlist language (NULL = "english").
 *  Returns KG_OK | KG_ERR_BAD_INPUT | KG_ERR_CONFLICT (exists and not
 *  opts->overwrite) | KG_ERR_IO | KG_ERR_CRYPTO | KG_ERR_NOMEM.
 *  Secrets: entropy and passphrases are only read; temporaries are wiped. */
kg_err kg_wallet_file_create_entropy(const kg_wallet_create_opts *opts, const char *language,
                                     const uint8_t *entropy, size_t entropy_len) KG_WARN_UNUSED;
/** Create a mnemonic wallet from a BIP39 mnemonic (English; checksum checked). */
kg_err kg_wallet_file_create_mnemonic(const kg_wallet_create_opts *opts,
                                      const char *mnemonic) KG_WARN_UNUSED;
/** Create a wallet from a raw BIP32 seed (16..64 bytes); opts->bip39_passphrase must be NULL. */
kg_err kg_wallet_file_create_seed(const kg_wallet_create_opts *opts,
                                  const kg_secret *seed) KG_WARN_UNUSED;

/** Create a single-key wallet from a 32-byte secp256k1 private key (what
 *  a keystore v3 file holds); opts->bip39_passphrase must be NULL. Its
 *  "public" object gets "kind":"key" (and no fingerprint: it is not HD).
 *  Returns as kg_wallet_file_create_entropy, KG_ERR_BAD_INPUT for an
 *  invalid key. */
kg_err kg_wallet_file_create_key(const kg_wallet_create_opts *opts,
                                 const kg_secret *priv) KG_WARN_UNUSED;

/** Decrypt wallet `name` of dir (NULL = default). *out is a new
 *  kg_wallet_unlocked. Returns KG_OK | KG_ERR_NOT_FOUND | KG_ERR_DECRYPT
 *  ("wrong passphrase for wallet 'x'", also when the file was edited) |
 *  KG_ERR_BAD_INPUT (not a wallet file, absurd kdf parameters) | KG_ERR_IO. */
kg_err kg_wallet_file_open(kg_wallet_unlocked **out, const char *dir, const char *name,
                           const char *passphrase) KG_WARN_UNUSED;
/** Wipe and free; NULL is ignored. */
void kg_wallet_unlocked_free(kg_wallet_unlocked *w);

/** The wallets of dir (NULL = default), sorted by name, without decrypting:
 *  *out = {"wallets":[{"name","created_at","public"?},...]}. The "public"
 *  object is shown as stored: it is authenticated only by an open.
 *  A missing directory is an empty list. Files that do not parse are listed
 *  with "error":"...". Returns KG_OK | KG_ERR_IO | KG_ERR_NOMEM. */
kg_err kg_wallet_file_list(json_t **out, const char *dir) KG_WARN_UNUSED;

/** Re-encrypt wallet `name` under new_passphrase (fresh salt and nonce,
 *  the current default kdf parameters), atomically. Returns as open, plus
 *  KG_ERR_BAD_INPUT for an empty new passphrase. A wrong old passphrase
 *  changes nothing. */
kg_err kg_wallet_file_change_passphrase(const char *dir, const char *name, const char *old_passphrase,
                                        const char *new_passphrase) KG_WARN_UNUSED;

/** Delete wallet `name` after proving the passphrase (so a typo in the name
 *  cannot delete another wallet). KG_OK | as open. */
kg_err kg_wallet_file_delete(const char *dir, const char *name,
                             const char *passphrase) KG_WARN_UNUSED;

/* ========================================================= keystore v3 */

typedef enum { KG_WALLET_KEYSTORE_SCRYPT, KG_WALLET_KEYSTORE_PBKDF2 } kg_wallet_keystore_kdf;

/** KDF parameters for export. Import accepts: scrypt N a power of two in
 *  2..2^20, r 1..32, p 1..16, 128*N*r <= 256 MiB, N*r*p <= 2^22; PBKDF2
 *  c 1..10,000,000 with prf hmac-sha256; dklen 32; salt 8..64 bytes. */
typedef struct {
    kg_wallet_keystore_kdf kdf;
    uint64_t n;   /* scrypt */
    uint32_t r;   /* scrypt */
    uint32_t p;   /* scrypt */
    uint32_t c;   /* pbkdf2 */
} kg_wallet_keystore_params;

/** Geth's standard parameters: scrypt N=2^18 r=8 p=1, or PBKDF2 c=262144. */
void kg_wallet_keystore_params_default(kg_wallet_keystore_params *p, kg_wallet_keystore_kdf kdf);

/** Decrypt a keystore v3 JSON document (json_len bytes, at most 64 KiB)
 *  into the 32-byte secp256k1 private key. address (may be NULL) gets the
 *  20-byte Ethereum address of the key. The document's "address", when
 *  present, must match the key.
 *  Returns KG_OK | KG_ERR_BAD_JSON | KG_ERR_BAD_INPUT (malformed, unsupported
 *  or absurd parameters: the detail names the field) | KG_ERR_DECRYPT
 *  ("wrong password", MAC compared in constant time) | KG_ERR_CRYPTO.
 *  Secrets: constant time in the key and password as far as the KDFs are. */
kg_err kg_wallet_keystore_import(kg_secret **priv, uint8_t *address,
                                 const char *json, size_t json_len,
                                 const char *password, size_t password_len) KG_WARN_UNUSED;

/** Encrypt a 32-byte secp256k1 private key as a keystore v3 document
 *  (fresh salt, IV and UUID v4; "address" without 0x). *json is malloc'd
 *  and NUL-terminated (free()). p NULL = scrypt defaults.
 *  Returns KG_OK | KG_ERR_BAD_INPUT (not a valid key, params out of the
 *  import bounds) | KG_ERR_CRYPTO | KG_ERR_NOMEM. */
kg_err kg_wallet_keystore_export(char **json, const kg_secret *priv,
                                 const char *password, size_t password_len,
                                 const kg_wallet_keystore_params *p) KG_WARN_UNUSED;

#endif
