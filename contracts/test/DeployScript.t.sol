// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

import {Test} from "./utils/Test.sol";
import {MockVerifier} from "./utils/Mocks.sol";
import {VerifiedInferenceOracle} from "../src/VerifiedInferenceOracle.sol";
import {RiskAdjustedLending} from "../src/RiskAdjustedLending.sol";
import {Deploy} from "../../script/Deploy.s.sol";

/// @notice `script/Deploy.s.sol` run in-process. The environment is process-wide and forge runs tests in
/// parallel, so every case is in one test function and no other test sets these variables.
contract DeployScriptTest is Test {
    bytes32 internal constant MODEL = keccak256("deployed credit-risk");
    address internal constant ATTESTER = address(0xA77E57);

    function setEnvironment(address attester, uint256 attestationMaxAge) internal {
        vm.setEnv("ATTESTER", vm.toString(attester));
        vm.setEnv("ATTESTATION_MAX_AGE", vm.toString(attestationMaxAge));
    }

    function test_run_configuresTheModelThenActivatesIt() public {
        address verifier = address(new MockVerifier());
        vm.setEnv("VERIFIER", vm.toString(verifier));
        vm.setEnv("MODEL_ID", vm.toString(MODEL));
        vm.setEnv("NUM_INPUTS", "1");
        vm.setEnv("NUM_OUTPUTS", "1");
        vm.setEnv("PROOF_LENGTH", "32");
        vm.setEnv("KEY", vm.toString(address(0)));
        Deploy script = new Deploy();

        // An attester without a max age (or the reverse) is refused, not deployed as a plain model.
        setEnvironment(ATTESTER, 0);
        vm.expectRevert(
            abi.encodeWithSelector(Deploy.AttestationConfigIncomplete.selector, "ATTESTATION_MAX_AGE")
        );
        script.run();
        setEnvironment(address(0), 50);
        vm.expectRevert(abi.encodeWithSelector(Deploy.AttestationConfigIncomplete.selector, "ATTESTER"));
        script.run();

        // Both: an attested model, live, with its policy frozen.
        setEnvironment(ATTESTER, 50);
        (VerifiedInferenceOracle oracle, RiskAdjustedLending pool) = script.run();
        assertTrue(oracle.activeModels(MODEL), "attested model active");
        assertEq(uint256(oracle.attestationMaxAge(MODEL)), 50, "attestation age");
        assertTrue(oracle.attesters(ATTESTER), "attester granted");
        assertEq(address(pool.oracle()), address(oracle), "pool reads the oracle");
        vm.prank(oracle.owner());
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.ModelAlreadyActive.selector, MODEL));
        oracle.requireAttestation(MODEL, 100);

        // Neither: a plain model, live.
        setEnvironment(address(0), 0);
        (oracle,) = script.run();
        assertTrue(oracle.activeModels(MODEL), "plain model active");
        assertEq(uint256(oracle.attestationMaxAge(MODEL)), 0, "plain");
        assertTrue(!oracle.attesters(ATTESTER), "no attester");
    }
}
