// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

/// @notice Stands in for a generated verifier: accepts any calldata while `accept` is set, answering
/// `answer` (32 bytes of 1, as the generated contract does, unless a test sets something else).
contract MockVerifier {
    bool public accept = true;
    bytes public answer = abi.encode(uint256(1));

    function setAccept(bool value) external {
        accept = value;
    }

    function setAnswer(bytes calldata value) external {
        answer = value;
    }

    fallback(bytes calldata) external returns (bytes memory) {
        if (!accept) revert();
        return answer;
    }
}

/// @notice A "verifier" that succeeds on any calldata with empty returndata (as an account whose code
/// does nothing would): the oracle must not read that as acceptance.
contract MockSilentVerifier {
    fallback() external {}
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
