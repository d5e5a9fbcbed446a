// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

import {Vm} from "../contracts/test/utils/Test.sol";
import {VerifiedInferenceOracle} from "../contracts/src/VerifiedInferenceOracle.sol";
import {RiskAdjustedLending} from "../contracts/src/RiskAdjustedLending.sol";

/// @notice Deploys the oracle (registering a model with an already deployed verifier) and the lending pool.
/// Environment: VERIFIER (address), MODEL_ID (bytes32), NUM_INPUTS and NUM_OUTPUTS (instance counts from
/// the build's settings.json: circuit.input_words and the output count), SCALE (default 13),
/// MAX_SCORE_AGE (blocks, default 1000), KEY (the model's verifying key contract when VERIFIER is the
/// reusable Halo2Verifier; unset for a model-specific verifier).
/// Example: VERIFIER=0x.. MODEL_ID=0x.. NUM_INPUTS=1 NUM_OUTPUTS=1 forge script script/Deploy.s.sol \
///   --rpc-url http://127.0.0.1:8545 --private-key $KEY --broadcast
contract Deploy {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    function run() external returns (VerifiedInferenceOracle oracle, RiskAdjustedLending pool) {
        address verifier = vm.envAddress("VERIFIER");
        bytes32 modelId = vm.envBytes32("MODEL_ID");
        uint32 numInputs = uint32(vm.envUint("NUM_INPUTS"));
        uint32 numOutputs = uint32(vm.envUint("NUM_OUTPUTS"));
        uint8 scale = uint8(vm.envOr("SCALE", uint256(13)));
        uint64 maxAge = uint64(vm.envOr("MAX_SCORE_AGE", uint256(1000)));
        address key = vm.envOr("KEY", address(0));
        vm.startBroadcast();
        oracle = new VerifiedInferenceOracle();
        if (key == address(0)) {
            oracle.registerModel(modelId, verifier, numInputs, numOutputs, scale);
        } else {
            oracle.registerModelWithKey(modelId, verifier, key, numInputs, numOutputs, scale);
        }
        pool = new RiskAdjustedLending(oracle, modelId, maxAge);
        vm.stopBroadcast();
    }
}
