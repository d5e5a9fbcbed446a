// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

import {Vm} from "../contracts/test/utils/Test.sol";
import {VerifiedInferenceOracle} from "../contracts/src/VerifiedInferenceOracle.sol";
import {RiskAdjustedLending} from "../contracts/src/RiskAdjustedLending.sol";

/// @notice Deploys the oracle, registers a model with an already deployed verifier, sets its policy,
/// activates it (last: a model's policy is frozen once it is live, and it accepts no proof before), and
/// deploys the lending pool.
/// Environment: VERIFIER (address), MODEL_ID (bytes32), NUM_INPUTS and NUM_OUTPUTS (instance counts from
/// the build's settings.json: circuit.input_words and the output count; the oracle adds the pinned
/// parameter commitment, if any, and the subject itself), PROOF_LENGTH (required: the exact proof size in
/// bytes), SCALE (default 13), MAX_SCORE_AGE (blocks, default 1000), KEY (the model's verifying key
/// contract when VERIFIER is the reusable Halo2Verifier; unset for a model-specific verifier), and, for a
/// model that accepts only attested inputs, both ATTESTER (an address granted the attester role) and
/// ATTESTATION_MAX_AGE (nonzero, blocks: the oldest an attestation may be at submission; the pool's score
/// age is then the attestation's). Setting only one of the two reverts (`AttestationConfigIncomplete`)
/// rather than deploying a plain model. Attestation needs NUM_INPUTS > 0, and only fits a model whose
/// outputs are a function of its attested input words (see `VerifiedInferenceOracle.requireAttestation`).
/// Example: VERIFIER=0x.. MODEL_ID=0x.. NUM_INPUTS=1 NUM_OUTPUTS=1 PROOF_LENGTH=.. \
///   forge script script/Deploy.s.sol --rpc-url http://127.0.0.1:8545 --private-key $KEY --broadcast
contract Deploy {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    /// @dev An environment variable does not fit its type.
    error EnvOutOfRange(string name, uint256 value);
    /// @dev An attested model needs both ATTESTER and a nonzero ATTESTATION_MAX_AGE; `missing` names the
    /// one that is unset (or zero).
    error AttestationConfigIncomplete(string missing);

    function run() external returns (VerifiedInferenceOracle oracle, RiskAdjustedLending pool) {
        address verifier = vm.envAddress("VERIFIER");
        bytes32 modelId = vm.envBytes32("MODEL_ID");
        uint32 numInputs = _u32("NUM_INPUTS", vm.envUint("NUM_INPUTS"));
        uint32 numOutputs = _u32("NUM_OUTPUTS", vm.envUint("NUM_OUTPUTS"));
        uint32 proofLength = _u32("PROOF_LENGTH", vm.envUint("PROOF_LENGTH"));
        uint256 scale = vm.envOr("SCALE", uint256(13));
        if (scale > type(uint8).max) revert EnvOutOfRange("SCALE", scale);
        uint64 maxAge = _u64("MAX_SCORE_AGE", vm.envOr("MAX_SCORE_AGE", uint256(1000)));
        address key = vm.envOr("KEY", address(0));
        address attester = vm.envOr("ATTESTER", address(0));
        uint64 attestationMaxAge = _u64("ATTESTATION_MAX_AGE", vm.envOr("ATTESTATION_MAX_AGE", uint256(0)));
        if (attester != address(0) && attestationMaxAge == 0) {
            revert AttestationConfigIncomplete("ATTESTATION_MAX_AGE");
        }
        if (attester == address(0) && attestationMaxAge != 0) revert AttestationConfigIncomplete("ATTESTER");
        // casting to 'uint8' is safe: checked above
        // forge-lint: disable-next-line(unsafe-typecast)
        uint8 scale8 = uint8(scale);
        vm.startBroadcast();
        oracle = new VerifiedInferenceOracle();
        if (key == address(0)) {
            oracle.registerModel(modelId, verifier, numInputs, numOutputs, scale8, proofLength);
        } else {
            oracle.registerModelWithKey(modelId, verifier, key, numInputs, numOutputs, scale8, proofLength);
        }
        if (attester != address(0)) {
            oracle.requireAttestation(modelId, attestationMaxAge);
            oracle.grantAttester(attester);
        }
        // Last: the model goes live with its policy in place, and that policy is frozen from here on.
        oracle.activateModel(modelId);
        pool = new RiskAdjustedLending(oracle, modelId, maxAge);
        vm.stopBroadcast();
    }

    function _u32(string memory name, uint256 value) internal pure returns (uint32) {
        if (value > type(uint32).max) revert EnvOutOfRange(name, value);
        // casting to 'uint32' is safe: checked above
        // forge-lint: disable-next-line(unsafe-typecast)
        return uint32(value);
    }

    function _u64(string memory name, uint256 value) internal pure returns (uint64) {
        if (value > type(uint64).max) revert EnvOutOfRange(name, value);
        // casting to 'uint64' is safe: checked above
        // forge-lint: disable-next-line(unsafe-typecast)
        return uint64(value);
    }
}
