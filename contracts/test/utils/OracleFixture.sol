// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

import {Test} from "./Test.sol";
import {VerifiedInferenceOracle} from "../../src/VerifiedInferenceOracle.sol";

/// @notice Helpers shared by the oracle's tests: field encoding, proofs of the registered length, the
/// statement hash the oracle keys replay protection by, and a model's activation after its policy calls.
abstract contract OracleFixture is Test {
    uint256 internal constant R = 0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001;
    /// @dev The proof length every test model is registered with.
    uint32 internal constant PROOF_LEN = 32;

    /// @dev A signed value as a field element (`r - |x|` for negatives).
    function encode(int256 x) internal pure returns (uint256) {
        // casting to 'uint256' is safe: both operands are non-negative
        // forge-lint: disable-next-line(unsafe-typecast)
        return x >= 0 ? uint256(x) : R - uint256(-x);
    }

    /// @dev An address as the subject instance.
    function word(address subject) internal pure returns (uint256) {
        return uint256(uint160(subject));
    }

    /// @dev One input word, one output, the subject: a score of `fixedScore` / 2^13 on input word `input`, about `subject`.
    function scoreAbout(address subject, uint256 input, int256 fixedScore)
        internal
        pure
        returns (uint256[] memory xs)
    {
        xs = new uint256[](3);
        xs[0] = input;
        xs[1] = encode(fixedScore);
        xs[2] = word(subject);
    }

    /// @dev A proof of the registered length, distinct per `tag`, starting with 0x01 (which the mock
    /// reusable verifier wants).
    function proofOf(uint256 tag) internal pure returns (bytes memory) {
        // truncating `tag` to 248 bits is meant: it only tells proofs apart
        // forge-lint: disable-next-line(unsafe-typecast)
        return bytes.concat(bytes1(0x01), bytes31(uint248(tag)));
    }

    /// @dev What `usedStatements` is keyed by.
    function statementOf(bytes32 modelId, uint256[] memory xs, uint64 attestationId)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(modelId, xs, attestationId));
    }

    /// @dev Activates `modelId` on `oracle` (as the owner: the caller must be it), once its registration
    /// and policy calls are done, and checks that it is live.
    function activate(VerifiedInferenceOracle oracle, bytes32 modelId) internal {
        assertTrue(!oracle.activeModels(modelId), "inactive until activated");
        oracle.activateModel(modelId);
        assertTrue(oracle.activeModels(modelId), "active");
    }

    /// @dev Registers a plain model (no policy) with a model-specific `verifier` and proofs of `PROOF_LEN`
    /// bytes, and activates it.
    function registerLive(
        VerifiedInferenceOracle oracle,
        bytes32 modelId,
        address verifier,
        uint32 numInputs,
        uint32 numOutputs,
        uint8 scale
    ) internal {
        oracle.registerModel(modelId, verifier, numInputs, numOutputs, scale, PROOF_LEN);
        activate(oracle, modelId);
    }
}
