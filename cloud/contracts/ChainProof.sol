// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Light Node anchor-window roots
/// @notice A BAL instance anchors the Merkle root of the batches it accepted in one anchor window. Several BAL
/// instances may anchor their own roots for the same window; a root is anchored once.
contract ChainProof {
    struct Anchor {
        uint32 leafCount;
        uint64 slotStartMs; // anchor-window start, UTC epoch ms
        uint64 blockNumber;
        uint64 anchoredAt; // block timestamp, seconds
        address anchorer;
    }

    address public owner;
    mapping(address => bool) public anchorers;
    mapping(bytes32 => Anchor) private anchors;
    uint256 public anchorCount;

    event AnchorerSet(address indexed anchorer, bool allowed);
    event Anchored(bytes32 indexed slotRoot, uint32 leafCount, uint64 slotStartMs, address indexed anchorer);

    error NotOwner(address caller);
    error NotAnchorer(address caller);
    error EmptyWindow();
    error AlreadyAnchored(bytes32 slotRoot);

    constructor() {
        owner = msg.sender;
        anchorers[msg.sender] = true;
        emit AnchorerSet(msg.sender, true);
    }

    function setAnchorer(address anchorer, bool allowed) external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        anchorers[anchorer] = allowed;
        emit AnchorerSet(anchorer, allowed);
    }

    function anchor(bytes32 slotRoot, uint32 leafCount, uint64 slotStartMs) external {
        if (!anchorers[msg.sender]) revert NotAnchorer(msg.sender);
        if (leafCount == 0) revert EmptyWindow();
        if (anchors[slotRoot].blockNumber != 0) revert AlreadyAnchored(slotRoot);
        anchors[slotRoot] = Anchor(leafCount, slotStartMs, uint64(block.number), uint64(block.timestamp), msg.sender);
        anchorCount += 1;
        emit Anchored(slotRoot, leafCount, slotStartMs, msg.sender);
    }

    /// @return a (leafCount 0 when the root was never anchored)
    function anchorOf(bytes32 slotRoot) external view returns (Anchor memory a) {
        return anchors[slotRoot];
    }
}
