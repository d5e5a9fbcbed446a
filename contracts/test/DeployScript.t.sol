// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

import {OracleFixture} from "./utils/OracleFixture.sol";
import {MockVerifier} from "./utils/Mocks.sol";
import {VerifiedInferenceOracle} from "../src/VerifiedInferenceOracle.sol";
import {RiskAdjustedLending} from "../src/RiskAdjustedLending.sol";
import {Deploy} from "../../script/Deploy.s.sol";

/// @notice `script/Deploy.s.sol` run in-process. The environment is process-wide and forge runs tests in
/// parallel, so every case is in one test function and no other test sets these variables.
contract DeployScriptTest is OracleFixture {
    bytes32 internal constant MODEL = keccak256("deployed credit-risk");
    address internal constant ATTESTER = address(0xA77E57);
    address internal constant ALICE = address(0xA11CE);
    address internal constant RELAYER = address(0x5E1A7);
    /// @dev A parameter commitment as settings.json writes it (hex).
    uint256 internal constant PARAM_COMMITMENT = 0x1234abcd;

    Deploy internal script;

    function setEnvironment(address attester, uint256 attestationMaxAge) internal {
        vm.setEnv("ATTESTER", vm.toString(attester));
        vm.setEnv("ATTESTATION_MAX_AGE", vm.toString(attestationMaxAge));
    }

    /// @dev `[input | score | subject]`, with the parameter commitment `pinned` before the subject when
    /// nonzero.
    function instances(uint256 input, uint256 pinned) internal pure returns (uint256[] memory xs) {
        xs = new uint256[](pinned == 0 ? 3 : 4);
        xs[0] = input;
        xs[1] = 8192;
        if (pinned != 0) xs[2] = pinned;
        xs[xs.length - 1] = word(ALICE);
    }

    function submit(VerifiedInferenceOracle oracle, address sender, uint256[] memory xs) internal {
        vm.prank(sender);
        oracle.submitInference(MODEL, proofOf(1), xs);
    }

    function test_run_configuresTheModelThenActivatesIt() public {
        address verifier = address(new MockVerifier());
        vm.setEnv("VERIFIER", vm.toString(verifier));
        vm.setEnv("MODEL_ID", vm.toString(MODEL));
        vm.setEnv("NUM_INPUTS", "1");
        vm.setEnv("NUM_OUTPUTS", "1");
        vm.setEnv("PROOF_LENGTH", "32");
        vm.setEnv("KEY", vm.toString(address(0)));
        // Empty is unset.
        vm.setEnv("PARAM_COMMITMENT", "");
        vm.setEnv("BIND_INPUTS", "");
        script = new Deploy();

        attestation();
        plain();
        paramCommitment();
        inputBinding();

        vm.setEnv("PARAM_COMMITMENT", "");
        vm.setEnv("BIND_INPUTS", "");
        setEnvironment(address(0), 0);
    }

    function attestation() internal {
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
        assertTrue(!oracle.bindsInputs(MODEL), "attested, not bound");
        assertEq(oracle.paramCommitments(MODEL), 0, "no parameter pin");
        vm.prank(oracle.owner());
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.ModelAlreadyActive.selector, MODEL));
        oracle.requireAttestation(MODEL, 100);
        // The granted attester's word lets a relayer submit for alice.
        vm.prank(ATTESTER);
        oracle.attest(MODEL, ALICE, keccak256(abi.encodePacked(uint256(7))));
        submit(oracle, RELAYER, instances(7, 0));
        (int256[] memory stored,,) = oracle.latestInference(MODEL, ALICE);
        assertEq(stored[0], 8192, "attested score");
        setEnvironment(address(0), 0);
    }

    /// @dev Neither attestation, binding nor a pin: a plain model, live, on which only the subject submits.
    function plain() internal {
        (VerifiedInferenceOracle oracle,) = script.run();
        assertTrue(oracle.activeModels(MODEL), "plain model active");
        assertEq(uint256(oracle.attestationMaxAge(MODEL)), 0, "plain");
        assertTrue(!oracle.bindsInputs(MODEL), "not bound");
        assertEq(oracle.paramCommitments(MODEL), 0, "no parameter pin");
        vm.prank(RELAYER);
        vm.expectRevert(
            abi.encodeWithSelector(VerifiedInferenceOracle.SubjectNotSender.selector, ALICE, RELAYER)
        );
        oracle.submitInference(MODEL, proofOf(1), instances(7, 0));
        submit(oracle, ALICE, instances(7, 0));
    }

    function paramCommitment() internal {
        // Out of the field, or not a number: refused before anything is deployed unpinned.
        vm.setEnv("PARAM_COMMITMENT", vm.toString(R));
        vm.expectRevert(abi.encodeWithSelector(Deploy.EnvOutOfRange.selector, "PARAM_COMMITMENT", R));
        script.run();
        vm.setEnv("PARAM_COMMITMENT", "0xnot-hex");
        vm.expectRevert();
        script.run();
        // 0 is no pin.
        vm.setEnv("PARAM_COMMITMENT", "0");
        (VerifiedInferenceOracle oracle,) = script.run();
        assertEq(oracle.paramCommitments(MODEL), 0, "0: no pin");

        vm.setEnv("PARAM_COMMITMENT", "0x1234abcd");
        (oracle,) = script.run();
        assertTrue(oracle.activeModels(MODEL), "pinned model active");
        assertEq(oracle.paramCommitments(MODEL), PARAM_COMMITMENT, "pinned");
        assertTrue(!oracle.bindsInputs(MODEL), "not bound");
        vm.prank(oracle.owner());
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.ModelAlreadyActive.selector, MODEL));
        oracle.requireParamCommitment(MODEL, PARAM_COMMITMENT + 1);
        // Proofs carry the pinned commitment before the subject: other parameters, or none, are refused.
        vm.prank(ALICE);
        vm.expectRevert(
            abi.encodeWithSelector(
                VerifiedInferenceOracle.ParamCommitmentMismatch.selector,
                PARAM_COMMITMENT,
                PARAM_COMMITMENT + 1
            )
        );
        oracle.submitInference(MODEL, proofOf(1), instances(7, PARAM_COMMITMENT + 1));
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.WrongInstanceCount.selector, 4, 3));
        oracle.submitInference(MODEL, proofOf(1), instances(7, 0));
        submit(oracle, ALICE, instances(7, PARAM_COMMITMENT));
        (int256[] memory stored,,) = oracle.latestInference(MODEL, ALICE);
        assertEq(stored[0], 8192, "pinned score");
        vm.setEnv("PARAM_COMMITMENT", "");
    }

    function inputBinding() internal {
        // Only a boolean: a typo is refused rather than deployed unbound.
        vm.setEnv("BIND_INPUTS", "yes");
        vm.expectRevert(abi.encodeWithSelector(Deploy.EnvNotABool.selector, "BIND_INPUTS", "yes"));
        script.run();
        vm.setEnv("BIND_INPUTS", "2");
        vm.expectRevert(abi.encodeWithSelector(Deploy.EnvNotABool.selector, "BIND_INPUTS", "2"));
        script.run();
        vm.setEnv("BIND_INPUTS", "0");
        (VerifiedInferenceOracle oracle,) = script.run();
        assertTrue(!oracle.bindsInputs(MODEL), "0: unbound");
        vm.setEnv("BIND_INPUTS", "false");
        (oracle,) = script.run();
        assertTrue(!oracle.bindsInputs(MODEL), "false: unbound");
        // Binding needs a single (hashed) input word: refused before anything is deployed.
        vm.setEnv("BIND_INPUTS", "1");
        vm.setEnv("NUM_INPUTS", "2");
        vm.expectRevert(abi.encodeWithSelector(Deploy.BindInputsNeedsOneInputWord.selector, 2));
        script.run();
        vm.setEnv("NUM_INPUTS", "1");

        (oracle,) = script.run();
        assertTrue(oracle.activeModels(MODEL), "bound model active");
        assertTrue(oracle.bindsInputs(MODEL), "bound");
        assertEq(uint256(oracle.attestationMaxAge(MODEL)), 0, "not attested");
        vm.prank(oracle.owner());
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.ModelAlreadyActive.selector, MODEL));
        oracle.requireInputCommitment(MODEL);
        // Only alice's committed data, and then anyone may relay it.
        vm.prank(ALICE);
        oracle.commitInput(MODEL, 7);
        vm.prank(RELAYER);
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.InputNotCommitted.selector, 7, 8));
        oracle.submitInference(MODEL, proofOf(1), instances(8, 0));
        submit(oracle, RELAYER, instances(7, 0));

        // "true", with a pinned commitment too: both set before activation.
        vm.setEnv("BIND_INPUTS", "true");
        vm.setEnv("PARAM_COMMITMENT", vm.toString(PARAM_COMMITMENT));
        (oracle,) = script.run();
        assertTrue(oracle.activeModels(MODEL), "active");
        assertTrue(oracle.bindsInputs(MODEL), "bound");
        assertEq(oracle.paramCommitments(MODEL), PARAM_COMMITMENT, "pinned");
        vm.prank(ALICE);
        oracle.commitInput(MODEL, 7);
        submit(oracle, RELAYER, instances(7, PARAM_COMMITMENT));
        vm.setEnv("BIND_INPUTS", "");
        vm.setEnv("PARAM_COMMITMENT", "");
    }
}
