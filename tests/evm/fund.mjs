#!/usr/bin/env node
// fund.mjs: gives ADDRESS test funds from dev account 0: ETH, and optionally
// TestToken units and a freshly minted TestNFT.
//
// Usage: node fund.mjs ADDRESS ETH [--token TOKEN --amount UNITS] [--nft NFT]
//                      [--rpc URL] [--key PRIVHEX]
//   ETH       decimal ether, e.g. 1.5 (0 sends no ETH)
//   --token   TestToken address; --amount in whole tokens (decimal, e.g. 250.5)
//   --nft     TestNFT address: mint a new token to ADDRESS
// Prints {"address", "eth_tx", "eth_balance_wei", "token_tx", "token_balance",
//         "nft_tx", "nft_id"} (fields of steps not asked for are null).
import { ethers, out, parseArgs, provider, rpcUrl, run, usage, walletFor } from "./common.mjs";

const USAGE = "ADDRESS ETH [--token TOKEN --amount UNITS] [--nft NFT] [--rpc URL] [--key PRIVHEX]";
const { pos, opts } = parseArgs(process.argv.slice(2), ["rpc", "key", "token", "amount", "nft"], [], USAGE);
if (pos.length !== 2 || (opts.token === undefined) !== (opts.amount === undefined)) usage(USAGE);

const ERC20 = [
  "function transfer(address to, uint256 value) returns (bool)",
  "function balanceOf(address) view returns (uint256)",
  "function decimals() view returns (uint8)",
];
const NFT = [
  "function mint(address to) returns (uint256)",
  "event Transfer(address indexed from, address indexed to, uint256 indexed tokenId)",
];

await run(async () => {
  const url = rpcUrl(opts.rpc);
  const to = ethers.getAddress(pos[0]);
  const wei = ethers.parseEther(pos[1]);
  const signer = walletFor(url, opts.key);
  const res = { address: to, eth_tx: null, eth_balance_wei: null, token_tx: null, token_balance: null, nft_tx: null, nft_id: null };

  if (wei > 0n) {
    const tx = await signer.sendTransaction({ to, value: wei });
    const r = await tx.wait();
    if (r.status !== 1) throw new Error(`ETH transfer ${tx.hash} reverted`);
    res.eth_tx = tx.hash;
  }
  res.eth_balance_wei = await provider(url).getBalance(to);

  if (opts.token) {
    const token = new ethers.Contract(ethers.getAddress(opts.token), ERC20, signer);
    const units = ethers.parseUnits(opts.amount, await token.decimals());
    const tx = await token.transfer(to, units);
    await tx.wait();
    res.token_tx = tx.hash;
    res.token_balance = await token.balanceOf(to);
  }
  if (opts.nft) {
    const nft = new ethers.Contract(ethers.getAddress(opts.nft), NFT, signer);
    const tx = await nft.mint(to);
    const r = await tx.wait();
    const ev = r.logs.map((l) => nft.interface.parseLog(l)).find((l) => l?.name === "Transfer");
    res.nft_tx = tx.hash;
    res.nft_id = ev.args.tokenId;
  }
  out(res);
});
