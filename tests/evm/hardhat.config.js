// Hardhat 2 configuration for the local EVM node that the end-to-end tests
// start with `hardhat node` (see lib.sh). Hardhat is used ONLY as a node:
// contracts are compiled by compile.mjs with solc-js, never by hardhat (its
// compiler downloader needs hosts this machine cannot reach). The sources path
// points at a folder that does not exist, so nothing is ever compiled here,
// and cache/artifacts go to the temp dir instead of the source tree.
const os = require("os");
const path = require("path");

module.exports = {
  paths: {
    sources: path.join(__dirname, "no-hardhat-sources"),
    cache: path.join(os.tmpdir(), "kg-hardhat-cache"),
    artifacts: path.join(os.tmpdir(), "kg-hardhat-artifacts"),
  },
  networks: {
    hardhat: {
      chainId: 31337,
      // The well-known development mnemonic; lib.sh exports its first keys.
      accounts: {
        mnemonic: "test test test test test test test test test test test junk",
        count: 10,
        accountsBalance: "10000000000000000000000", // 10000 ETH each
      },
      mining: { auto: true },
    },
  },
};
