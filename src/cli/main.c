/* kashguard's command table and dispatcher (wg.c's shape, Vault's help).
 *
 * ONE table lists every command: its path ("key create"), handler, one-line
 * synopsis, usage tail, help paragraph with `$` examples, option table and
 * positional-argument count. Everything else is derived from it: dispatch
 * (the longest command path matching the leading words of argv), `kashguard
 * help [COMMAND...]`, `COMMAND --help`, the option groups of each help page,
 * and the unit test that checks every command has help. A group word alone
 * ("kashguard key") lists that group's commands.
 *
 * Output contract: help asked for goes to stdout with exit 0; usage printed
 * because of a mistake goes to stderr with exit 1; handlers return 0/1/2. */
#include <string.h>
#include <curl/curl.h>
#include "kashguard/cli.h"
#include "cli_int.h"

#define E "\n\n      $ kashguard "  /* starts an example line */

static const kg_cli_cmd commands[] = {
    {"server", kg_cmd_server, "Start a KashGuard server", "",
     "  Run the KashGuard server in the foreground until SIGINT or SIGTERM. With --dev it\n"
     "  listens on 127.0.0.1 over plain HTTP, keeps its data under --data, initialises and\n"
     "  unseals itself and prints the root token (also written to <data>/root.token).\n"
     "  Flags beat the values of --config.\n\n"
     "  Start a development server:" E "server --dev --data ./kg-dev\n\n"
     "  Start a production server from a config file:" E "server --config /etc/kashguard.conf",
     kg_opts_server, 0, 0, true},
    {"status", kg_cmd_status, "Print whether the server is initialised and sealed", "",
     "  Ask the server whether it is initialised and sealed (GET /v1/sys/health). Exits 0\n"
     "  when it is unsealed and 2 when it is sealed, not initialised or unreachable, so\n"
     "  scripts can wait for it.\n\n"
     "  Check the server at KASHGUARD_ADDR:" E "status",
     NULL, 0, 0, false},
    {"operator init", kg_cmd_operator_init, "Initialise a server: unseal keys and root token", "",
     "  Initialise a new server: create the root key, split its unseal key into --shares\n"
     "  shares of which --threshold unseal, and create the root token. The keys and token\n"
     "  are printed once and never stored in clear: give each share to a different person.\n\n"
     "  Initialise with 5 shares, 3 needed to unseal:" E "operator init --shares 5 --threshold 3",
     kg_opts_operator_init, 0, 0, false},
    {"operator unseal", kg_cmd_operator_unseal, "Submit one unseal key share", "[KEY]",
     "  Submit one unseal key share. Without KEY it is read from a hidden prompt on a\n"
     "  terminal, else from the first line of stdin: a key given as an argument lands in\n"
     "  your shell history. --reset forgets the shares submitted so far.\n\n"
     "  Unseal interactively:" E "operator unseal\n\n"
     "  Unseal from a file (dev server):" E "operator unseal < ./kg-dev/dev-unseal.key",
     kg_opts_operator_unseal, 0, 1, false},
    {"operator seal", kg_cmd_operator_seal, "Seal the server (wipe the root key from memory)", "",
     "  Seal the server: the root key is wiped from memory and every key operation fails\n"
     "  with `sealed` until enough unseal shares are submitted again.\n\n"
     "  Seal the server:" E "operator seal",
     NULL, 0, 0, false},
    {"operator status", kg_cmd_operator_status, "Print the seal status and unseal progress", "",
     "  Print the seal status: initialised, sealed, threshold, shares and the unseal\n"
     "  progress (GET /v1/sys/seal-status).\n\n"
     "  Show the unseal progress:" E "operator status",
     NULL, 0, 0, false},
    {"key create", kg_cmd_key_create, "Create a key", "",
     "  Create a key and print its id. Specs: AES_256 (encrypt/decrypt), HMAC_256 (mac),\n"
     "  ECC_NIST_P256, ECC_SECG_P256K1, ED25519 (sign/verify), RSA_3072, RSA_4096.\n"
     "  With --protection hsm the key is generated inside the HSMs of a group (`kashguard\n"
     "  hsm`) and never leaves them: AES_256, ECC_NIST_P256, ECC_SECG_P256K1, RSA_3072 and\n"
     "  ED25519 where the tokens support it.\n\n"
     "  An HSM signing key in the group main:" E
     "key create --spec ECC_NIST_P256 --protection hsm --hsm-group main\n\n"
     "  Create an AES key for payments data:" E "key create --spec AES_256 --alias payments\n\n"
     "  Create a signing key rotated every 90 days:" E
     "key create --spec ECC_NIST_P256 --alias signer --rotation-period 90d",
     kg_opts_key_create, 0, 0, false},
    {"key list", kg_cmd_key_list, "List keys", "",
     "  List keys, a page at a time (--limit, --cursor).\n\n"
     "  List the first 20 keys:" E "key list --limit 20",
     kg_opts_key_list, 0, 0, false},
    {"key get", kg_cmd_key_get, "Show a key's metadata", "REF",
     "  Show the metadata of the key REF (a key id \"k-...\" or an alias).\n\n"
     "  Show the key aliased payments:" E "key get payments",
     NULL, 1, 1, false},
    {"key rotate", kg_cmd_key_action, "Add a new current version to a key", "REF",
     "  Add a new version to the key REF and make it current. Ciphertexts and signatures\n"
     "  of older versions still decrypt and verify.\n\n"
     "  Rotate payments:" E "key rotate payments",
     NULL, 1, 1, false},
    {"key enable", kg_cmd_key_action, "Enable a disabled key", "REF",
     "  Enable the key REF again after `kashguard key disable`.\n\n"
     "  Enable payments:" E "key enable payments",
     NULL, 1, 1, false},
    {"key disable", kg_cmd_key_action, "Disable a key (refuse every operation)", "REF",
     "  Disable the key REF: every operation with it fails with key_disabled until it is\n"
     "  enabled again. Nothing is destroyed.\n\n"
     "  Disable payments:" E "key disable payments",
     NULL, 1, 1, false},
    {"key cancel-deletion", kg_cmd_key_action, "Cancel a scheduled key deletion", "REF",
     "  Cancel the scheduled deletion of the key REF; it comes back disabled.\n\n"
     "  Keep payments after all:" E "key cancel-deletion payments",
     NULL, 1, 1, false},
    {"key schedule-deletion", kg_cmd_key_schedule_deletion, "Schedule a key's destruction", "REF",
     "  Schedule the key REF for deletion: it is unusable at once and its material is\n"
     "  destroyed when the waiting period ends, unless cancelled before.\n\n"
     "  Delete payments in 7 days:" E "key schedule-deletion payments --waiting-period 7d",
     kg_opts_key_schedule_deletion, 1, 1, false},
    {"key update", kg_cmd_key_update, "Change a key's alias, description or rotation period", "REF",
     "  Update the alias, description or automatic rotation period of the key REF.\n\n"
     "  Rotate payments every 30 days:" E "key update payments --rotation-period 30d",
     kg_opts_key_update, 1, 1, false},
    {"key public-key", kg_cmd_key_public_key, "Print the public key of an asymmetric key", "REF",
     "  Print the public key of the asymmetric key REF: PEM on stdout by default, or DER\n"
     "  (SubjectPublicKeyInfo) or raw bytes with --format, to stdout or --out FILE.\n\n"
     "  Save the PEM for openssl:" E "key public-key signer > signer.pem",
     kg_opts_key_public_key, 1, 1, false},
    {"key import-params", kg_cmd_key_import_params, "Get a wrapping key to import key material", "",
     "  Get a fresh RSA wrapping key and import token (valid 24 h) to bring your own key\n"
     "  material with `kashguard key import`.\n\n"
     "  Save the wrapping key:" E "key import-params --out-pem wrap.pem",
     kg_opts_key_import_params, 0, 0, false},
    {"key import", kg_cmd_key_import, "Import wrapped key material as a new key", "",
     "  Create a key from your own material, wrapped with the key from\n"
     "  `kashguard key import-params`.\n\n"
     "  Import an AES key:" E "key import --spec AES_256 --import-token T --wrapped-material @wrapped.bin",
     kg_opts_key_import, 0, 0, false},
    {"encrypt", kg_cmd_encrypt, "Encrypt data with a key", "",
     "  Encrypt data with the current version of a key and print the base64 ciphertext.\n"
     "  The --context pairs are bound to it: decrypt must give the same ones.\n\n"
     "  Encrypt a file for order 42:" E "encrypt --key payments --plaintext @card.txt --context order=42",
     kg_opts_encrypt, 0, 0, false},
    {"decrypt", kg_cmd_decrypt, "Decrypt a ciphertext", "",
     "  Decrypt a ciphertext and write the raw plaintext to stdout or --out. The key is\n"
     "  found from the ciphertext; --key, when given, must name that key.\n\n"
     "  Decrypt with its context:" E "decrypt --ciphertext @card.ct --context order=42 --out card.txt",
     kg_opts_decrypt, 0, 0, false},
    {"re-encrypt", kg_cmd_reencrypt, "Move a ciphertext to another key inside the server", "",
     "  Decrypt a ciphertext and encrypt it under --key without the plaintext leaving the\n"
     "  server. Prints the new base64 ciphertext.\n\n"
     "  Move to the newest key:" E "re-encrypt --key payments-2026 --ciphertext @card.ct",
     kg_opts_reencrypt, 0, 0, false},
    {"data-key", kg_cmd_data_key, "Generate a data key for envelope encryption", "",
     "  Generate a random data key and return it encrypted under --key (and in plaintext\n"
     "  unless --no-plaintext), for envelope encryption.\n\n"
     "  Get a 256-bit data key:" E "data-key --key payments --context bucket=invoices",
     kg_opts_data_key, 0, 0, false},
    {"sign", kg_cmd_sign, "Sign a message or digest", "",
     "  Sign a message (hashed by the server) or a SHA-256 digest. Prints the base64\n"
     "  signature, or writes the raw signature to --out.\n\n"
     "  Sign a file:" E "sign --key signer --message @release.tar.gz --out release.sig",
     kg_opts_sign, 0, 0, false},
    {"verify", kg_cmd_verify, "Verify a signature", "",
     "  Verify a signature over a message or digest. Exits 0 when it is valid and 2 when\n"
     "  it is not.\n\n"
     "  Verify a file's signature:" E "verify --key signer --message @release.tar.gz --signature @release.sig",
     kg_opts_verify, 0, 0, false},
    {"mac", kg_cmd_mac, "Compute an HMAC", "",
     "  Compute HMAC-SHA256 of a message with an HMAC_256 key; prints it in base64.\n\n"
     "  MAC a webhook body:" E "mac --key webhooks --message @body.json",
     kg_opts_mac, 0, 0, false},
    {"verify-mac", kg_cmd_verify_mac, "Verify an HMAC", "",
     "  Check an HMAC in constant time. Exits 0 when it is valid and 2 when it is not.\n\n"
     "  Check a webhook:" E "verify-mac --key webhooks --message @body.json --mac \"$SIG\"",
     kg_opts_verify_mac, 0, 0, false},
    {"random", kg_cmd_random, "Generate random bytes", "",
     "  Generate random bytes from the server's CSPRNG.\n\n"
     "  32 random bytes as hex:" E "random --bytes 32 --format hex",
     kg_opts_random, 0, 0, false},
    {"token create", kg_cmd_token_create, "Create a token", "",
     "  Create a token carrying --policy policies and print it. The token is shown once;\n"
     "  its accessor names it for lookup and revocation.\n\n"
     "  A one-hour token for the payments app:" E "token create --policy payments-app --ttl 1h",
     kg_opts_token_create, 0, 0, false},
    {"token lookup", kg_cmd_token_lookup, "Show a token's properties", "[ACCESSOR]",
     "  Show the properties of the token with ACCESSOR, or of your own token.\n\n"
     "  Look up your token:" E "token lookup",
     NULL, 0, 1, false},
    {"token renew", kg_cmd_token_renew, "Extend a token's lifetime", "[ACCESSOR]",
     "  Extend the lifetime of the token with ACCESSOR, or of your own token.\n\n"
     "  Renew your token for an hour:" E "token renew --increment 1h",
     kg_opts_token_renew, 0, 1, false},
    {"token revoke", kg_cmd_token_revoke, "Revoke a token", "[ACCESSOR]",
     "  Revoke the token with ACCESSOR, or your own token.\n\n"
     "  Revoke a token:" E "token revoke 5f0c...",
     NULL, 0, 1, false},
    {"policy write", kg_cmd_policy_write, "Create or replace a policy", "FILE|-",
     "  Create or replace a policy from a JSON document {\"name\",\"rules\":[...]} read from\n"
     "  FILE or stdin.\n\n"
     "  Write a policy:" E "policy write payments-app.json",
     NULL, 1, 1, false},
    {"policy read", kg_cmd_policy_read, "Print a policy", "NAME",
     "  Print the policy document NAME.\n\n"
     "  Read a policy:" E "policy read payments-app",
     NULL, 1, 1, false},
    {"policy list", kg_cmd_policy_list, "List policy names", "",
     "  List the names of all policies.\n\n"
     "  List policies:" E "policy list",
     NULL, 0, 0, false},
    {"policy delete", kg_cmd_policy_delete, "Delete a policy", "NAME",
     "  Delete the policy NAME. Tokens carrying it lose what it allowed.\n\n"
     "  Delete a policy:" E "policy delete payments-app",
     NULL, 1, 1, false},
    {"audit list", kg_cmd_audit_list, "Print audit log entries", "",
     "  Print audit log entries, one JSON object per line (needs read-audit).\n\n"
     "  The last 50 entries:" E "audit list --limit 50",
     kg_opts_audit_list, 0, 0, false},
    {"audit hash", kg_cmd_audit_hash, "HMAC a value the way the audit log does", "VALUE",
     "  Compute the audit HMAC of VALUE (an accessor or alias) to search the log for it.\n\n"
     "  Find a token's entries:" E "audit hash 5f0c...",
     NULL, 1, 1, false},
    {"audit verify", kg_cmd_audit_verify, "Verify an audit log offline", "PATH",
     "  Verify the hash chain and signed checkpoints of an audit log, offline. PATH is the\n"
     "  log file or a data directory (then its latest checkpoint is checked too). Exits 2\n"
     "  when the log was tampered with.\n\n"
     "  Verify a dev server's log:" E "audit verify ./kg-dev",
     kg_opts_audit_verify, 1, 1, true},
    {"wallet create", kg_cmd_wallet_create, "Create an HD wallet and print its new mnemonic", "",
     "  Create a BIP39/BIP32 wallet: a new random mnemonic (24 words by default) encrypted\n"
     "  into <wallet-dir>/NAME.kgw under the wallet passphrase (Argon2id, XChaCha20-Poly1305).\n"
     "  The mnemonic is printed on stdout this once: write it down. The passphrase comes\n"
     "  from KASHGUARD_WALLET_PASSPHRASE or a hidden prompt, never from the command line.\n\n"
     "  Create a wallet, prompted for its passphrase:" E "wallet create --name main\n\n"
     "  A 12-word Japanese mnemonic:" E "wallet create --name jp --words 12 --language japanese",
     kg_opts_wallet_create, 0, 0, true},
    {"wallet restore", kg_cmd_wallet_restore, "Restore a wallet from its BIP39 mnemonic", "",
     "  Restore a wallet from a BIP39 mnemonic read from a file (any of the ten wordlists;\n"
     "  spaces, newlines and case are normalised; the checksum is checked) and print its name.\n\n"
     "  Restore from a file:" E "wallet restore --name main --mnemonic-file words.txt\n\n"
     "  Restore from stdin with a BIP39 passphrase:" E
     "wallet restore --name main --mnemonic-file - --bip39-passphrase-file pp.txt < words.txt",
     kg_opts_wallet_restore, 0, 0, true},
    {"wallet list", kg_cmd_wallet_list, "List wallets", "",
     "  List the wallets of the wallet directory, one name per line, without decrypting them\n"
     "  (--json adds created_at, the BIP32 master fingerprint and the kind).\n\n"
     "  List wallets:" E "wallet list",
     kg_opts_wallet_list, 0, 0, true},
    {"wallet address", kg_cmd_wallet_address, "Print a receive address of a wallet", "",
     "  Print the address of the key at --index on the chain's standard path: btc\n"
     "  m/84'/0'/0'/0/N (p2wpkh; --type picks BIP44/49/84/86), eth m/44'/60'/0'/0/N\n"
     "  (EIP-55), cosmos m/44'/118'/0'/0/N (Bech32), solana m/44'/501'/N'/0' (Base58).\n\n"
     "  The first Ethereum address:" E "wallet address --name main --chain eth\n\n"
     "  A Taproot address on regtest:" E "wallet address --name main --chain btc --type p2tr --network regtest\n\n"
     "  With --mpc-key KEY a threshold ECDSA MPC key (cggmp21-secp256k1) is used instead of a\n"
     "  wallet file: --ca-dir DIR coordinates its mpc-nodes from this process, else the server\n"
     "  does. Its account N is m/0/N (non-hardened paths only; no p2tr, no solana).\n\n"
     "  The address of an MPC key:" E "wallet address --chain eth --mpc-key mpc-5e0b... --ca-dir ./mpc",
     kg_opts_wallet_address, 0, 0, true},
    {"wallet balance", kg_cmd_wallet_balance, "Print a wallet's balance on a chain", "",
     "  Ask the chain's node for the wallet's balance in base units: eth wei (or token units\n"
     "  with --token) of the address at --index over JSON-RPC; btc satoshis of every used\n"
     "  address (gap limit 20) over an Esplora API; cosmos --denom units over the LCD REST\n"
     "  API; solana lamports over JSON-RPC. Exits 2 when the node cannot be reached.\n\n"
     "  ETH on a local node:" E "wallet balance --name main --chain eth --rpc http://127.0.0.1:8545\n\n"
     "  Bitcoin through an Esplora API:" E
     "wallet balance --name main --chain btc --network regtest --rpc http://127.0.0.1:3002/api",
     kg_opts_wallet_balance, 0, 0, true},
    {"wallet send", kg_cmd_wallet_send, "Build, sign and broadcast a payment", "",
     "  Build, sign and broadcast a transaction and print its hash (txid, signature).\n"
     "  eth: ETH, an ERC-20 (--token) or an ERC-721 (--nft), EIP-1559 by default, nonce,\n"
     "  fees, gas and chain id from the node unless given; waits up to 60 s for the receipt.\n"
     "  btc: coin selection at --fee-rate over the wallet's UTXOs, change to a fresh change\n"
     "  address, RBF unless --no-rbf. cosmos: MsgSend of --amount --denom. solana: a\n"
     "  system transfer of --lamports. Exits 2 when the node refuses it or it reverts.\n\n"
     "  Send 0.5 ETH:" E "wallet send --name main --chain eth --rpc http://127.0.0.1:8545 --to 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 --amount 0.5\n\n"
     "  Send 100 base units of a token:" E
     "wallet send --name main --chain eth --rpc $RPC --to $TO --token $TOKEN --amount 100\n\n"
     "  With --mpc-key KEY (and --ca-dir DIR, else through the server) a t-of-n threshold ECDSA\n"
     "  MPC key signs at m/0/--index; any t nodes that answer sign.\n\n"
     "  Send from a 2-of-3 MPC key:" E
     "wallet send --chain eth --mpc-key mpc-5e0b... --ca-dir ./mpc --rpc $RPC --to $TO --amount 0.5",
     kg_opts_wallet_send, 0, 0, true},
    {"wallet sign-tx", kg_cmd_wallet_sign_tx, "Sign a transaction offline (eth, cosmos, solana)", "",
     "  Sign a transaction without broadcasting it and print it: eth raw 0x-hex (flags as\n"
     "  for send; without --rpc give --chain-id, --nonce, --gas-limit and --max-fee-gwei),\n"
     "  cosmos TxRaw base64 (bank MsgSend, SIGN_MODE_DIRECT), solana transfer base64.\n\n"
     "  An offline EIP-1559 transfer:" E
     "wallet sign-tx --name main --chain eth --chain-id 1 --nonce 0 --gas-limit 21000 --max-fee-gwei 30 --to $TO --amount 1\n\n"
     "  A Cosmos Hub transfer:" E
     "wallet sign-tx --name main --chain cosmos --to cosmos1... --amount 1000 --denom uatom --chain-id cosmoshub-4 --account-number 7 --sequence 0",
     kg_opts_wallet_sign_tx, 0, 0, true},
    {"wallet sign-message", kg_cmd_wallet_sign_message, "Sign a message (EIP-191 personal_sign)", "",
     "  Sign a message as personal_sign does (EIP-191) and print the 65-byte signature\n"
     "  r||s||v (v = 27/28) as 0x-hex.\n\n"
     "  Sign a login challenge:" E "wallet sign-message --name main --chain eth --message 'hello'",
     kg_opts_wallet_sign_message, 0, 0, true},
    {"wallet sign-typed-data", kg_cmd_wallet_sign_typed_data, "Sign EIP-712 typed data", "",
     "  Sign EIP-712 typed data given as eth_signTypedData_v4 JSON and print the 65-byte\n"
     "  signature as 0x-hex (--json adds the digest).\n\n"
     "  Sign a permit:" E "wallet sign-typed-data --name main --chain eth --file permit.json",
     kg_opts_wallet_sign_typed_data, 0, 0, true},
    {"wallet psbt sign", kg_cmd_wallet_psbt_sign, "Sign a Bitcoin PSBT (BIP174/370/371)", "",
     "  Sign every input of a PSBT whose BIP32 or Taproot derivation names this wallet's\n"
     "  master fingerprint and print the PSBT as base64; --extract finalizes and prints\n"
     "  the network transaction as hex (KashGuard does not broadcast Bitcoin transactions).\n\n"
     "  Sign a PSBT from a file:" E "wallet psbt sign --name main --psbt-file tx.psbt\n\n"
     "  Sign, finalize and extract:" E "wallet psbt sign --name main --psbt \"$PSBT\" --extract",
     kg_opts_wallet_psbt_sign, 0, 0, true},
    {"wallet import-keystore", kg_cmd_wallet_import_keystore, "Import an Ethereum keystore v3 file", "",
     "  Create a single-key wallet from a Web3 Secret Storage (keystore v3) file, scrypt or\n"
     "  PBKDF2, and print its address. It signs for eth only (no mnemonic, no --index).\n\n"
     "  Import a geth keystore:" E "wallet import-keystore --name old --file UTC--2016-...json",
     kg_opts_wallet_import_keystore, 0, 0, true},
    {"wallet export-keystore", kg_cmd_wallet_export_keystore, "Export an Ethereum key as keystore v3", "",
     "  Write the Ethereum key at m/44'/60'/0'/0/N (or a single-key wallet's key) as a\n"
     "  keystore v3 JSON document, to stdout or --out FILE (mode 0600).\n\n"
     "  Export for MetaMask:" E "wallet export-keystore --name main --index 0 --out key.json",
     kg_opts_wallet_export_keystore, 0, 0, true},
    {"mpc ca-init", kg_cmd_mpc_ca_init, "Create the MPC private CA and coordinator certificate", "",
     "  Create a coordinator directory: a private P-256 CA (ca.pem, ca.key), the\n"
     "  coordinator's certificate (party 0) and the node registry and key records.\n\n"
     "  Create ./mpc:" E "mpc ca-init --dir ./mpc",
     kg_opts_mpc_ca_init, 0, 0, true},
    {"mpc node-cert", kg_cmd_mpc_node_cert, "Enrol an MPC node: certificate and envelope keys", "",
     "  Issue node N's certificate and key and its envelope keys (X25519 + Ed25519, 0600)\n"
     "  into --out, and record the envelope public keys in the coordinator's registry.\n\n"
     "  Enrol node 1:" E "mpc node-cert --ca-dir ./mpc --id 1 --out ./node1",
     kg_opts_mpc_node_cert, 0, 0, true},
    {"mpc keygen", kg_cmd_mpc_keygen, "Run a distributed key generation across MPC nodes", "",
     "  Run FROST's Pedersen DKG across MPC nodes with threshold --threshold; no machine\n"
     "  ever holds the key. Prints the key id and the group public key (base64).\n"
     "  Without --ca-dir the server (KASHGUARD_ADDR) coordinates its registered nodes\n"
     "  (POST /v1/mpc/keys); with --ca-dir this command is the coordinator of --nodes.\n\n"
     "  2-of-3 on the server's nodes:" E "mpc keygen --threshold 2 --parties 3\n\n"
     "  --scheme cggmp21-secp256k1 (or cggmp21-p256) makes a threshold ECDSA key (CGGMP21:\n"
     "  key generation, then Paillier keys and proofs; it gets a BIP32 chain code):" E
     "mpc keygen --scheme cggmp21-secp256k1 --threshold 2 --parties 3\n\n"
     "  A 2-of-3 Ed25519 key, standalone:" E "mpc keygen --ca-dir ./mpc --threshold 2 --nodes "
     "1@127.0.0.1:7401,2@127.0.0.1:7402,3@127.0.0.1:7403",
     kg_opts_mpc_keygen, 0, 0, false},
    {"mpc sign", kg_cmd_mpc_sign, "Sign a message with an MPC key", "",
     "  Sign with the first t reachable nodes of the key and print the signature (base64;\n"
     "  a plain RFC 8032 signature for frost-ed25519). Without --ca-dir the server signs\n"
     "  (POST /v1/mpc/keys/{id}/sign); with --ca-dir this command coordinates.\n\n"
     "  Sign a file on the server:" E "mpc sign --key mpc-3f9a... --message @msg.bin\n\n"
     "  Standalone:" E "mpc sign --ca-dir ./mpc --key mpc-3f9a... --message @msg.bin\n\n"
     "  frost-secp256k1-tr keys make BIP340 signatures (BIP 445) under the x-only key;\n"
     "  --taproot signs for the BIP341 output key (a key-path spend, BIP86 unless\n"
     "  --merkle-root is given):" E "mpc sign --ca-dir ./mpc --key mpc-7c1e... --message @sighash.bin --taproot\n\n"
     "  Threshold ECDSA (cggmp21-*) keys sign a 32-byte digest, not a message (hash it\n"
     "  first), optionally as the non-hardened BIP32 child at --path. Prints the signature\n"
     "  r||s (base64, low-S), the recovery id and the public key signed for:" E
     "mpc sign --key mpc-9d2b... --digest 9f86d081...0a08 --path m/0/5",
     kg_opts_mpc_sign, 0, 0, false},
    {"mpc presign", kg_cmd_mpc_presign, "Make presignatures of a threshold ECDSA MPC key ahead", "[KEY]",
     "  CGGMP21 presigning (three rounds with zero-knowledge proofs between t nodes) done\n"
     "  before a digest is known (POST /v1/mpc/keys/{id}/presign). A later `mpc sign` uses a\n"
     "  stored presignature and is one round trip; each is used once and a refresh drops\n"
     "  them. --count is 1..1000.\n\n"
     "  Make 10:" E "mpc presign mpc-9d2b... --count 10",
     kg_opts_mpc_presign, 0, 1, false},
    {"mpc refresh", kg_cmd_mpc_refresh, "Give an MPC key's nodes new shares (same public key)", "",
     "  Proactive refresh: every live node deals a sharing of zero, so the shares change\n"
     "  and the public key does not; shares stolen before no longer combine with the new\n"
     "  ones. The key's epoch goes up by one. Needs t live nodes; nodes that are down are\n"
     "  marked stale and must be repaired (`mpc repair`) before they sign again. Two\n"
     "  phases: nodes keep the new share pending until all have it, so a failure leaves\n"
     "  every node (and the key record) as it was. Asks the server (POST\n"
     "  /v1/mpc/keys/{id}/refresh) unless --ca-dir is given.\n\n"
     "  Refresh on the server:" E "mpc refresh --key mpc-3f9a...\n\n"
     "  A threshold ECDSA (cggmp21-*) key refreshes with every holder taking part: new\n"
     "  Paillier keys and shares, same public key; its unused presignatures are dropped.\n"
     "  With a holder down the refresh fails (naming it) and nothing changes; signing goes\n"
     "  on with t live nodes, and `mpc repair` brings back a node that lost its data.\n\n"
     "  Standalone:" E "mpc refresh --ca-dir ./mpc --key mpc-3f9a...",
     kg_opts_mpc_refresh, 0, 0, false},
    {"mpc reshare", kg_cmd_mpc_reshare, "Move an MPC key to other nodes or another threshold", "",
     "  Reshare the key to the nodes --parties with threshold --threshold: t live holders\n"
     "  deal, every new holder must take part, the public key stays the same and the\n"
     "  epoch goes up by one. Holders left out delete their shares. Asks the server (POST\n"
     "  /v1/mpc/keys/{id}/reshare) unless --ca-dir is given.\n\n"
     "  A threshold ECDSA (cggmp21-*) key reshares the same way; the new holders then\n"
     "  make new Paillier keys (aux info) before the new shares replace the old ones,\n"
     "  and the old epoch's presignatures are dropped.\n\n"
     "  2-of-3 to 3-of-5:" E "mpc reshare --ca-dir ./mpc --key mpc-3f9a... --threshold 3 --parties 1,2,3,4,5",
     kg_opts_mpc_reshare, 0, 0, false},
    {"mpc repair", kg_cmd_mpc_repair, "Rebuild one MPC node's share", "",
     "  Rebuild the share of node --node at the key's current epoch with t live helpers\n"
     "  (it never leaves the helpers in clear): a node that was down during a refresh\n"
     "  (stale) catches up, a node that lost its data gets its share back. Asks the\n"
     "  server (POST /v1/mpc/keys/{id}/repair) unless --ca-dir is given.\n\n"
     "  A threshold ECDSA (cggmp21-*) key is repaired by a reshare to the same nodes and\n"
     "  threshold dealt by t up-to-date holders (node --node only receives; a share of an\n"
     "  older epoch, or none, is replaced), then new Paillier keys for every holder: all\n"
     "  holders must be up, the public key stays, the epoch goes up by one.\n\n"
     "  Repair node 3:" E "mpc repair --ca-dir ./mpc --key mpc-3f9a... --node 3",
     kg_opts_mpc_repair, 0, 0, false},
    {"mpc resync", kg_cmd_mpc_resync, "Rebuild an MPC key's record from its nodes", "",
     "  If the coordinator crashed (or could not save the key record) after the nodes\n"
     "  committed a refresh, reshare or repair, the record still names the old epoch and\n"
     "  signing fails. This asks every node of the address book for its epoch and public\n"
     "  share of the key, takes the newest epoch at least t nodes report whose shares\n"
     "  combine to the key's public key (trying the record's threshold, then the smallest\n"
     "  that fits, for a reshare), and saves that as the record; holders that are down or\n"
     "  behind are marked stale. Nothing changes when the answers do not agree (the error\n"
     "  names each node's answer). Asks the server (POST /v1/mpc/keys/{id}/resync)\n"
     "  unless --ca-dir is given.\n\n"
     "  For a threshold ECDSA (cggmp21-*) key each node reports its share's public data\n"
     "  (threshold, holders, public shares): the newest epoch that t holders report alike,\n"
     "  with the key's public key and chain code, becomes the record.\n\n"
     "  Standalone:" E "mpc resync --ca-dir ./mpc --key mpc-3f9a...",
     kg_opts_mpc_resync, 0, 0, false},
    {"mpc import", kg_cmd_mpc_import, "Split an existing private key into MPC nodes", "",
     "  Import a private key you already have (PEM or DER: PKCS#8 from `openssl\n"
     "  genpkey`, or SEC1 from `openssl ecparam -genkey`) as a t-of-n FROST key. This\n"
     "  command is the trusted dealer (RFC 9591 Appendix C): it splits the key here,\n"
     "  seals each share to its node's envelope key and wipes the key; the server or\n"
     "  the standalone coordinator only relays sealed shares and public commitments.\n"
     "  The nodes check their shares and each other's confirmations before anything\n"
     "  is stored. The new key's public key equals the key file's (x-only for\n"
     "  frost-secp256k1-tr); this command checks it. Ed25519 keys sign exactly like\n"
     "  the original key (RFC 8032 signatures). Asks the server (POST\n"
     "  /v1/mpc/keys/import) unless --ca-dir is given. Keep the key file offline or\n"
     "  destroy it afterwards: whoever has it can sign alone.\n\n"
     "  2-of-3 on the server's nodes:" E "mpc import --key-file ed.pem --threshold 2 --parties 1,2,3\n\n"
     "  secp256k1, standalone:" E "mpc import --ca-dir ./mpc --key-file k1.pem --scheme frost-secp256k1 "
     "--threshold 2 --parties 1,2,3",
     kg_opts_mpc_import, 0, 0, false},
    {"mpc status", kg_cmd_mpc_status, "Show which MPC nodes are up", "",
     "  Probe every MPC node with a PING: up or down (and why), the round trip and how\n"
     "  many key shares it holds. Asks the server (GET /v1/mpc/nodes) unless --ca-dir\n"
     "  names a standalone coordinator directory.\n\n"
     "  The server's nodes:" E "mpc status",
     kg_opts_mpc_status, 0, 0, false},
    {"mpc node-init", kg_cmd_mpc_node_init, "Create an MPC node's key, CSR and envelope keys", "",
     "  On the node's machine: make its TLS key (node.key) and certificate request\n"
     "  (node.csr) and its envelope keys (envelope.key 0600, envelope.pub) in --out.\n"
     "  No secret leaves the directory; register it with `mpc node add`.\n\n"
     "  Node 4:" E "mpc node-init --out ./node4 --id 4",
     kg_opts_mpc_node_init, 0, 0, true},
    {"mpc node add", kg_cmd_mpc_node_add, "Register an MPC node with the server", "",
     "  Send the node's CSR and envelope public keys to the server (POST /v1/mpc/nodes,\n"
     "  an admin token: manage-policies). The server's CA issues the node's certificate;\n"
     "  node.pem and ca.pem are written into --dir. Then start the node with\n"
     "  `kashguard mpc-node --data DIR --ca DIR/ca.pem --cert DIR/node.pem --key DIR/node.key`.\n\n"
     "  Register node 4:" E "mpc node add --id 4 --node-addr 10.0.0.4:7404 --dir ./node4",
     kg_opts_mpc_node_add, 0, 0, false},
    {"mpc address", kg_cmd_mpc_address, "Print the Bitcoin, Ethereum or Solana address of an MPC key", "",
     "  Ask the server for the address of an MPC key (GET /v1/mpc/keys/{id}/address): a\n"
     "  frost-secp256k1-tr key has a Bitcoin P2TR address (BIP86 tweak of its x-only group\n"
     "  key), a frost-ed25519 key a Solana address (Base58 of its group key), a\n"
     "  cggmp21-secp256k1 key an Ethereum address and a Bitcoin P2WPKH address, of the\n"
     "  key or of its non-hardened child at --path.\n\n"
     "  Ethereum address of child m/0/1:" E "mpc address --key mpc-9d2b... --chain eth --path m/0/1\n\n"
     "  Regtest P2TR address:" E "mpc address --key mpc-7c1e... --chain bitcoin --network regtest\n\n"
     "  Solana address:" E "mpc address --key mpc-3f9a... --chain solana",
     kg_opts_mpc_address, 0, 0, false},
    {"mpc psbt", kg_cmd_mpc_psbt, "Sign a PSBT's inputs of an MPC key (P2TR or P2WPKH)", "",
     "  The server signs every input whose witness UTXO pays the MPC key's P2TR address\n"
     "  (BIP341 key path, through the key's nodes; POST /v1/mpc/keys/{id}/psbt) and prints\n"
     "  the signed PSBT, or with --finalize the network transaction in hex. For a\n"
     "  cggmp21-secp256k1 key: every input paying P2WPKH of the key (or its child at\n"
     "  --path), BIP143 ECDSA signatures.\n\n"
     "  Sign and finalize:" E "mpc psbt --key mpc-7c1e... --psbt @spend.psbt --finalize",
     kg_opts_mpc_psbt, 0, 0, false},
    {"mpc send", kg_cmd_mpc_send, "Send BTC, ETH or SOL from an MPC key", "",
     "  The server builds the transfer, signs it with the key's nodes and broadcasts it\n"
     "  through --rpc (POST /v1/mpc/keys/{id}/bitcoin/send: the key's coins from an Esplora\n"
     "  API, change back to its address; .../solana/transfer: a System Program transfer).\n"
     "  Prints the txid (bitcoin) or the signature (solana).\n\n"
     "  0.001 BTC on regtest:" E "mpc send --key mpc-7c1e... --chain bitcoin --network regtest "
     "--to bcrt1p... --amount 0.001 --rpc http://127.0.0.1:3002/api\n\n"
     "  0.25 SOL:" E "mpc send --key mpc-3f9a... --chain solana --to 9xQe... --amount 0.25 "
     "--rpc https://api.devnet.solana.com\n\n"
     "  --chain eth (a cggmp21-secp256k1 key, or its child at --path): an EIP-1559\n"
     "  transfer, nonce, fees and gas from the node (POST .../evm/send); --amount in ETH or\n"
     "  \"<n>wei\"; prints the transaction hash once mined (unless --no-wait):" E
     "mpc send --key mpc-9d2b... --chain eth --to 0x70997970... --amount 0.5 --rpc http://127.0.0.1:8545",
     kg_opts_mpc_send, 0, 0, false},
    {"hsm add", kg_cmd_hsm_add, "Register an HSM token (PKCS#11) with the server's fleet", "[NAME]",
     "  Register one token of a PKCS#11 module as a member of the server's HSM fleet\n"
     "  (POST /v1/sys/hsm/members, an admin token: manage-policies). The server loads the\n"
     "  module, opens the token and logs in now: a wrong PIN, a missing module or an\n"
     "  unknown token label is an error and nothing is registered. NAME defaults to the\n"
     "  token label. The PIN is read by the server from --pin-file (a file on its machine)\n"
     "  or --pin-env (a variable of its environment), at every start; it is never sent or\n"
     "  stored. Members are re-added when the server restarts.\n\n"
     "  A SoftHSM2 token:" E "hsm add --module /usr/lib/softhsm/libsofthsm2.so --token kg-a "
     "--pin-file /etc/kashguard/kg-a.pin\n\n"
     "  A network HSM partition named hsm1:" E "hsm add hsm1 --module /opt/hsm/lib/libpkcs11.so "
     "--token partition1 --pin-env HSM1_PIN",
     kg_opts_hsm_add, 0, 1, false},
    {"hsm list", kg_cmd_hsm_list, "List the HSM members, their state and latency", "",
     "  List the members of the server's HSM fleet (GET /v1/sys/hsm/members): state\n"
     "  (healthy, degraded, down, syncing) with the reason, probe latency, operation and\n"
     "  error counts, and their groups.\n\n"
     "  The fleet:" E "hsm list",
     NULL, 0, 0, false},
    {"hsm show", kg_cmd_hsm_show, "Show one HSM member: slot, mechanisms, free space", "NAME",
     "  Show the member NAME with what its token reports (GET /v1/sys/hsm/members/NAME):\n"
     "  slot, manufacturer, model, serial, free and total memory, and the mechanisms.\n\n"
     "  Show kg-a:" E "hsm show kg-a",
     NULL, 1, 1, false},
    {"hsm remove", kg_cmd_hsm_remove, "Remove an HSM member from the server's fleet", "NAME",
     "  Remove the member NAME (DELETE /v1/sys/hsm/members/NAME, an admin token:\n"
     "  manage-policies): its sessions and login on the token end and its stored\n"
     "  registration is deleted, so it is not re-added at the next start. A member in a\n"
     "  group is refused (409, naming the groups). A member down for a wrong PIN (never\n"
     "  retried, so the token's PIN does not lock) is removed and added again with the\n"
     "  right PIN.\n\n"
     "  Remove kg-a, then add it with the right PIN:" E "hsm remove kg-a" E
     "hsm add --module /usr/lib/softhsm/libsofthsm2.so --token kg-a --pin-file /etc/kashguard/kg-a.pin",
     NULL, 1, 1, false},
    {"hsm group-create", kg_cmd_hsm_group_create, "Create a group of HSM members that hold the same keys", "NAME",
     "  Create the group NAME of --members (POST /v1/sys/hsm/groups). A key created in the\n"
     "  group (`key create --protection hsm --hsm-group NAME`) exists on every member,\n"
     "  replicated under a group key-encryption key that never leaves the HSMs in clear;\n"
     "  operations go to the fastest healthy member and fail over to the others. Members\n"
     "  must be up. A group of one member makes non-extractable keys.\n\n"
     "  Three tokens:" E "hsm group-create main --members kg-a,kg-b,kg-c",
     kg_opts_hsm_group_create, 1, 1, false},
    {"hsm groups", kg_cmd_hsm_groups, "List the HSM groups", "",
     "  List the HSM groups (GET /v1/sys/hsm/groups): members, keys and whether every\n"
     "  member holds every key.\n\n"
     "  The groups:" E "hsm groups",
     NULL, 0, 0, false},
    {"mpc-node", kg_cmd_mpc_node, "Run one MPC node (a FROST party)", "",
     "  Run one MPC party in the foreground until SIGINT or SIGTERM. It accepts mutual-TLS\n"
     "  connections from the coordinator only and keeps its key shares sealed in --data.\n"
     "  For CGGMP21 (threshold ECDSA) it keeps a pool of safe primes for Paillier keys in\n"
     "  --data/cggmp-primes.txt, filled in the background (--paillier-bits, default 3072).\n\n"
     "  Run node 1:" E "mpc-node --data ./node1 --listen 127.0.0.1:7401 --ca ./mpc/ca.pem "
     "--cert ./node1/node.pem --key ./node1/node.key --id 1",
     kg_opts_mpc_node, 0, 0, true},
    {NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, false},
};

static const struct { const char *name, *synopsis; } groups[] = {
    {"operator", "Initialise, unseal and seal the server"},
    {"key", "Create and manage keys"},
    {"token", "Create, renew and revoke tokens"},
    {"policy", "Manage policies"},
    {"audit", "Read, search and verify the audit log"},
    {"wallet", "Self-custody HD wallets: addresses, signing, sending"},
    {"mpc", "Threshold (FROST) keys across MPC nodes"},
    {"hsm", "The server's HSM fleet (PKCS#11): members and groups"},
    {NULL, NULL},
};

const kg_cli_cmd *kg_cli_commands(void) { return commands; }

/* Option help, indented 6 and word-wrapped before column 80. */
static void print_wrapped(FILE *f, const char *text)
{
    size_t col = 0;
    while (*text) {
        size_t w = strcspn(text, " ");
        if (col > 0 && col + 1 + w > 74) { fputc('\n', f); col = 0; }
        fputs(col ? " " : "      ", f);
        fprintf(f, "%.*s", (int)w, text);
        col += w + 1;
        text += w;
        while (*text == ' ') text++;
    }
    fputc('\n', f);
}

static void print_opt_group(FILE *f, const char *title, const kg_cli_opt *o)
{
    if (!o || !o->name) return;
    fprintf(f, "\n%s:\n", title);
    for (; o->name; o++) {
        if (o->kind == KG_OPT_BOOL) fprintf(f, "\n  --%s\n", o->name);
        else fprintf(f, "\n  --%s=%s%s%s\n", o->name, o->metavar,
                     o->kind == KG_OPT_MULTI ? " (repeatable)" : "", o->required ? " (required)" : "");
        print_wrapped(f, o->help);
    }
}

void kg_cli_print_help(FILE *f, const kg_cli_cmd *c)
{
    const kg_cli_opt *g = kg_cli_global_opts();
    fprintf(f, "Usage: kashguard %s [options]%s%s\n\n%s\n", c->name, c->args[0] ? " " : "",
            c->args, c->help);
    if (!c->local) {
        kg_cli_opt http[8], out[8];
        size_t nh = 0, no = 0;
        for (; g->name; g++) {
            if (!strcmp(g->name, "json")) out[no++] = *g;
            else http[nh++] = *g;
        }
        http[nh].name = out[no].name = NULL;
        print_opt_group(f, "HTTP Options", http);
        print_opt_group(f, "Output Options", out);
    }
    print_opt_group(f, "Command Options", c->opts);
}

static size_t words_of(const char *name)
{
    size_t n = 1;
    for (; *name; name++) n += *name == ' ';
    return n;
}

/* How many of w[0..n) spell name ("wallet psbt sign" from three words, or
 * from "wallet" "psbt sign" as `help` may get it); 0 when they do not. */
static size_t match_words(const char *name, char **w, size_t n)
{
    size_t used = 0;
    while (used < n) {
        size_t l = strlen(w[used]);
        if (l == 0 || strncmp(name, w[used], l) != 0) return 0;
        name += l;
        used++;
        if (*name == 0) return used;
        if (*name++ != ' ') return 0;
    }
    return 0;
}

/* Longest command whose path equals the first words of w[0..n);
 * *used (may be NULL) gets how many words it took. */
static const kg_cli_cmd *lookup_n(char **w, size_t n, size_t *used)
{
    const kg_cli_cmd *best = NULL;
    size_t best_k = 0;
    for (const kg_cli_cmd *c = commands; c->name; c++) {
        size_t k = match_words(c->name, w, n);
        if (k && (!best || words_of(c->name) > words_of(best->name))) { best = c; best_k = k; }
    }
    if (used) *used = best_k;
    return best;
}

static const kg_cli_cmd *lookup(char **w, size_t n) { return lookup_n(w, n, NULL); }

static const char *group_of(const char *word)
{
    for (size_t i = 0; groups[i].name; i++)
        if (!strcmp(groups[i].name, word)) return groups[i].name;
    return NULL;
}

static void print_group(FILE *f, const char *g)
{
    size_t gl = strlen(g);
    fprintf(f, "Usage: kashguard %s <subcommand> [options] [args]\n\nSubcommands:\n", g);
    for (const kg_cli_cmd *c = commands; c->name; c++)
        if (!strncmp(c->name, g, gl) && c->name[gl] == ' ')
            fprintf(f, "    %-18s %s\n", c->name + gl + 1, c->synopsis);
    fprintf(f, "\nRun `kashguard %s <subcommand> --help` for details.\n", g);
}

static void print_top(FILE *f)
{
    static const char *const common[] = {"encrypt", "decrypt", "sign", "verify", "status", "server", NULL};
    fputs("Usage: kashguard <command> [options] [args]\n\n"
          "  KashGuard keeps keys and uses them for you: the server (`kashguard server`) and\n"
          "  the client of its REST API in one binary.\n\nCommon commands:\n", f);
    for (size_t i = 0; common[i]; i++) {
        char *w[1] = {(char *)common[i]};
        fprintf(f, "    %-12s %s\n", common[i], lookup(w, 1)->synopsis);
    }
    fputs("\nOther commands:\n", f);
    for (size_t i = 0; groups[i].name; i++) fprintf(f, "    %-12s %s\n", groups[i].name, groups[i].synopsis);
    for (const kg_cli_cmd *c = commands; c->name; c++) {
        bool listed = words_of(c->name) > 1;
        for (size_t i = 0; common[i] && !listed; i++) listed = !strcmp(common[i], c->name);
        if (!listed) fprintf(f, "    %-12s %s\n", c->name, c->synopsis);
    }
    fputs("\nRun `kashguard help <command>` or `kashguard <command> --help` for details.\n", f);
}

/* `kashguard help [words...]`: stdout and 0, or stderr and 1 when unknown. */
static int cmd_help(kg_cli *cli, char **w, size_t n)
{
    const kg_cli_cmd *c;
    if (n == 0) { print_top(cli->out); return KG_CLI_OK; }
    size_t used = 0;
    if ((c = lookup_n(w, n, &used)) && used == n) { kg_cli_print_help(cli->out, c); return KG_CLI_OK; }
    if (n == 1 && group_of(w[0])) { print_group(cli->out, w[0]); return KG_CLI_OK; }
    fprintf(cli->err, "Error: unknown command '%s%s%s'\n\n", w[0], n > 1 ? " " : "", n > 1 ? w[1] : "");
    print_top(cli->err);
    return KG_CLI_LOCAL;
}

/* Leading global options before the command words: count of argv entries they take. */
static int leading_globals(int argc, char **argv)
{
    int i = 0;
    while (i < argc && argv[i][0] == '-' && argv[i][1] == '-' && argv[i][2]) {
        const char *a = argv[i] + 2;
        size_t len = strcspn(a, "=");
        const kg_cli_opt *g = kg_cli_global_opts();
        while (g->name && !(strlen(g->name) == len && !strncmp(g->name, a, len))) g++;
        if (!g->name) break;
        i += (g->kind != KG_OPT_BOOL && !a[len]) ? 2 : 1;
    }
    return i > argc ? argc : i;
}

static int run(kg_cli *cli, int argc, char **argv)
{
    int ng = leading_globals(argc, argv), nw = 0, rc;
    bool help;
    char *rest[KG_CLI_MAX_ARGS * 2];
    while (ng + nw < argc && nw < 3 && argv[ng + nw][0] != '-') nw++;
    if (nw == 0) {
        if (ng < argc && (!strcmp(argv[ng], "--help") || !strcmp(argv[ng], "-h"))) return cmd_help(cli, NULL, 0);
        print_top(cli->err);
        return KG_CLI_LOCAL;
    }
    if (!strcmp(argv[ng], "help")) return cmd_help(cli, argv + ng + 1, (size_t)(argc - ng - 1));
    size_t used = 0;
    if (!(cli->cmd = lookup_n(argv + ng, (size_t)nw, &used))) {
        if (group_of(argv[ng])) { print_group(cli->err, argv[ng]); return KG_CLI_LOCAL; }
        fprintf(cli->err, "Error: unknown command '%s'\n\n", argv[ng]);
        print_top(cli->err);
        return KG_CLI_LOCAL;
    }
    /* Re-assemble: leading globals, then everything after the command words. */
    int skip = ng + (int)used, nr = 0;
    if (argc > (int)(sizeof rest / sizeof rest[0])) return kg_cli_usage_error(cli, "too many arguments");
    for (int i = 0; i < ng; i++) rest[nr++] = argv[i];
    for (int i = skip; i < argc; i++) rest[nr++] = argv[i];
    if ((rc = kg_cli_parse(cli, &help, nr, rest)) != KG_CLI_OK) return rc;
    if (help) { kg_cli_print_help(cli->out, cli->cmd); return KG_CLI_OK; }
    kg_cli_apply_env(cli);
    return cli->cmd->run(cli);
}

int kg_cli_main(int argc, char **argv)
{
    kg_cli cli;
    int rc;
    memset(&cli, 0, sizeof cli);
    cli.out = stdout;
    cli.err = stderr;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fputs("Error: cannot initialise libcurl\n", stderr);
        return KG_CLI_LOCAL;
    }
    rc = run(&cli, argc > 0 ? argc - 1 : 0, argv + (argc > 0));
    kg_cli_http_free(&cli);
    fflush(cli.out);
    curl_global_cleanup();
    return rc;
}
