// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

/// @title TestNFTReceiver: a contract wallet stand-in for ERC-721 safe transfers.
/// @notice Accepts tokens (returns onERC721Received's selector) when deployed with
///         accept = true, and answers a wrong value otherwise, so tests can check
///         both branches of safeTransferFrom. Records the last call it received.
contract TestNFTReceiver {
    bool public immutable accept;
    address public lastOperator;
    address public lastFrom;
    uint256 public lastTokenId;
    bytes public lastData;

    constructor(bool accept_) {
        accept = accept_;
    }

    function onERC721Received(address operator, address from, uint256 tokenId, bytes calldata data)
        external
        returns (bytes4)
    {
        lastOperator = operator;
        lastFrom = from;
        lastTokenId = tokenId;
        lastData = data;
        return accept ? this.onERC721Received.selector : bytes4(0xdeadbeef);
    }
}
