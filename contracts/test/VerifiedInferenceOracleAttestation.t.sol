// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

import {OracleFixture} from "./utils/OracleFixture.sol";
import {MockVerifier} from "./utils/Mocks.sol";
import {VerifiedInferenceOracle} from "../src/VerifiedInferenceOracle.sol";
import {RiskAdjustedLending} from "../src/RiskAdjustedLending.sol";

/// @notice A model that accepts only inputs an attester vouched for, and a pool reading its scores.
contract VerifiedInferenceOracleAttestationTest is OracleFixture {
    bytes32 internal constant MODEL = keccak256("attested credit-risk");
    uint64 internal constant MAX_AGE = 50;
    uint64 internal constant MAX_SCORE_AGE = 100;

    event InputAttested(
        bytes32 indexed modelId, address indexed subject, address attester, bytes32 inputHash, uint64 id
    );

    VerifiedInferenceOracle internal oracle;
    RiskAdjustedLending internal pool;
    address internal attester = address(0xA77E57);
    address internal alice = address(0xA11CE);
    address internal bob = address(0xB0B);
    address internal relayer = address(0x5E1A7);

    function setUp() public {
        oracle = new VerifiedInferenceOracle();
        oracle.registerModel(MODEL, address(new MockVerifier()), 1, 1, 13, PROOF_LEN);
        oracle.requireAttestation(MODEL, MAX_AGE);
        oracle.grantAttester(attester);
        activate(oracle, MODEL);
        pool = new RiskAdjustedLending(address(oracle), MODEL, MAX_SCORE_AGE);
        vm.deal(address(pool), 100 ether);
        vm.roll(10);
    }

    function hashOf(uint256 input) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(input));
    }

    function attest(address subject, uint256 input) internal returns (uint64 id) {
        vm.prank(attester);
        id = oracle.attest(MODEL, subject, hashOf(input));
    }

    function test_attest_thenSubmitStoresTheAttestationBlock() public {
        vm.expectEmit(true, true, true, true, address(oracle));
        emit InputAttested(MODEL, alice, attester, hashOf(7), 1);
        uint64 id = attest(alice, 7);
        assertEq(uint256(id), 1, "first id");
        (bytes32 inputHash, address by, uint64 attestedAt, uint64 storedId, uint64 epoch) =
            oracle.attestations(MODEL, alice);
        assertEq(inputHash, hashOf(7), "hash");
        assertEq(by, attester, "attester");
        assertEq(uint256(attestedAt), 10, "block");
        assertEq(uint256(storedId), 1, "id");
        assertEq(uint256(epoch), 0, "the attester's first epoch");

        vm.roll(30);
        vm.prank(relayer);
        oracle.submitInference(MODEL, proofOf(1), scoreAbout(alice, 7, 8192));
        (int256[] memory stored,, uint64 blockNumber) = oracle.latestInference(MODEL, alice);
        assertEq(stored[0], 8192, "alice credited");
        assertEq(uint256(blockNumber), 10, "as of the attestation, not the submission");
        assertTrue(oracle.usedStatements(statementOf(MODEL, scoreAbout(alice, 7, 8192), 1)), "keyed by id");
    }

    function test_borrow_scoreAgeIsTheAttestations() public {
        attest(alice, 7);
        vm.roll(10 + MAX_AGE); // the latest block the attestation is accepted in
        oracle.submitInference(MODEL, proofOf(1), scoreAbout(alice, 7, 8192));
        vm.deal(alice, 10 ether);
        vm.prank(alice);
        pool.depositCollateral{value: 10 ether}();
        vm.roll(10 + MAX_SCORE_AGE);
        assertEq(pool.ltvBps(alice), 6_000, "fresh until maxScoreAge after the attestation");
        // Submitted 51 blocks ago, attested 101 blocks ago: stale.
        vm.roll(10 + MAX_SCORE_AGE + 1);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(RiskAdjustedLending.NoFreshScore.selector, alice));
        pool.borrow(1 ether);
    }

    function test_submitInference_failsForStaleAttestation() public {
        attest(alice, 7);
        vm.roll(10 + MAX_AGE + 1);
        vm.expectRevert(
            abi.encodeWithSelector(VerifiedInferenceOracle.AttestationStale.selector, 10, MAX_AGE)
        );
        oracle.submitInference(MODEL, proofOf(1), scoreAbout(alice, 7, 8192));
        // A new attestation of the same data lets it through.
        attest(alice, 7);
        oracle.submitInference(MODEL, proofOf(1), scoreAbout(alice, 7, 8192));
        (,, uint64 blockNumber) = oracle.latestInference(MODEL, alice);
        assertEq(uint256(blockNumber), 10 + MAX_AGE + 1, "the new attestation's block");
    }

    function test_submitInference_failsForRevokedAttester() public {
        attest(alice, 7);
        attest(bob, 8);
        oracle.submitInference(MODEL, proofOf(1), scoreAbout(bob, 8, 8192));
        oracle.revokeAttester(attester);
        assertTrue(!oracle.attesters(attester), "revoked");
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.AttesterRevoked.selector, attester));
        oracle.submitInference(MODEL, proofOf(1), scoreAbout(alice, 7, 8192));
        // What was stored before on its word is void too (see the `latestInference_*` tests).
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.AttesterRevoked.selector, attester));
        oracle.latestInference(MODEL, bob);
        // A revoked attester attests no more.
        vm.prank(attester);
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.NotAttester.selector, attester));
        oracle.attest(MODEL, alice, hashOf(7));
    }

    function test_submitInference_failsForRevokedAttestation() public {
        attest(alice, 7);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.NotAttester.selector, bob));
        oracle.revokeAttestation(MODEL, alice);
        vm.prank(attester);
        oracle.revokeAttestation(MODEL, alice);
        (,, uint64 attestedAt,,) = oracle.attestations(MODEL, alice);
        assertEq(uint256(attestedAt), 0, "deleted");
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.NoAttestation.selector, MODEL, alice));
        oracle.submitInference(MODEL, proofOf(1), scoreAbout(alice, 7, 8192));
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.NoAttestation.selector, MODEL, alice));
        oracle.revokeAttestation(MODEL, alice);
        // The owner may revoke too.
        attest(alice, 7);
        oracle.revokeAttestation(MODEL, alice);
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.NoAttestation.selector, MODEL, alice));
        oracle.submitInference(MODEL, proofOf(1), scoreAbout(alice, 7, 8192));
    }

    /// @dev Attests `subject`'s input word `input` and stores a score of `fixedScore` on it, relayed.
    function scored(address subject, uint256 input, int256 fixedScore) internal returns (uint64 id) {
        id = attest(subject, input);
        vm.prank(relayer);
        oracle.submitInference(MODEL, proofOf(id), scoreAbout(subject, input, fixedScore));
    }

    /// @dev Both read functions revert with exactly `expected` for `subject`.
    function assertUnreadable(address subject, bytes memory expected) internal {
        vm.expectRevert(expected);
        oracle.latestInference(MODEL, subject);
        vm.expectRevert(expected);
        oracle.latestInferenceDecimals(MODEL, subject, 18);
    }

    function assertScore(address subject, int256 fixedScore) internal view {
        (int256[] memory stored,,) = oracle.latestInference(MODEL, subject);
        assertEq(stored[0], fixedScore, "score");
        (int256[] memory values,) = oracle.latestInferenceDecimals(MODEL, subject, 0);
        assertEq(values[0], fixedScore / 8192, "score in units");
    }

    function test_latestInference_recordsTheAttestation() public {
        uint64 id = scored(alice, 7, 8192);
        (uint64 storedId, address by) = oracle.latestInferenceAttestation(MODEL, alice);
        assertEq(uint256(storedId), uint256(id), "attestation id");
        assertEq(by, attester, "attester");
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.NoInference.selector, MODEL, bob));
        oracle.latestInferenceAttestation(MODEL, bob);
    }

    /// @dev An attester key is compromised: it vouches for made-up data, a top score is proven on it and
    /// the pool lends on it. Revoking the attester stops the pool lending on that score at once (not only
    /// once `maxScoreAge` has passed), and other attesters' scores are unaffected.
    function test_latestInference_refusedOnceTheAttesterIsRevoked() public {
        address other = address(0x07E4);
        oracle.grantAttester(other);
        vm.prank(other);
        oracle.attest(MODEL, bob, hashOf(8));
        oracle.submitInference(MODEL, proofOf(9), scoreAbout(bob, 8, 8192));
        address mallory = address(0xBAD);
        scored(mallory, 666, 3 * 8192);
        vm.deal(mallory, 20 ether);
        vm.startPrank(mallory);
        pool.depositCollateral{value: 20 ether}();
        pool.borrow(1 ether);
        vm.stopPrank();
        assertEq(pool.ltvBps(mallory), 8_000, "made-up top score");

        oracle.revokeAttester(attester);
        bytes memory revoked =
            abi.encodeWithSelector(VerifiedInferenceOracle.AttesterRevoked.selector, attester);
        assertUnreadable(mallory, revoked);
        vm.expectRevert(revoked);
        pool.ltvBps(mallory);
        vm.prank(mallory);
        vm.expectRevert(revoked);
        pool.borrow(1 ether);
        assertEq(pool.debt(mallory), 1 ether, "no further loan");
        // Still recorded, for explaining the refusal.
        (uint64 id, address by) = oracle.latestInferenceAttestation(MODEL, mallory);
        assertEq(by, attester, "proven on the revoked attester's word");
        assertEq(uint256(id), 2, "its attestation");
        // Another attester's scores stand.
        assertScore(bob, 8192);
        assertEq(pool.ltvBps(bob), 6_000, "bob's score still lends");
    }

    function test_latestInference_refusedOnceTheAttestationIsRevoked() public {
        scored(alice, 7, 3 * 8192);
        vm.deal(alice, 10 ether);
        vm.prank(alice);
        pool.depositCollateral{value: 10 ether}();
        assertEq(pool.ltvBps(alice), 8_000, "lends on the score");
        // By the attester.
        vm.prank(attester);
        oracle.revokeAttestation(MODEL, alice);
        bytes memory withdrawn =
            abi.encodeWithSelector(VerifiedInferenceOracle.AttestationWithdrawn.selector, MODEL, alice);
        assertUnreadable(alice, withdrawn);
        vm.prank(alice);
        vm.expectRevert(withdrawn);
        pool.borrow(1 ether);
        // A new attestation alone does not revive the old score; a proof on it gives a new one.
        uint64 id = attest(alice, 8);
        assertUnreadable(
            alice, abi.encodeWithSelector(VerifiedInferenceOracle.AttestationSuperseded.selector, 1, id)
        );
        oracle.submitInference(MODEL, proofOf(2), scoreAbout(alice, 8, -8192));
        assertScore(alice, -8192);
        assertEq(pool.ltvBps(alice), 4_000, "the new score");
        // By the owner.
        oracle.revokeAttestation(MODEL, alice);
        assertUnreadable(alice, withdrawn);
    }

    function test_latestInference_refusedOnceTheAttestationIsReplaced() public {
        scored(alice, 7, 8192);
        scored(bob, 7, 8192);
        vm.roll(20);
        // The attester vouches for new data about alice: her score on the old data is no longer current.
        uint64 id = attest(alice, 9);
        assertEq(uint256(id), 3, "third attestation");
        bytes memory superseded =
            abi.encodeWithSelector(VerifiedInferenceOracle.AttestationSuperseded.selector, 1, 3);
        assertUnreadable(alice, superseded);
        vm.expectRevert(superseded);
        pool.ltvBps(alice);
        // Bob's is untouched.
        assertScore(bob, 8192);
        // The old data's proof is refused on the new attestation; a proof on the new data is read.
        vm.expectRevert(
            abi.encodeWithSelector(VerifiedInferenceOracle.InputNotAttested.selector, hashOf(9), hashOf(7))
        );
        oracle.submitInference(MODEL, proofOf(5), scoreAbout(alice, 7, 8192));
        oracle.submitInference(MODEL, proofOf(5), scoreAbout(alice, 9, 2 * 8192));
        assertScore(alice, 2 * 8192);
        (,, uint64 blockNumber) = oracle.latestInference(MODEL, alice);
        assertEq(uint256(blockNumber), 20, "as of the new attestation");
    }

    /// @dev Revoking and re-granting an attester does not revive what it attested before: neither its old
    /// attestations (at submission) nor the scores proven on them (at read). Its new attestations count.
    function test_reGrantedAttester_oldAttestationsStayVoid() public {
        attest(alice, 7);
        scored(bob, 8, 8192);
        assertEq(uint256(oracle.attesterEpoch(attester)), 0, "epoch 0");
        oracle.revokeAttester(attester);
        assertEq(uint256(oracle.attesterEpoch(attester)), 1, "revoking moves the epoch on");
        oracle.grantAttester(attester);
        assertTrue(oracle.attesters(attester), "granted again");
        (,,,, uint64 oldEpoch) = oracle.attestations(MODEL, alice);
        assertEq(uint256(oldEpoch), 0, "attested in epoch 0");

        bytes memory revoked =
            abi.encodeWithSelector(VerifiedInferenceOracle.AttesterRevoked.selector, attester);
        vm.expectRevert(revoked);
        oracle.submitInference(MODEL, proofOf(1), scoreAbout(alice, 7, 8192));
        assertUnreadable(bob, revoked);
        vm.expectRevert(revoked);
        pool.ltvBps(bob);

        // A new attestation, in the new epoch, works for submission and reading.
        attest(alice, 7);
        (,,,, uint64 epoch) = oracle.attestations(MODEL, alice);
        assertEq(uint256(epoch), 1, "attested in epoch 1");
        oracle.submitInference(MODEL, proofOf(1), scoreAbout(alice, 7, 8192));
        assertScore(alice, 8192);
        assertEq(pool.ltvBps(alice), 6_000, "lends on the new score");
        // Revoked again: the new one is void too, and so on.
        oracle.revokeAttester(attester);
        oracle.grantAttester(attester);
        assertUnreadable(alice, revoked);
    }

    /// @dev A plain model's stored outputs do not depend on any attester.
    function test_latestInference_plainModelIgnoresAttesters() public {
        bytes32 plain = keccak256("plain");
        registerLive(oracle, plain, address(new MockVerifier()), 1, 1, 13);
        vm.prank(alice);
        oracle.submitInference(plain, proofOf(1), scoreAbout(alice, 7, 8192));
        oracle.revokeAttester(attester);
        (uint64 id, address by) = oracle.latestInferenceAttestation(plain, alice);
        assertEq(uint256(id), 0, "no attestation");
        assertEq(by, address(0), "no attester");
        (int256[] memory stored,,) = oracle.latestInference(plain, alice);
        assertEq(stored[0], 8192, "kept");
    }

    function test_submitInference_failsWithoutAttestation() public {
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.NoAttestation.selector, MODEL, alice));
        oracle.submitInference(MODEL, proofOf(1), scoreAbout(alice, 7, 8192));
        // Bob's attestation is not alice's.
        attest(bob, 7);
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.NoAttestation.selector, MODEL, alice));
        oracle.submitInference(MODEL, proofOf(1), scoreAbout(alice, 7, 8192));
    }

    function test_submitInference_failsForUnattestedInputs() public {
        attest(alice, 7);
        vm.expectRevert(
            abi.encodeWithSelector(VerifiedInferenceOracle.InputNotAttested.selector, hashOf(7), hashOf(8))
        );
        oracle.submitInference(MODEL, proofOf(1), scoreAbout(alice, 8, 8192));
    }

    function test_submitInference_failsWhenTheAttestationIsReused() public {
        attest(alice, 7);
        uint256[] memory xs = scoreAbout(alice, 7, 8192);
        oracle.submitInference(MODEL, proofOf(1), xs);
        vm.expectRevert(
            abi.encodeWithSelector(
                VerifiedInferenceOracle.StatementAlreadyUsed.selector, statementOf(MODEL, xs, 1)
            )
        );
        oracle.submitInference(MODEL, proofOf(2), xs);
        // A new attestation of the same data is a new statement.
        vm.roll(20);
        assertEq(uint256(attest(alice, 7)), 2, "second id");
        oracle.submitInference(MODEL, proofOf(2), xs);
        (,, uint64 blockNumber) = oracle.latestInference(MODEL, alice);
        assertEq(uint256(blockNumber), 20, "refreshed");
    }

    function test_attest_failsForNonAttester() public {
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.NotAttester.selector, bob));
        oracle.attest(MODEL, bob, hashOf(7));
        // Not even the owner attests without the role.
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.NotAttester.selector, address(this)));
        oracle.attest(MODEL, bob, hashOf(7));
    }

    function test_attest_checksItsArguments() public {
        vm.startPrank(attester);
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.UnknownModel.selector, bytes32(0)));
        oracle.attest(bytes32(0), alice, hashOf(7));
        vm.expectRevert(VerifiedInferenceOracle.NoSubject.selector);
        oracle.attest(MODEL, address(0), hashOf(7));
        vm.expectRevert(VerifiedInferenceOracle.EmptyInputHash.selector);
        oracle.attest(MODEL, alice, bytes32(0));
        // The hash of no input words would attest nothing.
        vm.expectRevert(VerifiedInferenceOracle.EmptyInputHash.selector);
        oracle.attest(MODEL, alice, keccak256(""));
        bytes32 noWords = oracle.inputHash(new uint256[](0));
        vm.expectRevert(VerifiedInferenceOracle.EmptyInputHash.selector);
        oracle.attest(MODEL, alice, noWords);
        // Ids count up across subjects; a new attestation replaces the subject's last.
        assertEq(uint256(oracle.attest(MODEL, alice, hashOf(7))), 1, "id 1");
        assertEq(uint256(oracle.attest(MODEL, bob, hashOf(7))), 2, "id 2");
        assertEq(uint256(oracle.attest(MODEL, alice, hashOf(9))), 3, "id 3");
        vm.stopPrank();
        (bytes32 inputHash,,, uint64 id,) = oracle.attestations(MODEL, alice);
        assertEq(inputHash, hashOf(9), "replaced");
        assertEq(uint256(id), 3, "replaced id");
        assertEq(uint256(oracle.attestationCount()), 3, "count");
    }

    function test_grantAttester_onlyOwner() public {
        vm.startPrank(alice);
        vm.expectRevert(VerifiedInferenceOracle.NotOwner.selector);
        oracle.grantAttester(alice);
        vm.expectRevert(VerifiedInferenceOracle.NotOwner.selector);
        oracle.revokeAttester(attester);
        vm.expectRevert(VerifiedInferenceOracle.NotOwner.selector);
        oracle.requireAttestation(MODEL, 1);
        vm.stopPrank();
        assertTrue(!oracle.attesters(alice), "not granted");
        assertTrue(oracle.attesters(attester), "not revoked");
        oracle.grantAttester(alice);
        assertTrue(oracle.attesters(alice), "granted by the owner");
    }

    function test_requireAttestation_needsAModelAnAgeAndInputWords() public {
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.UnknownModel.selector, bytes32(0)));
        oracle.requireAttestation(bytes32(0), 10);
        bytes32 id = keccak256("to be attested");
        oracle.registerModel(id, address(new MockVerifier()), 1, 1, 13, PROOF_LEN);
        vm.expectRevert(VerifiedInferenceOracle.InvalidModel.selector);
        oracle.requireAttestation(id, 0);
        oracle.requireAttestation(id, 5);
        assertEq(uint256(oracle.attestationMaxAge(id)), 5, "max age set");
        bytes32 noInputs = keccak256("no input words");
        oracle.registerModel(noInputs, address(new MockVerifier()), 0, 1, 13, PROOF_LEN);
        vm.expectRevert(VerifiedInferenceOracle.InvalidModel.selector);
        oracle.requireAttestation(noInputs, 5);
    }

    function test_requireAttestation_isFrozenOnceActive() public {
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.ModelAlreadyActive.selector, MODEL));
        oracle.requireAttestation(MODEL, 5);
        assertEq(uint256(oracle.attestationMaxAge(MODEL)), MAX_AGE, "max age unchanged");
    }

    function test_inputHash_isThePackedKeccakOfTheWords() public view {
        assertEq(oracle.inputHash(new uint256[](0)), keccak256(""), "no words");
        uint256[] memory words = new uint256[](2);
        words[0] = 7;
        words[1] = R - 1;
        assertEq(oracle.inputHash(words), keccak256(abi.encodePacked(uint256(7), R - 1)), "two words");
    }

    function testFuzz_attestation_coversEveryInputWord(uint256[8] memory seed, uint256 n, uint256 changed)
        public
    {
        uint256[] memory words = new uint256[](bound(n, 1, 8));
        for (uint256 i = 0; i < words.length; ++i) {
            words[i] = seed[i] % R;
        }
        bytes32 id = keccak256("multi-input");
        oracle.registerModel(id, address(new MockVerifier()), uint32(words.length), 1, 13, PROOF_LEN);
        oracle.requireAttestation(id, MAX_AGE);
        activate(oracle, id);
        uint256[] memory xs = new uint256[](words.length + 2);
        for (uint256 i = 0; i < words.length; ++i) {
            xs[i] = words[i];
        }
        xs[words.length] = 8192;
        xs[words.length + 1] = word(alice);
        bytes32 attested = oracle.inputHash(words);
        assertEq(attested, keccak256(abi.encodePacked(words)), "packed keccak");
        vm.prank(attester);
        oracle.attest(id, alice, attested);
        // Changing any one input word breaks it.
        changed %= words.length;
        xs[changed] = (xs[changed] + 1) % R;
        words[changed] = xs[changed];
        vm.expectRevert(
            abi.encodeWithSelector(
                VerifiedInferenceOracle.InputNotAttested.selector,
                attested,
                keccak256(abi.encodePacked(words))
            )
        );
        oracle.submitInference(id, proofOf(1), xs);
        // The attested words go through.
        xs[changed] = (xs[changed] + R - 1) % R;
        oracle.submitInference(id, proofOf(1), xs);
        (int256[] memory stored,,) = oracle.latestInference(id, alice);
        assertEq(stored[0], 8192, "stored");
    }
}
