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
