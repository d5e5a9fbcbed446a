// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

/// @notice Stands in for a generated verifier: accepts any calldata while `accept` is set, and records
/// the last calldata it saw.
contract MockVerifier {
    bool public accept = true;

    function setAccept(bool value) external {
        accept = value;
    }

    fallback(bytes calldata) external returns (bytes memory) {
        if (!accept) revert();
        return "";
    }
}

/// @notice Stands in for the reusable verifier: accepts proofs for `goodKey` whose first byte is 0x01, and
/// reverts with the real verifier's `PairingFailed()` otherwise; remembers nothing.
contract MockReusableVerifier {
    error PairingFailed();

    address public immutable goodKey;

    constructor(address key) {
        goodKey = key;
    }

    function verifyProof(address vk, bytes calldata proof, uint256[] calldata) external view returns (bool) {
        if (vk != goodKey || proof.length == 0 || proof[0] != 0x01) revert PairingFailed();
        return true;
    }
}
