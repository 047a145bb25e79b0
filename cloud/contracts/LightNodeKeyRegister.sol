// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Light Node key register
/// @notice Maps a device id (the Ethereum address of the device key) to its uncompressed public key.
/// Only enrollers authorised by the owner register and revoke keys. A revoked device id can never be registered
/// again (a new key means a new device id), so a revocation is final and auditable.
contract LightNodeKeyRegister {
    struct Key {
        bytes publicKey; // 64 bytes x‖y (no 0x04 prefix)
        uint64 registeredAt; // block timestamp, seconds
        uint64 revokedAt; // 0 while active
        address enroller;
    }

    address public owner;
    mapping(address => bool) public enrollers;
    mapping(address => Key) private keys;
    uint256 public deviceCount;

    event EnrollerSet(address indexed enroller, bool allowed);
    event DeviceRegistered(address indexed deviceId, bytes publicKey, address indexed enroller);
    event DeviceRevoked(address indexed deviceId, address indexed enroller, string reason);

    error NotOwner(address caller);
    error NotEnroller(address caller);
    error BadPublicKey(address deviceId);
    error AlreadyRegistered(address deviceId);
    error NotRegistered(address deviceId);
    error AlreadyRevoked(address deviceId);

    constructor() {
        owner = msg.sender;
        enrollers[msg.sender] = true;
        emit EnrollerSet(msg.sender, true);
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    modifier onlyEnroller() {
        if (!enrollers[msg.sender]) revert NotEnroller(msg.sender);
        _;
    }

    function setEnroller(address enroller, bool allowed) external onlyOwner {
        enrollers[enroller] = allowed;
        emit EnrollerSet(enroller, allowed);
    }

    /// @param deviceId the device's address; must be keccak256(publicKey)[12:]
    /// @param publicKey 64 bytes x‖y
    function register(address deviceId, bytes calldata publicKey) external onlyEnroller {
        if (publicKey.length != 64 || address(uint160(uint256(keccak256(publicKey)))) != deviceId)
            revert BadPublicKey(deviceId);
        if (keys[deviceId].registeredAt != 0) revert AlreadyRegistered(deviceId);
        keys[deviceId] = Key(publicKey, uint64(block.timestamp), 0, msg.sender);
        deviceCount += 1;
        emit DeviceRegistered(deviceId, publicKey, msg.sender);
    }

    function revoke(address deviceId, string calldata reason) external onlyEnroller {
        Key storage k = keys[deviceId];
        if (k.registeredAt == 0) revert NotRegistered(deviceId);
        if (k.revokedAt != 0) revert AlreadyRevoked(deviceId);
        k.revokedAt = uint64(block.timestamp);
        emit DeviceRevoked(deviceId, msg.sender, reason);
    }

    /// @return publicKey empty when unknown
    function keyOf(address deviceId)
        external
        view
        returns (bytes memory publicKey, uint64 registeredAt, uint64 revokedAt, address enroller)
    {
        Key storage k = keys[deviceId];
        return (k.publicKey, k.registeredAt, k.revokedAt, k.enroller);
    }

    function isActive(address deviceId) external view returns (bool) {
        Key storage k = keys[deviceId];
        return k.registeredAt != 0 && k.revokedAt == 0;
    }
}
