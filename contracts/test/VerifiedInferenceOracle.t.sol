// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

import {OracleFixture} from "./utils/OracleFixture.sol";
import {MockVerifier, MockSilentVerifier, MockReusableVerifier} from "./utils/Mocks.sol";
import {VerifiedInferenceOracle} from "../src/VerifiedInferenceOracle.sol";

/// @notice A plain model (neither input binding nor attestation): only the subject, alice, may submit, so
/// every accepted submission here is sent by her.
contract VerifiedInferenceOracleTest is OracleFixture {
    bytes32 internal constant MODEL = keccak256("model");

    VerifiedInferenceOracle internal oracle;
    MockVerifier internal verifier;
    address internal alice = address(0xA11CE);

    function setUp() public {
        oracle = new VerifiedInferenceOracle();
        verifier = new MockVerifier();
        registerLive(oracle, MODEL, address(verifier), 2, 1, 13);
    }

    /// @dev Two input words, one output, about alice.
    function instances(int256 a, int256 b, int256 out) internal view returns (uint256[] memory xs) {
        xs = new uint256[](4);
        xs[0] = encode(a);
        xs[1] = encode(b);
        xs[2] = encode(out);
        xs[3] = word(alice);
    }

    function test_registerModel_onlyOwner() public {
        vm.prank(alice);
        vm.expectRevert(VerifiedInferenceOracle.NotOwner.selector);
        oracle.registerModel(keccak256("other"), address(verifier), 1, 1, 13, PROOF_LEN);
    }

    function test_registerModel_rejectsDuplicateAndInvalid() public {
        vm.expectRevert(
            abi.encodeWithSelector(VerifiedInferenceOracle.ModelAlreadyRegistered.selector, MODEL)
        );
        oracle.registerModel(MODEL, address(verifier), 2, 1, 13, PROOF_LEN);
        vm.expectRevert(VerifiedInferenceOracle.InvalidModel.selector);
        oracle.registerModel(keccak256("eoa"), alice, 2, 1, 13, PROOF_LEN);
        vm.expectRevert(VerifiedInferenceOracle.InvalidModel.selector);
        oracle.registerModel(keccak256("no outputs"), address(verifier), 2, 0, 13, PROOF_LEN);
        vm.expectRevert(VerifiedInferenceOracle.InvalidModel.selector);
        oracle.registerModel(keccak256("no proof length"), address(verifier), 2, 1, 13, 0);
    }

    function test_registerModel_rejectsScaleFrom128() public {
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.InvalidScale.selector, 128));
        oracle.registerModel(keccak256("scale 128"), address(verifier), 2, 1, 128, PROOF_LEN);
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.InvalidScale.selector, 255));
        oracle.registerModel(keccak256("scale 255"), address(verifier), 2, 1, 255, PROOF_LEN);
        // 127 is the largest: the decimal view divides by 2^127 without wrapping.
        bytes32 id = keccak256("scale 127");
        registerLive(oracle, id, address(verifier), 2, 1, 127);
        (,,,, uint8 scale, uint32 proofLength) = oracle.models(id);
        assertEq(uint256(scale), 127, "scale stored");
        assertEq(uint256(proofLength), PROOF_LEN, "proof length stored");
        vm.prank(alice);
        oracle.submitInference(id, proofOf(1), instances(0, 0, int256(1) << 127));
        (int256[] memory values,) = oracle.latestInferenceDecimals(id, alice, 2);
        assertEq(values[0], 100, "2^127 / 2^127 at 2 decimals");
    }

    function test_submitInference_storesDecodedOutputs() public {
        vm.prank(alice);
        int256[] memory outputs = oracle.submitInference(MODEL, proofOf(1), instances(5, -7, -8192));
        assertEq(outputs[0], -8192, "returned output");
        (int256[] memory stored, uint8 scale, uint64 blockNumber) = oracle.latestInference(MODEL, alice);
        assertEq(stored.length, 1, "one output");
        assertEq(stored[0], -8192, "stored output");
        assertEq(uint256(scale), 13, "scale");
        assertEq(uint256(blockNumber), block.number, "block");
    }

    function test_latestInferenceDecimals_rescalesTowardZero() public {
        // scale 13: -8193 / 8192 = -1.0001220703125, 12289 / 8192 = 1.5001220703125
        vm.prank(alice);
        oracle.submitInference(MODEL, proofOf(1), instances(5, -7, -8193));
        (int256[] memory values, uint64 blockNumber) = oracle.latestInferenceDecimals(MODEL, alice, 4);
        assertEq(values[0], -10001, "rounded toward zero at 4 decimals");
        assertEq(uint256(blockNumber), block.number, "block");
        (values,) = oracle.latestInferenceDecimals(MODEL, alice, 18);
        assertEq(values[0], -1000122070312500000, "wad");
        (values,) = oracle.latestInferenceDecimals(MODEL, alice, 0);
        assertEq(values[0], -1, "integer part");
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.InvalidDecimals.selector, 39));
        oracle.latestInferenceDecimals(MODEL, alice, 39);
        vm.expectRevert(
            abi.encodeWithSelector(VerifiedInferenceOracle.NoInference.selector, MODEL, address(this))
        );
        oracle.latestInferenceDecimals(MODEL, address(this), 4);
    }

    function testFuzz_latestInferenceDecimals_matchesDivision(int64 output, uint8 decimals) public {
        decimals = uint8(bound(decimals, 0, 38));
        vm.prank(alice);
        oracle.submitInference(MODEL, proofOf(decimals), instances(0, 0, output));
        (int256[] memory values,) = oracle.latestInferenceDecimals(MODEL, alice, decimals);
        assertEq(values[0], (int256(output) * int256(10 ** uint256(decimals))) / 8192, "rescaled");
    }

    function test_outputsBeyondInt64AreStoredWide() public {
        // A hashed-output model's "output" is a commitment: a field element of any size.
        int256 big = int256(1) << 200;
        vm.prank(alice);
        oracle.submitInference(MODEL, proofOf(1), instances(0, 0, big));
        (int256[] memory stored,,) = oracle.latestInference(MODEL, alice);
        assertEq(stored[0], big, "wide output");
        // Then a small one replaces it, packed.
        vm.prank(alice);
        oracle.submitInference(MODEL, proofOf(2), instances(0, 0, -5));
        (stored,,) = oracle.latestInference(MODEL, alice);
        assertEq(stored.length, 1, "one output");
        assertEq(stored[0], -5, "packed output");
    }

    function testFuzz_storedOutputsRoundTrip(int256 out) public {
        // casting is safe: the bounded value fits either type
        // forge-lint: disable-next-line(unsafe-typecast)
        out = int256(bound(uint256(out), 0, type(uint128).max)) - int256(uint256(type(uint128).max / 2));
        vm.prank(alice);
        oracle.submitInference(MODEL, proofOf(1), instances(1, 2, out));
        (int256[] memory stored,,) = oracle.latestInference(MODEL, alice);
        assertEq(stored[0], out, "round trip");
    }

    function test_submitInference_failsForUnknownModel() public {
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.UnknownModel.selector, bytes32(0)));
        oracle.submitInference(bytes32(0), proofOf(1), instances(1, 2, 3));
    }

    function test_submitInference_failsForWrongInstanceCount() public {
        // The layout before subjects: inputs and outputs only.
        uint256[] memory xs = new uint256[](3);
        xs[2] = word(alice);
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.WrongInstanceCount.selector, 4, 3));
        oracle.submitInference(MODEL, proofOf(1), xs);
    }

    function test_submitInference_failsForInstanceNotInField() public {
        uint256[] memory xs = instances(1, 2, 3);
        xs[1] = R;
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.InstanceNotInField.selector, 1));
        oracle.submitInference(MODEL, proofOf(1), xs);
        xs[1] = R + 2;
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.InstanceNotInField.selector, 1));
        oracle.submitInference(MODEL, proofOf(1), xs);
        xs[1] = 2;
        xs[3] = R;
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.InstanceNotInField.selector, 3));
        oracle.submitInference(MODEL, proofOf(1), xs);
    }

    function test_submitInference_failsForSubjectNotAnAddress() public {
        uint256[] memory xs = instances(1, 2, 3);
        xs[3] = 1 << 160;
        vm.expectRevert(
            abi.encodeWithSelector(VerifiedInferenceOracle.SubjectNotAnAddress.selector, 1 << 160)
        );
        oracle.submitInference(MODEL, proofOf(1), xs);
        xs[3] = R - 1;
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.SubjectNotAnAddress.selector, R - 1));
        oracle.submitInference(MODEL, proofOf(1), xs);
        // The largest address is fine (sent by that account: the model is plain).
        xs[3] = type(uint160).max;
        vm.prank(address(type(uint160).max));
        oracle.submitInference(MODEL, proofOf(1), xs);
        (int256[] memory stored,,) = oracle.latestInference(MODEL, address(type(uint160).max));
        assertEq(stored[0], 3, "stored for the largest address");
    }

    function test_submitInference_failsForNoSubject() public {
        uint256[] memory xs = instances(1, 2, 3);
        xs[3] = 0;
        vm.expectRevert(VerifiedInferenceOracle.NoSubject.selector);
        oracle.submitInference(MODEL, proofOf(1), xs);
    }

    function test_submitInference_failsForWrongProofLength() public {
        bytes memory proof = proofOf(1);
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.WrongProofLength.selector, 32, 33));
        oracle.submitInference(MODEL, bytes.concat(proof, hex"00"), instances(1, 2, 3));
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.WrongProofLength.selector, 32, 31));
        oracle.submitInference(MODEL, abi.encodePacked(bytes31(uint248(1))), instances(1, 2, 3));
        // The exact proof goes through; padded afterwards it is still refused for its length.
        vm.prank(alice);
        oracle.submitInference(MODEL, proof, instances(1, 2, 3));
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.WrongProofLength.selector, 32, 33));
        oracle.submitInference(MODEL, bytes.concat(proof, hex"00"), instances(1, 2, 3));
    }

    function testFuzz_submitInference_refusesAnyPadding(bytes calldata extra) public {
        vm.assume(extra.length > 0);
        bytes memory proof = proofOf(7);
        vm.expectRevert(
            abi.encodeWithSelector(VerifiedInferenceOracle.WrongProofLength.selector, 32, 32 + extra.length)
        );
        oracle.submitInference(MODEL, bytes.concat(proof, extra), instances(1, 2, 3));
        assertTrue(!oracle.usedStatements(statementOf(MODEL, instances(1, 2, 3), 0)), "nothing burnt");
    }

    function test_submitInference_failsOnReplay() public {
        uint256[] memory xs = instances(1, 2, 3);
        bytes32 statement = statementOf(MODEL, xs, 0);
        vm.prank(alice);
        oracle.submitInference(MODEL, proofOf(1), xs);
        assertTrue(oracle.usedStatements(statement), "statement recorded");
        // Other proof bytes of the right length for the same statement: still the same statement.
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(VerifiedInferenceOracle.StatementAlreadyUsed.selector, statement)
        );
        oracle.submitInference(MODEL, proofOf(2), xs);
        // Another statement (other inputs) with the first proof's bytes is a new statement.
        vm.prank(alice);
        oracle.submitInference(MODEL, proofOf(1), instances(4, 5, 6));
        (int256[] memory stored,,) = oracle.latestInference(MODEL, alice);
        assertEq(stored[0], 6, "new statement stored");
    }

    /// @dev On a plain model the subject's accepted statement cannot be sent again: by her it is a replay,
    /// by anyone else it is refused before that (not the subject), and her output stays.
    function testFuzz_replayOnAPlainModelIsRejectedWhoeverSendsIt(uint248 first, uint248 second, address by)
        public
    {
        uint256[] memory xs = instances(1, 2, 3);
        vm.prank(alice);
        oracle.submitInference(MODEL, proofOf(first), xs);
        vm.prank(by);
        if (by == alice) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    VerifiedInferenceOracle.StatementAlreadyUsed.selector, statementOf(MODEL, xs, 0)
                )
            );
        } else {
            vm.expectRevert(
                abi.encodeWithSelector(VerifiedInferenceOracle.SubjectNotSender.selector, alice, by)
            );
        }
        oracle.submitInference(MODEL, proofOf(second), xs);
        (int256[] memory stored,,) = oracle.latestInference(MODEL, alice);
        assertEq(stored[0], 3, "alice's output kept");
    }

    function test_submitInference_plainModelRefusesAnyoneButTheSubject() public {
        uint256[] memory xs = instances(1, 2, 3);
        // The test contract (the owner, even) is not alice.
        vm.expectRevert(
            abi.encodeWithSelector(VerifiedInferenceOracle.SubjectNotSender.selector, alice, address(this))
        );
        oracle.submitInference(MODEL, proofOf(1), xs);
        assertTrue(!oracle.usedStatements(statementOf(MODEL, xs, 0)), "nothing burnt");
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.NoInference.selector, MODEL, alice));
        oracle.latestInference(MODEL, alice);
        // Alice then sends the same calldata herself.
        vm.prank(alice);
        oracle.submitInference(MODEL, proofOf(1), xs);
        (int256[] memory stored,,) = oracle.latestInference(MODEL, alice);
        assertEq(stored[0], 3, "stored once alice sends it");
    }

    function testFuzz_unregisteredModelIdIsRejected(bytes32 id, uint248 tag) public {
        vm.assume(id != MODEL);
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.UnknownModel.selector, id));
        oracle.submitInference(id, proofOf(tag), instances(1, 2, 3));
        assertTrue(!oracle.usedStatements(statementOf(id, instances(1, 2, 3), 0)), "nothing burnt");
    }

    function test_submitInference_failsWhenVerifierRejects() public {
        verifier.setAccept(false);
        vm.prank(alice);
        vm.expectRevert(VerifiedInferenceOracle.ProofRejected.selector);
        oracle.submitInference(MODEL, proofOf(1), instances(1, 2, 3));
        // A rejected statement is not burnt: it can be submitted once the verifier accepts it.
        verifier.setAccept(true);
        vm.prank(alice);
        oracle.submitInference(MODEL, proofOf(1), instances(1, 2, 3));
    }

    function test_submitInference_acceptsOnlyAnAnswerOfOne() public {
        bytes[4] memory wrong =
            [bytes(""), abi.encode(uint256(0)), abi.encode(uint256(2)), abi.encode(uint256(1), uint256(1))];
        for (uint256 i = 0; i < wrong.length; ++i) {
            verifier.setAnswer(wrong[i]);
            vm.prank(alice);
            vm.expectRevert(VerifiedInferenceOracle.ProofRejected.selector);
            oracle.submitInference(MODEL, proofOf(1), instances(1, 2, 3));
        }
        verifier.setAnswer(abi.encode(uint256(1)));
        vm.prank(alice);
        oracle.submitInference(MODEL, proofOf(1), instances(1, 2, 3));
        (int256[] memory stored,,) = oracle.latestInference(MODEL, alice);
        assertEq(stored[0], 3, "accepted with 32 bytes of 1");
    }

    function test_submitInference_rejectsASilentVerifier() public {
        bytes32 id = keccak256("silent");
        registerLive(oracle, id, address(new MockSilentVerifier()), 2, 1, 13);
        vm.prank(alice);
        vm.expectRevert(VerifiedInferenceOracle.ProofRejected.selector);
        oracle.submitInference(id, proofOf(1), instances(1, 2, 3));
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.NoInference.selector, id, alice));
        oracle.latestInference(id, alice);
    }

    function test_submitInference_failsWhenTheVerifierCodeIsGone() public {
        // A call to an account without code succeeds with no returndata: checked before calling.
        vm.etch(address(verifier), "");
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(VerifiedInferenceOracle.VerifierMissing.selector, address(verifier))
        );
        oracle.submitInference(MODEL, proofOf(1), instances(1, 2, 3));
    }

    function test_latestInference_failsWithoutOne() public {
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.NoInference.selector, MODEL, alice));
        oracle.latestInference(MODEL, alice);
    }

    function test_decodeSigned_edges() public {
        assertEq(oracle.decodeSigned(0), 0, "zero");
        assertEq(oracle.decodeSigned(1), 1, "one");
        assertEq(oracle.decodeSigned(R - 1), -1, "minus one");
        assertEq(oracle.decodeSigned((R - 1) / 2), int256((R - 1) / 2), "largest positive");
        assertEq(oracle.decodeSigned((R - 1) / 2 + 1), -int256((R - 1) / 2), "most negative");
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.InstanceNotInField.selector, 0));
        oracle.decodeSigned(R);
    }

    function testFuzz_decodeSigned_roundTrips(int128 x) public view {
        assertEq(oracle.decodeSigned(encode(x)), int256(x), "round trip");
    }
}

contract VerifiedInferenceOracleWithKeyTest is OracleFixture {
    bytes32 internal constant MODEL = keccak256("model with key");

    VerifiedInferenceOracle internal oracle;
    MockReusableVerifier internal verifier;
    MockVerifier internal key;
    MockVerifier internal otherKey;
    address internal alice = address(0xA11CE);

    function setUp() public {
        oracle = new VerifiedInferenceOracle();
        key = new MockVerifier();
        otherKey = new MockVerifier();
        verifier = new MockReusableVerifier(address(key));
        oracle.registerModelWithKey(MODEL, address(verifier), address(key), 0, 1, 13, PROOF_LEN);
        activate(oracle, MODEL);
    }

    /// @dev One output about alice.
    function one(uint256 x) internal view returns (uint256[] memory xs) {
        xs = new uint256[](2);
        xs[0] = x;
        xs[1] = word(alice);
    }

    function test_acceptsWhatTheVerifierAcceptsForTheRegisteredKey() public {
        vm.prank(alice);
        int256[] memory outputs = oracle.submitInference(MODEL, proofOf(1), one(42));
        assertEq(outputs[0], 42, "decoded output");
        (int256[] memory stored,,) = oracle.latestInference(MODEL, alice);
        assertEq(stored[0], 42, "stored for the subject");
    }

    function test_passesTheVerifiersErrorOn() public {
        vm.prank(alice);
        vm.expectRevert(MockReusableVerifier.PairingFailed.selector);
        oracle.submitInference(MODEL, abi.encode(uint256(2)), one(42));
    }

    function test_anotherKeyIsAnotherModel() public {
        oracle.registerModelWithKey(
            keccak256("other"), address(verifier), address(otherKey), 0, 1, 13, PROOF_LEN
        );
        activate(oracle, keccak256("other"));
        vm.prank(alice);
        vm.expectRevert(MockReusableVerifier.PairingFailed.selector);
        oracle.submitInference(keccak256("other"), proofOf(1), one(42));
    }

    function test_keyMustBeAContract() public {
        vm.expectRevert(VerifiedInferenceOracle.InvalidModel.selector);
        oracle.registerModelWithKey(
            keccak256("eoa key"), address(verifier), address(0xBEEF), 0, 1, 13, PROOF_LEN
        );
    }

    function test_refusesAProofOfAnotherLength() public {
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.WrongProofLength.selector, 32, 33));
        oracle.submitInference(MODEL, bytes.concat(proofOf(1), hex"00"), one(42));
    }

    function test_failsWhenTheVerifierOrKeyCodeIsGone() public {
        vm.etch(address(key), "");
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(VerifiedInferenceOracle.VerifierMissing.selector, address(key))
        );
        oracle.submitInference(MODEL, proofOf(1), one(42));
        vm.etch(address(verifier), "");
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(VerifiedInferenceOracle.VerifierMissing.selector, address(verifier))
        );
        oracle.submitInference(MODEL, proofOf(1), one(42));
    }

    function test_acceptsOnlyAnAnswerOfTrue() public {
        // A "reusable verifier" that answers whatever it is told to.
        MockVerifier loose = new MockVerifier();
        bytes32 id = keccak256("loose");
        oracle.registerModelWithKey(id, address(loose), address(key), 0, 1, 13, PROOF_LEN);
        activate(oracle, id);
        bytes[4] memory wrong = [bytes(""), abi.encode(false), abi.encode(uint256(2)), abi.encode(true, true)];
        for (uint256 i = 0; i < wrong.length; ++i) {
            loose.setAnswer(wrong[i]);
            vm.prank(alice);
            vm.expectRevert(VerifiedInferenceOracle.ProofRejected.selector);
            oracle.submitInference(id, proofOf(1), one(42));
        }
        loose.setAnswer(abi.encode(true));
        vm.prank(alice);
        oracle.submitInference(id, proofOf(1), one(42));
    }
}

contract VerifiedInferenceOracleBindingTest is OracleFixture {
    bytes32 internal constant MODEL = keccak256("hashed inputs");

    VerifiedInferenceOracle internal oracle;
    address internal alice = address(0xA11CE);
    address internal bob = address(0xB0B);

    function setUp() public {
        oracle = new VerifiedInferenceOracle();
        oracle.registerModel(MODEL, address(new MockVerifier()), 1, 1, 13, PROOF_LEN);
        oracle.requireInputCommitment(MODEL);
        activate(oracle, MODEL);
    }

    function proofAbout(uint256 commitment, address subject) internal pure returns (uint256[] memory xs) {
        return proofAboutScore(commitment, subject, 8192);
    }

    function proofAboutScore(uint256 commitment, address subject, int256 score)
        internal
        pure
        returns (uint256[] memory xs)
    {
        xs = new uint256[](3);
        xs[0] = commitment;
        xs[1] = encode(score);
        xs[2] = word(subject);
    }

    function test_acceptsProofsAboutTheSubjectsOwnData() public {
        vm.prank(alice);
        oracle.commitInput(MODEL, 1234);
        // Bob relays alice's proof: her commitment is checked, and she is credited.
        vm.prank(bob);
        int256[] memory outputs = oracle.submitInference(MODEL, proofOf(1), proofAbout(1234, alice));
        assertEq(outputs[0], 8192, "output");
        (int256[] memory stored,,) = oracle.latestInference(MODEL, alice);
        assertEq(stored[0], 8192, "stored for alice");
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.NoInference.selector, MODEL, bob));
        oracle.latestInference(MODEL, bob);
    }

    function testFuzz_replayIsRejectedWhoeverSendsIt(uint248 first, uint248 second, address by1, address by2)
        public
    {
        vm.prank(alice);
        oracle.commitInput(MODEL, 1234);
        uint256[] memory xs = proofAbout(1234, alice);
        // Anyone may relay a proof about alice's committed data, once.
        vm.prank(by1);
        oracle.submitInference(MODEL, proofOf(first), xs);
        vm.prank(by2);
        vm.expectRevert(
            abi.encodeWithSelector(
                VerifiedInferenceOracle.StatementAlreadyUsed.selector, statementOf(MODEL, xs, 0)
            )
        );
        oracle.submitInference(MODEL, proofOf(second), xs);
    }

    function test_rejectsProofsAboutSomeoneElsesData() public {
        vm.prank(alice);
        oracle.commitInput(MODEL, 1234);
        vm.prank(bob);
        oracle.commitInput(MODEL, 5678);
        vm.prank(bob);
        vm.expectRevert(
            abi.encodeWithSelector(VerifiedInferenceOracle.InputNotCommitted.selector, 5678, 1234)
        );
        oracle.submitInference(MODEL, proofOf(1), proofAbout(1234, bob));
    }

    function test_rejectsSubjectsWithoutACommitment() public {
        vm.prank(alice);
        oracle.commitInput(MODEL, 1234);
        // Alice sending it does not help: the subject (bob) has no commitment.
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.InputNotCommitted.selector, 0, 1234));
        oracle.submitInference(MODEL, proofOf(1), proofAbout(1234, bob));
    }

    /// @dev Commitments are not exclusive. Bob copying alice's commitment gains him nothing: a proof naming
    /// bob with her commitment needs her data and salt (which the real circuit enforces; the mock verifier
    /// here accepts anything, so only what the oracle itself decides is shown), and her proof, whoever
    /// sends it, credits her. Nor can he block her by registering it first.
    function test_commitInput_copierOfACommitmentGainsNothing() public {
        // Bob front-runs alice's commitInput with the same commitment: she still registers it.
        vm.prank(bob);
        oracle.commitInput(MODEL, 1234);
        vm.prank(alice);
        oracle.commitInput(MODEL, 1234);
        assertEq(oracle.inputCommitments(MODEL, alice), 1234, "alice's commitment");
        assertEq(oracle.inputCommitments(MODEL, bob), 1234, "bob's copy");
        // Bob submits alice's proof: it is about her, so she is credited, not him.
        vm.prank(bob);
        oracle.submitInference(MODEL, proofOf(1), proofAbout(1234, alice));
        (int256[] memory stored,,) = oracle.latestInference(MODEL, alice);
        assertEq(stored[0], 8192, "alice credited");
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.NoInference.selector, MODEL, bob));
        oracle.latestInference(MODEL, bob);
        // Bob's registration does not touch alice's: he moves to other data, hers stays, and her next
        // proof is still checked against her own commitment.
        vm.prank(bob);
        oracle.commitInput(MODEL, 5678);
        assertEq(oracle.inputCommitments(MODEL, alice), 1234, "alice's commitment unchanged");
        vm.prank(bob);
        vm.expectRevert(
            abi.encodeWithSelector(VerifiedInferenceOracle.InputNotCommitted.selector, 1234, 5678)
        );
        oracle.submitInference(MODEL, proofOf(2), proofAbout(5678, alice));
        vm.prank(alice);
        oracle.submitInference(MODEL, proofOf(3), proofAboutScore(1234, alice, 3 * 8192));
        (stored,,) = oracle.latestInference(MODEL, alice);
        assertEq(stored[0], 3 * 8192, "alice's own output");
    }

    function testFuzz_commitInput_anyAccountMayRegisterAnyCommitment(address a, address b, uint256 c) public {
        c = bound(c, 1, R - 1);
        vm.prank(a);
        oracle.commitInput(MODEL, c);
        vm.prank(b);
        oracle.commitInput(MODEL, c);
        assertEq(oracle.inputCommitments(MODEL, a), c, "first account's");
        assertEq(oracle.inputCommitments(MODEL, b), c, "second account's");
    }

    function test_commitInput_rejectsZeroAndNonFieldCommitments() public {
        vm.startPrank(alice);
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.InvalidCommitment.selector, 0));
        oracle.commitInput(MODEL, 0);
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.InvalidCommitment.selector, R));
        oracle.commitInput(MODEL, R);
        vm.expectRevert(
            abi.encodeWithSelector(VerifiedInferenceOracle.InvalidCommitment.selector, type(uint256).max)
        );
        oracle.commitInput(MODEL, type(uint256).max);
        oracle.commitInput(MODEL, R - 1);
        vm.stopPrank();
        assertEq(oracle.inputCommitments(MODEL, alice), R - 1, "the largest field element");
    }

    function test_onlyTheOwnerBindsAndOnlyOneInputInstance() public {
        vm.prank(alice);
        vm.expectRevert(VerifiedInferenceOracle.NotOwner.selector);
        oracle.requireInputCommitment(MODEL);
        oracle.registerModel(keccak256("public inputs"), address(new MockVerifier()), 3, 1, 13, PROOF_LEN);
        vm.expectRevert(VerifiedInferenceOracle.InvalidModel.selector);
        oracle.requireInputCommitment(keccak256("public inputs"));
    }
}

contract VerifiedInferenceOracleParamTest is OracleFixture {
    bytes32 internal constant MODEL = keccak256("private model");

    VerifiedInferenceOracle internal oracle;
    address internal alice = address(0xA11CE);

    function setUp() public {
        oracle = new VerifiedInferenceOracle();
        oracle.registerModel(MODEL, address(new MockVerifier()), 1, 1, 13, PROOF_LEN);
        oracle.requireParamCommitment(MODEL, 777);
        activate(oracle, MODEL);
    }

    /// @dev Input, output, parameter commitment, subject.
    function proof(uint256 paramCommitment) internal view returns (uint256[] memory xs) {
        xs = new uint256[](4);
        xs[0] = 5;
        xs[1] = 8192;
        xs[2] = paramCommitment;
        xs[3] = word(alice);
    }

    function test_acceptsTheCommittedModel() public {
        vm.prank(alice);
        int256[] memory outputs = oracle.submitInference(MODEL, proofOf(1), proof(777));
        assertEq(outputs.length, 1, "one output");
        assertEq(outputs[0], 8192, "output");
        (int256[] memory stored,,) = oracle.latestInference(MODEL, alice);
        assertEq(stored[0], 8192, "stored for the subject");
    }

    function test_rejectsOtherParameters() public {
        vm.expectRevert(
            abi.encodeWithSelector(VerifiedInferenceOracle.ParamCommitmentMismatch.selector, 777, 778)
        );
        oracle.submitInference(MODEL, proofOf(1), proof(778));
        uint256[] memory short = new uint256[](3);
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.WrongInstanceCount.selector, 4, 3));
        oracle.submitInference(MODEL, proofOf(1), short);
    }

    function test_setOnceByTheOwnerBeforeActivation() public {
        bytes32 id = keccak256("pinned once");
        oracle.registerModel(id, address(new MockVerifier()), 1, 1, 13, PROOF_LEN);
        vm.prank(address(0xBAD));
        vm.expectRevert(VerifiedInferenceOracle.NotOwner.selector);
        oracle.requireParamCommitment(id, 777);
        vm.expectRevert(VerifiedInferenceOracle.InvalidModel.selector);
        oracle.requireParamCommitment(id, 0);
        vm.expectRevert(VerifiedInferenceOracle.InvalidModel.selector);
        oracle.requireParamCommitment(id, R);
        oracle.requireParamCommitment(id, 777);
        vm.expectRevert(VerifiedInferenceOracle.InvalidModel.selector);
        oracle.requireParamCommitment(id, 778);
        assertEq(oracle.paramCommitments(id), 777, "set once");
        // The live model's commitment is frozen.
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.ModelAlreadyActive.selector, MODEL));
        oracle.requireParamCommitment(MODEL, 778);
        assertEq(oracle.paramCommitments(MODEL), 777, "unchanged");
    }
}
