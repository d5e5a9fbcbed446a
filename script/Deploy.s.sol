// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

import {Vm} from "../contracts/test/utils/Test.sol";
import {VerifiedInferenceOracle} from "../contracts/src/VerifiedInferenceOracle.sol";
import {RiskAdjustedLending} from "../contracts/src/RiskAdjustedLending.sol";

/// @notice Deploys the oracle, registers a model with an already deployed verifier, sets its policy,
/// activates it (last: a model's policy is frozen once it is live, and it accepts no proof before), and
/// deploys the lending pool.
/// Environment: VERIFIER (address), MODEL_ID (bytes32), NUM_INPUTS and NUM_OUTPUTS (from the build's
/// settings.json: circuit.input_words and the output count; the oracle's instance layout then has the
/// pinned parameter commitment, when PARAM_COMMITMENT pins one, and the subject after them),
/// PROOF_LENGTH (required: the exact proof size in bytes), SCALE (default 13), MAX_SCORE_AGE (blocks,
/// default 1000), KEY (the model's verifying key contract when VERIFIER is the reusable ReusableHalo2Verifier;
/// unset for a model-specific verifier).
/// Policy, all optional and set before activation:
/// - PARAM_COMMITMENT (uint, e.g. settings.json's `param_commitment`): for a build with hashed parameters,
///   pins the commitment (`requireParamCommitment`) so that only proofs with the published weights are
///   accepted. The verifying key does not bind hashed weights, so such a build needs it: without it the
///   oracle expects one instance fewer and refuses its proofs. Unset or 0: no pin. Must be below the
///   field modulus; a value that does not parse reverts rather than deploying unpinned.
/// - BIND_INPUTS (1/0 or true/false): for a build with hashed inputs (NUM_INPUTS must be 1,
///   `BindInputsNeedsOneInputWord` otherwise), accepts only proofs about the subject's own committed data
///   (`requireInputCommitment`). Unset, empty, 0 or false: off. Anything else reverts (`EnvNotABool`)
///   rather than deploying an unbound model.
/// - ATTESTER (an address granted the attester role) and ATTESTATION_MAX_AGE (nonzero, blocks: the oldest
///   an attestation may be at submission; the pool's score age is then the attestation's), both for a
///   model that accepts only attested inputs. Setting only one of the two reverts
///   (`AttestationConfigIncomplete`) rather than deploying a plain model. Attestation needs NUM_INPUTS >
///   0, and only fits a model whose outputs are a function of its attested input words (see
///   `VerifiedInferenceOracle.requireAttestation`).
/// Example: VERIFIER=0x.. MODEL_ID=0x.. NUM_INPUTS=1 NUM_OUTPUTS=1 PROOF_LENGTH=.. \
///   forge script script/Deploy.s.sol --rpc-url http://127.0.0.1:8545 --private-key $KEY --broadcast
contract Deploy {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    /// @dev An environment variable does not fit its type.
    error EnvOutOfRange(string name, uint256 value);
    /// @dev An attested model needs both ATTESTER and a nonzero ATTESTATION_MAX_AGE; `missing` names the
    /// one that is unset (or zero).
    error AttestationConfigIncomplete(string missing);
    /// @dev A boolean environment variable is neither unset/empty, 0/1 nor false/true.
    error EnvNotABool(string name, string value);
    /// @dev BIND_INPUTS needs a hashed-input build: exactly one input word (its commitment).
    error BindInputsNeedsOneInputWord(uint256 numInputs);

    /// @dev The BN254 scalar field modulus: a parameter commitment must be below it.
    uint256 internal constant FIELD_MODULUS =
        0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001;

    /// @dev The model's policy, as read from the environment.
    struct Policy {
        uint256 paramCommitment;
        bool bindInputs;
        address attester;
        uint64 attestationMaxAge;
    }

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
        Policy memory policy = _policy();
        if (policy.bindInputs && numInputs != 1) revert BindInputsNeedsOneInputWord(numInputs);
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
        if (policy.paramCommitment != 0) oracle.requireParamCommitment(modelId, policy.paramCommitment);
        if (policy.bindInputs) oracle.requireInputCommitment(modelId);
        if (policy.attester != address(0)) {
            oracle.requireAttestation(modelId, policy.attestationMaxAge);
            oracle.grantAttester(policy.attester);
        }
        // Last: the model goes live with its policy in place, and that policy is frozen from here on.
        oracle.activateModel(modelId);
        pool = new RiskAdjustedLending(address(oracle), modelId, maxAge);
        vm.stopBroadcast();
    }

    /// @dev Reads and checks the optional policy variables (before anything is broadcast).
    function _policy() internal view returns (Policy memory policy) {
        policy.attester = vm.envOr("ATTESTER", address(0));
        policy.attestationMaxAge = _u64("ATTESTATION_MAX_AGE", vm.envOr("ATTESTATION_MAX_AGE", uint256(0)));
        if (policy.attester != address(0) && policy.attestationMaxAge == 0) {
            revert AttestationConfigIncomplete("ATTESTATION_MAX_AGE");
        }
        if (policy.attester == address(0) && policy.attestationMaxAge != 0) {
            revert AttestationConfigIncomplete("ATTESTER");
        }
        policy.paramCommitment = _isSet("PARAM_COMMITMENT") ? vm.envUint("PARAM_COMMITMENT") : 0;
        if (policy.paramCommitment >= FIELD_MODULUS) {
            revert EnvOutOfRange("PARAM_COMMITMENT", policy.paramCommitment);
        }
        policy.bindInputs = _bool("BIND_INPUTS");
    }

    /// @dev Whether `name` is set to something nonempty. (`vm.envOr` falls back to its default for a value
    /// that does not parse, so a set variable is read with the strict `vm.env*` instead.)
    function _isSet(string memory name) internal view returns (bool) {
        return bytes(vm.envOr(name, string(""))).length != 0;
    }

    /// @dev An optional flag: unset or empty is false; "1"/"true" and "0"/"false" are read strictly.
    function _bool(string memory name) internal view returns (bool) {
        string memory value = vm.envOr(name, string(""));
        bytes32 h = keccak256(bytes(value));
        if (bytes(value).length == 0 || h == keccak256("0") || h == keccak256("false")) return false;
        if (h == keccak256("1") || h == keccak256("true")) return true;
        revert EnvNotABool(name, value);
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
