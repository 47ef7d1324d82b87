// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

/// @title TestToken: a small ERC-20 (EIP-20) for KashGuard's end-to-end wallet tests.
/// @notice Written from the EIP-20 text, not from any library. The whole initial
///         supply goes to the deployer; the deployer may also mint more later, so a
///         test can fund any address. transferFrom with an allowance of
///         type(uint256).max does not decrease it (the common "infinite approval").
contract TestToken {
    string public name;
    string public symbol;
    uint8 public immutable decimals;
    uint256 public totalSupply;
    address public immutable owner;

    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    constructor(string memory name_, string memory symbol_, uint8 decimals_, uint256 supply) {
        name = name_;
        symbol = symbol_;
        decimals = decimals_;
        owner = msg.sender;
        _mint(msg.sender, supply);
    }

    function transfer(address to, uint256 value) external returns (bool) {
        _transfer(msg.sender, to, value);
        return true;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed != type(uint256).max) {
            require(allowed >= value, "TestToken: allowance too low");
            allowance[from][msg.sender] = allowed - value;
        }
        _transfer(from, to, value);
        return true;
    }

    /// @notice Test faucet: only the deployer may mint.
    function mint(address to, uint256 value) external {
        require(msg.sender == owner, "TestToken: only the owner mints");
        _mint(to, value);
    }

    function _mint(address to, uint256 value) internal {
        require(to != address(0), "TestToken: mint to the zero address");
        totalSupply += value;
        balanceOf[to] += value;
        emit Transfer(address(0), to, value);
    }

    function _transfer(address from, address to, uint256 value) internal {
        require(to != address(0), "TestToken: transfer to the zero address");
        uint256 have = balanceOf[from];
        require(have >= value, "TestToken: balance too low");
        unchecked {
            balanceOf[from] = have - value;
        }
        balanceOf[to] += value;
        emit Transfer(from, to, value);
    }
}
