// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

import {Test} from "./utils/Test.sol";
import {MockVerifier, MockReusableVerifier} from "./utils/Mocks.sol";
import {VerifiedInferenceOracle} from "../src/VerifiedInferenceOracle.sol";

contract VerifiedInferenceOracleTest is Test {
    bytes32 internal constant MODEL = keccak256("model");
    uint256 internal constant R = 0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001;

    VerifiedInferenceOracle internal oracle;
    MockVerifier internal verifier;
    address internal alice = address(0xA11CE);

    function setUp() public {
        oracle = new VerifiedInferenceOracle();
        verifier = new MockVerifier();
        oracle.registerModel(MODEL, address(verifier), 2, 1, 13);
    }

    function instances(int256 a, int256 b, int256 out) internal pure returns (uint256[] memory xs) {
        xs = new uint256[](3);
        xs[0] = encode(a);
        xs[1] = encode(b);
        xs[2] = encode(out);
    }

    function encode(int256 x) internal pure returns (uint256) {
        return x >= 0 ? uint256(x) : R - uint256(-x);
    }

    function test_registerModel_onlyOwner() public {
        vm.prank(alice);
        vm.expectRevert(VerifiedInferenceOracle.NotOwner.selector);
        oracle.registerModel(keccak256("other"), address(verifier), 1, 1, 13);
    }

    function test_registerModel_rejectsDuplicateAndInvalid() public {
        vm.expectRevert(
            abi.encodeWithSelector(VerifiedInferenceOracle.ModelAlreadyRegistered.selector, MODEL)
        );
        oracle.registerModel(MODEL, address(verifier), 2, 1, 13);
        vm.expectRevert(VerifiedInferenceOracle.InvalidModel.selector);
        oracle.registerModel(keccak256("eoa"), alice, 2, 1, 13);
        vm.expectRevert(VerifiedInferenceOracle.InvalidModel.selector);
        oracle.registerModel(keccak256("no outputs"), address(verifier), 2, 0, 13);
    }

    function test_submitInference_storesDecodedOutputs() public {
        vm.prank(alice);
        int256[] memory outputs = oracle.submitInference(MODEL, hex"01", instances(5, -7, -8192));
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
        oracle.submitInference(MODEL, hex"01", instances(5, -7, -8193));
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
        oracle.submitInference(MODEL, abi.encodePacked(output, decimals), instances(0, 0, output));
        (int256[] memory values,) = oracle.latestInferenceDecimals(MODEL, alice, decimals);
        assertEq(values[0], (int256(output) * int256(10 ** uint256(decimals))) / 8192, "rescaled");
    }

    function test_outputsBeyondInt64AreStoredWide() public {
        // A hashed-output model's "output" is a commitment: a field element of any size.
        int256 big = int256(1) << 200;
        vm.prank(alice);
        oracle.submitInference(MODEL, hex"01", instances(0, 0, big));
        (int256[] memory stored,,) = oracle.latestInference(MODEL, alice);
        assertEq(stored[0], big, "wide output");
        // Then a small one replaces it, packed.
        vm.prank(alice);
        oracle.submitInference(MODEL, hex"02", instances(0, 0, -5));
        (stored,,) = oracle.latestInference(MODEL, alice);
        assertEq(stored.length, 1, "one output");
        assertEq(stored[0], -5, "packed output");
    }

    function testFuzz_storedOutputsRoundTrip(int256 out) public {
        out = int256(bound(uint256(out), 0, type(uint128).max)) - int256(uint256(type(uint128).max / 2));
        vm.prank(alice);
        oracle.submitInference(MODEL, hex"01", instances(1, 2, out));
        (int256[] memory stored,,) = oracle.latestInference(MODEL, alice);
        assertEq(stored[0], out, "round trip");
    }

    function test_submitInference_failsForUnknownModel() public {
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.UnknownModel.selector, bytes32(0)));
        oracle.submitInference(bytes32(0), hex"01", instances(1, 2, 3));
    }

    function test_submitInference_failsForWrongInstanceCount() public {
        uint256[] memory xs = new uint256[](2);
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.WrongInstanceCount.selector, 3, 2));
        oracle.submitInference(MODEL, hex"01", xs);
    }

    function test_submitInference_failsForInstanceNotInField() public {
        uint256[] memory xs = instances(1, 2, 3);
        xs[1] = R;
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.InstanceNotInField.selector, 1));
        oracle.submitInference(MODEL, hex"01", xs);
        xs[1] = R + 2;
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.InstanceNotInField.selector, 1));
        oracle.submitInference(MODEL, hex"01", xs);
    }

    function test_submitInference_failsOnReplay() public {
        oracle.submitInference(MODEL, hex"0102", instances(1, 2, 3));
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(VerifiedInferenceOracle.ProofAlreadyUsed.selector, keccak256(hex"0102"))
        );
        oracle.submitInference(MODEL, hex"0102", instances(1, 2, 3));
    }

    function testFuzz_replayIsRejectedWhoeverSendsIt(bytes calldata proof, address first, address second)
        public
    {
        vm.prank(first);
        oracle.submitInference(MODEL, proof, instances(1, 2, 3));
        vm.prank(second);
        vm.expectRevert(
            abi.encodeWithSelector(VerifiedInferenceOracle.ProofAlreadyUsed.selector, keccak256(proof))
        );
        oracle.submitInference(MODEL, proof, instances(4, 5, 6));
    }

    function testFuzz_unregisteredModelIdIsRejected(bytes32 id, bytes calldata proof) public {
        vm.assume(id != MODEL);
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.UnknownModel.selector, id));
        oracle.submitInference(id, proof, instances(1, 2, 3));
        assertTrue(!oracle.usedProofs(keccak256(proof)), "a rejected proof is not burnt");
    }

    function test_submitInference_failsWhenVerifierRejects() public {
        verifier.setAccept(false);
        vm.expectRevert(VerifiedInferenceOracle.ProofRejected.selector);
        oracle.submitInference(MODEL, hex"01", instances(1, 2, 3));
        // A rejected proof is not burnt: it can be submitted once the verifier accepts it.
        verifier.setAccept(true);
        oracle.submitInference(MODEL, hex"01", instances(1, 2, 3));
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

    function test_fuzz_decodeSigned_roundTrips(int128 x) public view {
        assertEq(oracle.decodeSigned(encode(x)), int256(x), "round trip");
    }
}

contract VerifiedInferenceOracleWithKeyTest is Test {
    bytes32 internal constant MODEL = keccak256("model with key");

    VerifiedInferenceOracle internal oracle;
    MockReusableVerifier internal verifier;
    MockVerifier internal key;
    MockVerifier internal otherKey;

    function setUp() public {
        oracle = new VerifiedInferenceOracle();
        key = new MockVerifier();
        otherKey = new MockVerifier();
        verifier = new MockReusableVerifier(address(key));
        oracle.registerModelWithKey(MODEL, address(verifier), address(key), 0, 1, 13);
    }

    function one(uint256 x) internal pure returns (uint256[] memory xs) {
        xs = new uint256[](1);
        xs[0] = x;
    }

    function test_acceptsWhatTheVerifierAcceptsForTheRegisteredKey() public {
        int256[] memory outputs = oracle.submitInference(MODEL, hex"01", one(42));
        assertEq(outputs[0], 42, "decoded output");
    }

    function test_passesTheVerifiersErrorOn() public {
        vm.expectRevert(MockReusableVerifier.PairingFailed.selector);
        oracle.submitInference(MODEL, hex"02", one(42));
    }

    function test_anotherKeyIsAnotherModel() public {
        oracle.registerModelWithKey(keccak256("other"), address(verifier), address(otherKey), 0, 1, 13);
        vm.expectRevert(MockReusableVerifier.PairingFailed.selector);
        oracle.submitInference(keccak256("other"), hex"01", one(42));
    }

    function test_keyMustBeAContract() public {
        vm.expectRevert(VerifiedInferenceOracle.InvalidModel.selector);
        oracle.registerModelWithKey(keccak256("eoa key"), address(verifier), address(0xBEEF), 0, 1, 13);
    }
}

contract VerifiedInferenceOracleBindingTest is Test {
    bytes32 internal constant MODEL = keccak256("hashed inputs");

    VerifiedInferenceOracle internal oracle;
    address internal alice = address(0xA11CE);
    address internal bob = address(0xB0B);

    function setUp() public {
        oracle = new VerifiedInferenceOracle();
        oracle.registerModel(MODEL, address(new MockVerifier()), 1, 1, 13);
        oracle.requireInputCommitment(MODEL);
    }

    function proofAbout(uint256 commitment) internal pure returns (uint256[] memory xs) {
        xs = new uint256[](2);
        xs[0] = commitment;
        xs[1] = 8192;
    }

    function test_acceptsProofsAboutTheSubmittersOwnData() public {
        vm.prank(alice);
        oracle.commitInput(MODEL, 1234);
        vm.prank(alice);
        int256[] memory outputs = oracle.submitInference(MODEL, hex"01", proofAbout(1234));
        assertEq(outputs[0], 8192, "output");
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
        oracle.submitInference(MODEL, hex"01", proofAbout(1234));
    }

    function test_rejectsSubmittersWithoutACommitment() public {
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.InputNotCommitted.selector, 0, 1234));
        oracle.submitInference(MODEL, hex"01", proofAbout(1234));
    }

    function test_onlyTheOwnerBindsAndOnlyOneInputInstance() public {
        vm.prank(alice);
        vm.expectRevert(VerifiedInferenceOracle.NotOwner.selector);
        oracle.requireInputCommitment(MODEL);
        oracle.registerModel(keccak256("public inputs"), address(new MockVerifier()), 3, 1, 13);
        vm.expectRevert(VerifiedInferenceOracle.InvalidModel.selector);
        oracle.requireInputCommitment(keccak256("public inputs"));
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.InstanceNotInField.selector, 0));
        oracle.commitInput(MODEL, 0);
    }
}

contract VerifiedInferenceOracleParamTest is Test {
    bytes32 internal constant MODEL = keccak256("private model");

    VerifiedInferenceOracle internal oracle;

    function setUp() public {
        oracle = new VerifiedInferenceOracle();
        oracle.registerModel(MODEL, address(new MockVerifier()), 1, 1, 13);
        oracle.requireParamCommitment(MODEL, 777);
    }

    function proof(uint256 paramCommitment) internal pure returns (uint256[] memory xs) {
        xs = new uint256[](3);
        xs[0] = 5;
        xs[1] = 8192;
        xs[2] = paramCommitment;
    }

    function test_acceptsTheCommittedModel() public {
        int256[] memory outputs = oracle.submitInference(MODEL, hex"01", proof(777));
        assertEq(outputs.length, 1, "one output");
        assertEq(outputs[0], 8192, "output");
    }

    function test_rejectsOtherParameters() public {
        vm.expectRevert(
            abi.encodeWithSelector(VerifiedInferenceOracle.ParamCommitmentMismatch.selector, 777, 778)
        );
        oracle.submitInference(MODEL, hex"01", proof(778));
        uint256[] memory short = new uint256[](2);
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.WrongInstanceCount.selector, 3, 2));
        oracle.submitInference(MODEL, hex"01", short);
    }

    function test_setOnceByTheOwner() public {
        vm.expectRevert(VerifiedInferenceOracle.InvalidModel.selector);
        oracle.requireParamCommitment(MODEL, 778);
        vm.prank(address(0xBAD));
        vm.expectRevert(VerifiedInferenceOracle.NotOwner.selector);
        oracle.requireParamCommitment(MODEL, 778);
    }
}
