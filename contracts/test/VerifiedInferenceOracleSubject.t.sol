// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

import {OracleFixture} from "./utils/OracleFixture.sol";
import {MockVerifier} from "./utils/Mocks.sol";
import {VerifiedInferenceOracle} from "../src/VerifiedInferenceOracle.sol";
import {RiskAdjustedLending} from "../src/RiskAdjustedLending.sol";

/// @notice Outputs go to the subject a proof names. Where the subject's inputs are pinned (input binding or
/// attestation) anyone may send the proof: relayers work, front-runners gain nothing. On a plain model only
/// the subject may: a relayer or front-runner is refused, and nobody overwrites another account's output.
contract VerifiedInferenceOracleSubjectTest is OracleFixture {
    /// @dev Binds inputs: its input word is the subject's committed data. The pool reads it.
    bytes32 internal constant MODEL = keccak256("credit-risk");
    /// @dev Requires attested inputs.
    bytes32 internal constant ATTESTED = keccak256("attested credit-risk");
    /// @dev Neither: the prover chooses the inputs. `plainPool` reads it.
    bytes32 internal constant PLAIN = keccak256("plain credit-risk");
    /// @dev Alice's committed input data (a commitment word) for `MODEL`.
    uint256 internal constant ALICE_DATA = 7;
    uint64 internal constant MAX_AGE = 50;

    event InferenceVerified(
        bytes32 indexed modelId,
        address indexed subject,
        address submitter,
        bytes32 statement,
        int256[] outputs
    );

    VerifiedInferenceOracle internal oracle;
    RiskAdjustedLending internal pool;
    RiskAdjustedLending internal plainPool;
    address internal alice = address(0xA11CE);
    address internal relayer = address(0x5E1A7);
    address internal mallory = address(0xBAD);
    address internal attester = address(0xA77E57);

    function setUp() public {
        oracle = new VerifiedInferenceOracle();
        oracle.registerModel(MODEL, address(new MockVerifier()), 1, 1, 13, PROOF_LEN);
        oracle.requireInputCommitment(MODEL);
        activate(oracle, MODEL);
        oracle.registerModel(ATTESTED, address(new MockVerifier()), 1, 1, 13, PROOF_LEN);
        oracle.requireAttestation(ATTESTED, MAX_AGE);
        activate(oracle, ATTESTED);
        oracle.grantAttester(attester);
        registerLive(oracle, PLAIN, address(new MockVerifier()), 1, 1, 13);
        pool = new RiskAdjustedLending(address(oracle), MODEL, 100);
        plainPool = new RiskAdjustedLending(address(oracle), PLAIN, 100);
        vm.deal(address(pool), 100 ether);
        vm.deal(address(plainPool), 100 ether);
        vm.deal(alice, 10 ether);
        vm.prank(alice);
        oracle.commitInput(MODEL, ALICE_DATA);
    }

    function test_submitInference_creditsTheSubjectNotTheRelayer() public {
        uint256[] memory xs = scoreAbout(alice, ALICE_DATA, 8192);
        int256[] memory expected = new int256[](1);
        expected[0] = 8192;
        vm.expectEmit(true, true, true, true, address(oracle));
        emit InferenceVerified(MODEL, alice, relayer, statementOf(MODEL, xs, 0), expected);
        vm.prank(relayer);
        oracle.submitInference(MODEL, proofOf(1), xs);

        (int256[] memory stored,, uint64 blockNumber) = oracle.latestInference(MODEL, alice);
        assertEq(stored[0], 8192, "alice credited");
        assertEq(uint256(blockNumber), block.number, "as of the submission");
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.NoInference.selector, MODEL, relayer));
        oracle.latestInference(MODEL, relayer);
        // The pool sees alice's score.
        assertEq(pool.ltvBps(alice), 6_000, "alice's ltv");
    }

    function test_submitInference_frontRunnerOnlyCreditsTheSubject() public {
        uint256[] memory xs = scoreAbout(alice, ALICE_DATA, 2 * 8192);
        bytes memory proof = proofOf(1);
        // Mallory copies alice's pending calldata and gets in first.
        vm.prank(mallory);
        oracle.submitInference(MODEL, proof, xs);
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.NoInference.selector, MODEL, mallory));
        oracle.latestInference(MODEL, mallory);
        // Alice's own transaction then finds the statement used...
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(
                VerifiedInferenceOracle.StatementAlreadyUsed.selector, statementOf(MODEL, xs, 0)
            )
        );
        oracle.submitInference(MODEL, proof, xs);
        // ...but she holds the score, and borrows with it; mallory cannot.
        (int256[] memory stored,,) = oracle.latestInference(MODEL, alice);
        assertEq(stored[0], 2 * 8192, "alice holds the score");
        vm.startPrank(alice);
        pool.depositCollateral{value: 10 ether}();
        pool.borrow(7 ether);
        vm.stopPrank();
        assertEq(pool.debt(alice), 7 ether, "alice borrowed at 70%");
        vm.deal(mallory, 10 ether);
        vm.startPrank(mallory);
        pool.depositCollateral{value: 10 ether}();
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.NoInference.selector, MODEL, mallory));
        pool.borrow(1 ether);
        vm.stopPrank();
    }

    function testFuzz_submitInference_creditsTheSubjectWhoeverSends(
        address sender,
        address subject,
        int64 score,
        bool attested
    ) public {
        vm.assume(subject != address(0));
        bytes32 id = attested ? ATTESTED : MODEL;
        // The subject's inputs are pinned: by an attester, or by the subject's own commitment.
        uint256 input = uint256(keccak256(abi.encode(subject))) % R;
        if (attested) {
            vm.prank(attester);
            oracle.attest(ATTESTED, subject, keccak256(abi.encodePacked(input)));
        } else {
            vm.assume(subject != alice && input != 0);
            vm.prank(subject);
            oracle.commitInput(MODEL, input);
        }
        vm.prank(sender);
        oracle.submitInference(id, proofOf(1), scoreAbout(subject, input, score));
        (int256[] memory stored,,) = oracle.latestInference(id, subject);
        assertEq(stored[0], score, "subject credited");
        if (sender != subject) {
            vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.NoInference.selector, id, sender));
            oracle.latestInference(id, sender);
        }
    }

    function test_submitInference_plainModelRefusesARelayer() public {
        uint256[] memory xs = scoreAbout(alice, 7, 8192);
        vm.prank(relayer);
        vm.expectRevert(
            abi.encodeWithSelector(VerifiedInferenceOracle.SubjectNotSender.selector, alice, relayer)
        );
        oracle.submitInference(PLAIN, proofOf(1), xs);
        // Nothing stored, nothing burnt: alice sends the same calldata herself.
        assertTrue(!oracle.usedStatements(statementOf(PLAIN, xs, 0)), "statement not burnt");
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.NoInference.selector, PLAIN, alice));
        oracle.latestInference(PLAIN, alice);
        int256[] memory expected = new int256[](1);
        expected[0] = 8192;
        vm.expectEmit(true, true, true, true, address(oracle));
        emit InferenceVerified(PLAIN, alice, alice, statementOf(PLAIN, xs, 0), expected);
        vm.prank(alice);
        oracle.submitInference(PLAIN, proofOf(1), xs);
        (int256[] memory stored,, uint64 blockNumber) = oracle.latestInference(PLAIN, alice);
        assertEq(stored[0], 8192, "alice credited");
        assertEq(uint256(blockNumber), block.number, "as of her submission");
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.NoInference.selector, PLAIN, relayer));
        oracle.latestInference(PLAIN, relayer);
    }

    function test_submitInference_plainModelFrontRunnerGainsNothing() public {
        uint256[] memory xs = scoreAbout(alice, 7, 2 * 8192);
        bytes memory proof = proofOf(1);
        // Mallory copies alice's pending calldata and gets in first: refused.
        vm.prank(mallory);
        vm.expectRevert(
            abi.encodeWithSelector(VerifiedInferenceOracle.SubjectNotSender.selector, alice, mallory)
        );
        oracle.submitInference(PLAIN, proof, xs);
        // Alice's own transaction then goes through (the statement was not burnt), and she borrows.
        vm.prank(alice);
        oracle.submitInference(PLAIN, proof, xs);
        vm.startPrank(alice);
        plainPool.depositCollateral{value: 10 ether}();
        plainPool.borrow(7 ether);
        vm.stopPrank();
        assertEq(plainPool.debt(alice), 7 ether, "alice borrowed at 70%");
        // Mallory has no score, so borrows nothing.
        vm.deal(mallory, 10 ether);
        vm.startPrank(mallory);
        plainPool.depositCollateral{value: 10 ether}();
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.NoInference.selector, PLAIN, mallory));
        plainPool.borrow(1 ether);
        vm.stopPrank();
    }

    function test_submitInference_plainModelNobodyOverwritesAnothersOutput() public {
        vm.prank(alice);
        oracle.submitInference(PLAIN, proofOf(1), scoreAbout(alice, 7, 2 * 8192));
        // Mallory proves made-up inputs about alice (a bad score) with the public proving key: refused.
        uint256[] memory forged = scoreAbout(alice, 666, -8192);
        vm.prank(mallory);
        vm.expectRevert(
            abi.encodeWithSelector(VerifiedInferenceOracle.SubjectNotSender.selector, alice, mallory)
        );
        oracle.submitInference(PLAIN, proofOf(2), forged);
        (int256[] memory stored,,) = oracle.latestInference(PLAIN, alice);
        assertEq(stored[0], 2 * 8192, "alice's score kept");
        assertEq(plainPool.ltvBps(alice), 7_000, "alice's ltv kept");
    }

    function testFuzz_submitInference_plainModelOnlyTheSubjectSends(
        address sender,
        address subject,
        int64 score,
        int64 forged
    ) public {
        vm.assume(subject != address(0) && sender != subject);
        uint256[] memory xs = scoreAbout(subject, 7, score);
        vm.prank(sender);
        vm.expectRevert(
            abi.encodeWithSelector(VerifiedInferenceOracle.SubjectNotSender.selector, subject, sender)
        );
        oracle.submitInference(PLAIN, proofOf(1), xs);
        vm.prank(subject);
        oracle.submitInference(PLAIN, proofOf(1), xs);
        // The sender cannot replace the subject's output with its own proof about the subject either.
        vm.prank(sender);
        vm.expectRevert(
            abi.encodeWithSelector(VerifiedInferenceOracle.SubjectNotSender.selector, subject, sender)
        );
        oracle.submitInference(PLAIN, proofOf(2), scoreAbout(subject, 8, forged));
        (int256[] memory stored,,) = oracle.latestInference(PLAIN, subject);
        assertEq(stored[0], score, "the subject's own output");
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.NoInference.selector, PLAIN, sender));
        oracle.latestInference(PLAIN, sender);
    }
}
