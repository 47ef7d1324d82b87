// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

/// @notice EIP-721's receiver interface: a contract that accepts safe transfers
///         returns this function's selector (0x150b7a02).
interface IERC721Receiver {
    function onERC721Received(address operator, address from, uint256 tokenId, bytes calldata data)
        external
        returns (bytes4);
}

/// @title TestNFT: a small but standard ERC-721 (EIP-721) for KashGuard's end-to-end tests.
/// @notice Written from the EIP-721 and EIP-165 texts, not from any library.
///         Token ids are minted in sequence from 1 by the deployer (mint(to)).
///         Implements ERC-165, ERC-721 and the optional metadata extension.
contract TestNFT {
    string public name;
    string public symbol;
    address public immutable owner;
    uint256 public nextId = 1;

    mapping(uint256 => address) private _owners;
    mapping(address => uint256) private _balances;
    mapping(uint256 => address) private _approved;
    mapping(address => mapping(address => bool)) private _operators;

    event Transfer(address indexed from, address indexed to, uint256 indexed tokenId);
    event Approval(address indexed owner, address indexed approved, uint256 indexed tokenId);
    event ApprovalForAll(address indexed owner, address indexed operator, bool approved);

    constructor(string memory name_, string memory symbol_) {
        name = name_;
        symbol = symbol_;
        owner = msg.sender;
    }

    // --- ERC-165 ---
    function supportsInterface(bytes4 id) external pure returns (bool) {
        return id == 0x01ffc9a7 // ERC-165
            || id == 0x80ac58cd // ERC-721
            || id == 0x5b5e139f; // ERC-721 metadata
    }

    // --- ERC-721 views ---
    function balanceOf(address who) external view returns (uint256) {
        require(who != address(0), "TestNFT: balance query for the zero address");
        return _balances[who];
    }

    function ownerOf(uint256 tokenId) public view returns (address) {
        address o = _owners[tokenId];
        require(o != address(0), "TestNFT: no such token");
        return o;
    }

    function getApproved(uint256 tokenId) external view returns (address) {
        ownerOf(tokenId);
        return _approved[tokenId];
    }

    function isApprovedForAll(address holder, address operator) external view returns (bool) {
        return _operators[holder][operator];
    }

    function tokenURI(uint256 tokenId) external view returns (string memory) {
        ownerOf(tokenId);
        return string.concat("kashguard-test://nft/", _decimal(tokenId));
    }

    // --- ERC-721 changes ---
    function approve(address approved, uint256 tokenId) external {
        address holder = ownerOf(tokenId);
        require(msg.sender == holder || _operators[holder][msg.sender], "TestNFT: not owner nor operator");
        _approved[tokenId] = approved;
        emit Approval(holder, approved, tokenId);
    }

    function setApprovalForAll(address operator, bool approved) external {
        _operators[msg.sender][operator] = approved;
        emit ApprovalForAll(msg.sender, operator, approved);
    }

    function transferFrom(address from, address to, uint256 tokenId) public {
        address holder = ownerOf(tokenId);
        require(holder == from, "TestNFT: from is not the owner");
        require(
            msg.sender == holder || msg.sender == _approved[tokenId] || _operators[holder][msg.sender],
            "TestNFT: caller is not owner, approved nor operator"
        );
        require(to != address(0), "TestNFT: transfer to the zero address");
        delete _approved[tokenId];
        _balances[from] -= 1;
        _balances[to] += 1;
        _owners[tokenId] = to;
        emit Transfer(from, to, tokenId);
    }

    function safeTransferFrom(address from, address to, uint256 tokenId) external {
        safeTransferFrom(from, to, tokenId, "");
    }

    function safeTransferFrom(address from, address to, uint256 tokenId, bytes memory data) public {
        transferFrom(from, to, tokenId);
        if (to.code.length > 0) {
            try IERC721Receiver(to).onERC721Received(msg.sender, from, tokenId, data) returns (bytes4 ret) {
                require(ret == IERC721Receiver.onERC721Received.selector, "TestNFT: receiver rejected the token");
            } catch {
                revert("TestNFT: receiver does not implement onERC721Received");
            }
        }
    }

    // --- test faucet ---
    /// @notice Only the deployer mints; returns the new token id.
    function mint(address to) external returns (uint256 tokenId) {
        require(msg.sender == owner, "TestNFT: only the owner mints");
        require(to != address(0), "TestNFT: mint to the zero address");
        tokenId = nextId++;
        _balances[to] += 1;
        _owners[tokenId] = to;
        emit Transfer(address(0), to, tokenId);
    }

    function _decimal(uint256 v) private pure returns (string memory) {
        if (v == 0) return "0";
        uint256 len;
        for (uint256 t = v; t != 0; t /= 10) len++;
        bytes memory s = new bytes(len);
        for (; v != 0; v /= 10) s[--len] = bytes1(uint8(48 + v % 10));
        return string(s);
    }
}
