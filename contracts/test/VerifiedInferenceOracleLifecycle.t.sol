// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

import {OracleFixture} from "./utils/OracleFixture.sol";
import {MockVerifier} from "./utils/Mocks.sol";
import {VerifiedInferenceOracle} from "../src/VerifiedInferenceOracle.sol";
import {RiskAdjustedLending} from "../src/RiskAdjustedLending.sol";

/// @notice A model's two-step lifecycle: registered, it is inactive and accepts no proof while the owner
/// sets its policy; `activateModel` makes it live and freezes that policy.
contract VerifiedInferenceOracleLifecycleTest is OracleFixture {
    bytes32 internal constant MODEL = keccak256("credit-risk");
    uint64 internal constant MAX_AGE = 50;

    event ModelActivated(bytes32 indexed modelId);

    VerifiedInferenceOracle internal oracle;
    address internal alice = address(0xA11CE);
    address internal mallory = address(0xBAD);
    address internal attester = address(0xA77E57);

    function setUp() public {
        oracle = new VerifiedInferenceOracle();
        oracle.registerModel(MODEL, address(new MockVerifier()), 1, 1, 13, PROOF_LEN);
        oracle.grantAttester(attester);
        vm.roll(10);
    }

    function test_registeredModelIsInactiveUntilActivated() public {
        assertTrue(!oracle.activeModels(MODEL), "inactive when registered");
        uint256[] memory xs = scoreAbout(alice, 7, 8192);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.ModelNotActive.selector, MODEL));
        oracle.submitInference(MODEL, proofOf(1), xs);
        assertTrue(!oracle.usedStatements(statementOf(MODEL, xs, 0)), "nothing burnt");
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.NoInference.selector, MODEL, alice));
        oracle.latestInference(MODEL, alice);

        vm.expectEmit(true, true, true, true, address(oracle));
        emit ModelActivated(MODEL);
        oracle.activateModel(MODEL);
        assertTrue(oracle.activeModels(MODEL), "active");
        vm.prank(alice);
        oracle.submitInference(MODEL, proofOf(1), xs);
        (int256[] memory stored,,) = oracle.latestInference(MODEL, alice);
        assertEq(stored[0], 8192, "accepted once active");
    }

    function testFuzz_inactiveModelAcceptsNothing(address sender, address subject, uint248 tag) public {
        vm.assume(subject != address(0));
        uint256[] memory xs = scoreAbout(subject, 7, 8192);
        vm.prank(sender);
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.ModelNotActive.selector, MODEL));
        oracle.submitInference(MODEL, proofOf(tag), xs);
    }

    function test_submitInference_checksTheModelIsKnownFirst() public {
        bytes32 id = keccak256("never registered");
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.UnknownModel.selector, id));
        oracle.submitInference(id, proofOf(1), scoreAbout(alice, 7, 8192));
        // An inactive model refuses before any other check (here a proof of the wrong length).
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.ModelNotActive.selector, MODEL));
        oracle.submitInference(MODEL, hex"01", scoreAbout(alice, 7, 8192));
    }

    function test_activateModel_onlyOwner() public {
        vm.prank(mallory);
        vm.expectRevert(VerifiedInferenceOracle.NotOwner.selector);
        oracle.activateModel(MODEL);
        assertTrue(!oracle.activeModels(MODEL), "still inactive");
    }

    function test_activateModel_failsForUnknownModel() public {
        bytes32 id = keccak256("never registered");
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.UnknownModel.selector, id));
        oracle.activateModel(id);
    }

    function test_activateModel_failsTwice() public {
        oracle.activateModel(MODEL);
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.ModelAlreadyActive.selector, MODEL));
        oracle.activateModel(MODEL);
    }

    function test_policySettersFailOnceActive() public {
        oracle.activateModel(MODEL);
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.ModelAlreadyActive.selector, MODEL));
        oracle.requireInputCommitment(MODEL);
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.ModelAlreadyActive.selector, MODEL));
        oracle.requireParamCommitment(MODEL, 777);
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.ModelAlreadyActive.selector, MODEL));
        oracle.requireAttestation(MODEL, MAX_AGE);
        assertTrue(!oracle.bindsInputs(MODEL), "no binding");
        assertEq(oracle.paramCommitments(MODEL), 0, "no parameter commitment");
        assertEq(uint256(oracle.attestationMaxAge(MODEL)), 0, "no attestation");
    }

    function test_policySettersStillRequireTheOwner() public {
        oracle.activateModel(MODEL);
        vm.startPrank(mallory);
        vm.expectRevert(VerifiedInferenceOracle.NotOwner.selector);
        oracle.requireInputCommitment(MODEL);
        vm.expectRevert(VerifiedInferenceOracle.NotOwner.selector);
        oracle.requireParamCommitment(MODEL, 777);
        vm.expectRevert(VerifiedInferenceOracle.NotOwner.selector);
        oracle.requireAttestation(MODEL, MAX_AGE);
        vm.stopPrank();
    }

    /// @dev The race the lifecycle closes: between registration and `requireAttestation`, mallory tries to
    /// store a score on self-chosen inputs about herself. The model is not live yet, so she cannot; once it
    /// is, only attested inputs are accepted.
    function test_noSelfChosenScoreBeforeThePolicyIsSet() public {
        RiskAdjustedLending pool = new RiskAdjustedLending(address(oracle), MODEL, 100);
        uint256[] memory madeUp = scoreAbout(mallory, 666, 3 * 8192);
        vm.prank(mallory);
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.ModelNotActive.selector, MODEL));
        oracle.submitInference(MODEL, proofOf(1), madeUp);
        oracle.requireAttestation(MODEL, MAX_AGE);
        oracle.activateModel(MODEL);
        vm.prank(mallory);
        vm.expectRevert(
            abi.encodeWithSelector(VerifiedInferenceOracle.NoAttestation.selector, MODEL, mallory)
        );
        oracle.submitInference(MODEL, proofOf(1), madeUp);
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.NoInference.selector, MODEL, mallory));
        pool.ltvBps(mallory);
    }

    /// @dev Nor can a live plain model be turned into an attested one while its self-chosen scores stay
    /// trusted: its policy is frozen, so a model that needs attestation is a new model id.
    function test_liveModelCannotBecomeAttested() public {
        oracle.activateModel(MODEL);
        vm.prank(mallory);
        oracle.submitInference(MODEL, proofOf(1), scoreAbout(mallory, 666, 3 * 8192));
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.ModelAlreadyActive.selector, MODEL));
        oracle.requireAttestation(MODEL, MAX_AGE);
        assertEq(uint256(oracle.attestationMaxAge(MODEL)), 0, "still plain");
    }

    function test_requireAttestation_refusesAModelWithoutInputWords() public {
        bytes32 id = keccak256("no input words");
        oracle.registerModel(id, address(new MockVerifier()), 0, 1, 13, PROOF_LEN);
        vm.expectRevert(VerifiedInferenceOracle.InvalidModel.selector);
        oracle.requireAttestation(id, MAX_AGE);
        assertEq(uint256(oracle.attestationMaxAge(id)), 0, "not attested");
    }

    function test_requireAttestation_mayBeSetAgainBeforeActivation() public {
        oracle.requireAttestation(MODEL, MAX_AGE);
        oracle.requireAttestation(MODEL, 2 * MAX_AGE);
        assertEq(uint256(oracle.attestationMaxAge(MODEL)), 2 * MAX_AGE, "overwritten");
        oracle.activateModel(MODEL);
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.ModelAlreadyActive.selector, MODEL));
        oracle.requireAttestation(MODEL, MAX_AGE);
        assertEq(uint256(oracle.attestationMaxAge(MODEL)), 2 * MAX_AGE, "frozen");
    }

    /// @dev Attesters may vouch before the model is live; those attestations admit proofs once it is.
    function test_attest_worksBeforeAndAfterActivation() public {
        oracle.requireAttestation(MODEL, MAX_AGE);
        vm.prank(attester);
        uint64 id = oracle.attest(MODEL, alice, keccak256(abi.encodePacked(uint256(7))));
        uint256[] memory xs = scoreAbout(alice, 7, 8192);
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.ModelNotActive.selector, MODEL));
        oracle.submitInference(MODEL, proofOf(1), xs);
        vm.roll(20);
        oracle.activateModel(MODEL);
        oracle.submitInference(MODEL, proofOf(1), xs);
        (int256[] memory stored,, uint64 blockNumber) = oracle.latestInference(MODEL, alice);
        assertEq(stored[0], 8192, "alice credited");
        assertEq(uint256(blockNumber), 10, "as of the attestation made before activation");
        assertTrue(oracle.usedStatements(statementOf(MODEL, xs, id)), "keyed by its id");
        // And after activation.
        vm.prank(attester);
        id = oracle.attest(MODEL, alice, keccak256(abi.encodePacked(uint256(8))));
        oracle.submitInference(MODEL, proofOf(1), scoreAbout(alice, 8, 2 * 8192));
        (stored,, blockNumber) = oracle.latestInference(MODEL, alice);
        assertEq(stored[0], 2 * 8192, "new score");
        assertEq(uint256(blockNumber), 20, "as of the new attestation");
    }
}
