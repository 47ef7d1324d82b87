/* ABI calldata for token transfers (Solidity ABI specification,
 * "Function Selector and Argument Encoding").
 *
 * Calldata is the 4-byte selector, the first 4 bytes of keccak256 of the
 * canonical signature ("transfer(address,uint256)"), then the arguments as
 * 32-byte words: static types in place (addresses right-aligned, uint256
 * big-endian), dynamic ones (bytes) as an offset word pointing into a tail
 * holding the length word and the bytes padded to a multiple of 32.
 *
 * These are the calls a custody policy must recognise and a firmware must
 * display (ERC-20 transfer/approve, ERC-721 transferFrom/safeTransferFrom,
 * ERC-1155 safeTransferFrom), so they are spelled out with fixed-size
 * outputs rather than through a general ABI encoder. */
#include "eth_int.h"

#include <string.h>

void kg_chain_eth_abi_selector(uint8_t out[static 4], const char *signature)
{
    uint8_t h[32];
    kg_crypto_keccak256(h, (const uint8_t *)signature, strlen(signature));
    memcpy(out, h, 4);
}

static void word_addr(uint8_t w[static 32], const uint8_t a[static 20])
{
    memset(w, 0, 12);
    memcpy(w + 12, a, 20);
}

static void word_u64(uint8_t w[static 32], uint64_t v)
{
    kg_chain_eth_u256_from_u64(w, v);
}

void kg_chain_eth_abi_erc20_transfer(uint8_t out[static 68], const uint8_t to[static 20],
                                     const uint8_t amount[static 32])
{
    kg_chain_eth_abi_selector(out, "transfer(address,uint256)");
    word_addr(out + 4, to);
    memcpy(out + 36, amount, 32);
}

void kg_chain_eth_abi_erc20_approve(uint8_t out[static 68], const uint8_t spender[static 20],
                                    const uint8_t amount[static 32])
{
    kg_chain_eth_abi_selector(out, "approve(address,uint256)");
    word_addr(out + 4, spender);
    memcpy(out + 36, amount, 32);
}

static void three_args(uint8_t out[static 100], const char *sig, const uint8_t from[static 20],
                       const uint8_t to[static 20], const uint8_t id[static 32])
{
    kg_chain_eth_abi_selector(out, sig);
    word_addr(out + 4, from);
    word_addr(out + 36, to);
    memcpy(out + 68, id, 32);
}

void kg_chain_eth_abi_erc721_transfer_from(uint8_t out[static 100], const uint8_t from[static 20],
                                           const uint8_t to[static 20], const uint8_t token_id[static 32])
{
    three_args(out, "transferFrom(address,address,uint256)", from, to, token_id);
}

void kg_chain_eth_abi_erc721_safe_transfer_from(uint8_t out[static 100], const uint8_t from[static 20],
                                                const uint8_t to[static 20], const uint8_t token_id[static 32])
{
    three_args(out, "safeTransferFrom(address,address,uint256)", from, to, token_id);
}

size_t kg_chain_eth_abi_erc1155_len(size_t data_len)
{
    size_t padded = (data_len + 31) / 32 * 32;
    return 4 + 6 * 32 + padded; /* 5 head words + the length word + data */
}

kg_err kg_chain_eth_abi_erc1155_safe_transfer_from(uint8_t *out, size_t out_cap, size_t *out_len,
                                                   const uint8_t from[static 20], const uint8_t to[static 20],
                                                   const uint8_t id[static 32], const uint8_t amount[static 32],
                                                   const uint8_t *data, size_t data_len)
{
    *out_len = 0;
    if (data_len > SIZE_MAX / 2 || (data == NULL && data_len > 0))
        return kg_err_set(KG_ERR_BAD_INPUT, "ERC-1155 data is missing or too large");
    size_t need = kg_chain_eth_abi_erc1155_len(data_len);
    if (out_cap < need)
        return kg_err_set(KG_ERR_BAD_INPUT, "ERC-1155 calldata needs %zu bytes; the buffer has %zu", need, out_cap);
    memset(out, 0, need);
    kg_chain_eth_abi_selector(out, "safeTransferFrom(address,address,uint256,uint256,bytes)");
    word_addr(out + 4, from);
    word_addr(out + 36, to);
    memcpy(out + 68, id, 32);
    memcpy(out + 100, amount, 32);
    word_u64(out + 132, 5 * 32); /* offset of the bytes tail from the first argument */
    word_u64(out + 164, data_len);
    if (data_len > 0)
        memcpy(out + 196, data, data_len);
    *out_len = need;
    return KG_OK;
}
