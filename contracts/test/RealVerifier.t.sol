// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

import {OracleFixture} from "./utils/OracleFixture.sol";
import {CreditRiskFixture as F} from "./fixtures/CreditRiskFixture.sol";
import {ReusableHalo2Verifier} from "../src/verifiers/ReusableHalo2Verifier.sol";
import {VerifiedInferenceOracle} from "../src/VerifiedInferenceOracle.sol";

/// @notice The oracle with the bundled credit-risk model's real verifiers and a real proof about
/// `F.SUBJECT` (`fixtures/CreditRiskFixture.sol`). Every test runs for both verifier kinds: the model's own
/// generated verifier and the reusable `ReusableHalo2Verifier` with the model's verifying key contract.
abstract contract RealVerifierTest is OracleFixture {
    bytes32 internal constant MODEL = F.MODEL_ID;
    uint64 internal constant MAX_AGE = 50;
    uint256 internal constant TX_GAS = 30_000_000;

    VerifiedInferenceOracle internal oracle;
    /// @dev Both verifiers are deployed for each kind; `register` picks one.
    address internal snarkVerifier;
    ReusableHalo2Verifier internal reusable;
    address internal key;
    address internal subject = F.SUBJECT;
    address internal relayer = address(0x5E1A7);
    address internal bob = address(0xB0B);
    address internal attester = address(0xA77E57);

    function setUp() public {
        snarkVerifier = deploy(F.snarkVerifierCode());
        key = deploy(F.keyCode());
        reusable = new ReusableHalo2Verifier();
        deployOracle(false);
        vm.roll(10);
    }

    /// @dev Registers `MODEL` with this kind's verifier.
    function register() internal virtual;

    /// @dev A fresh oracle with `MODEL` registered with this kind's verifier, its policy set (attested
    /// inputs, by `attester`, when `attested`; else plain) and then activated.
    function deployOracle(bool attested) internal {
        oracle = new VerifiedInferenceOracle();
        register();
        if (attested) {
            oracle.requireAttestation(MODEL, MAX_AGE);
            oracle.grantAttester(attester);
        }
        activate(oracle, MODEL);
    }

    /// @dev The oracle's revert for a proof this kind's verifier rejects with the reusable verifier's error
    /// `reusableError`: the model-specific verifier's rejections all read `ProofRejected`, the reusable
    /// verifier's errors are passed on.
    function rejection(bytes memory reusableError) internal pure virtual returns (bytes memory);

    function deploy(bytes memory code) internal returns (address deployed) {
        assembly {
            deployed := create(0, add(code, 0x20), mload(code))
        }
        assertTrue(deployed != address(0) && deployed.code.length > 0, "deployed");
    }

    function inputWords() internal pure returns (uint256[] memory words) {
        uint256[] memory xs = F.instances();
        words = new uint256[](F.NUM_INPUTS);
        for (uint256 i = 0; i < words.length; ++i) {
            words[i] = xs[i];
        }
    }

    /// @dev Submits as `sender` with a block's worth of gas; returns whether it was accepted and the revert
    /// data if not. (The model-specific verifier spends all the gas it is given on some bad proofs: an
    /// off-curve point makes an ecMul/ecAdd precompile call fail, which consumes its gas. The cap keeps a
    /// test of several such proofs within the test's gas, and checks the oracle still reverts with its own
    /// error on the 1/64 of the gas it keeps.)
    function trySubmit(address sender, bytes memory proof, uint256[] memory xs)
        internal
        returns (bool ok, bytes memory ret)
    {
        vm.prank(sender);
        (ok, ret) = address(oracle).call{gas: TX_GAS}(
            abi.encodeCall(VerifiedInferenceOracle.submitInference, (MODEL, proof, xs))
        );
    }

    /// @dev `sender`'s submission of (`proof`, `xs`) reverts with exactly `expected`. A revert undoes all
    /// of the call's writes, so there is nothing left to check about them here; what matters is that the
    /// refusal did not use up the honest statement, which each test shows by ending with
    /// `assertHonestProofAccepted` (the same statement, now with the honest proof and sender, still goes
    /// through).
    function assertRefused(address sender, bytes memory proof, uint256[] memory xs, bytes memory expected)
        internal
    {
        (bool ok, bytes memory ret) = trySubmit(sender, proof, xs);
        assertTrue(!ok, "refused");
        assertEq(keccak256(ret), keccak256(expected), "revert data");
    }

    function assertNothingStored(address who) internal {
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.NoInference.selector, MODEL, who));
        oracle.latestInference(MODEL, who);
    }

    /// @dev The honest proof, sent by its subject, goes through and stores its output for the subject.
    function assertHonestProofAccepted() internal {
        uint256[] memory xs = F.instances();
        vm.prank(subject);
        int256[] memory outputs = oracle.submitInference(MODEL, F.proof(), xs);
        int256 expected = oracle.decodeSigned(xs[F.NUM_INPUTS]);
        assertEq(outputs.length, F.NUM_OUTPUTS, "one output");
        assertEq(outputs[0], expected, "returned output");
        (int256[] memory stored, uint8 scale, uint64 blockNumber) = oracle.latestInference(MODEL, subject);
        assertEq(stored[0], expected, "stored output");
        assertEq(uint256(scale), F.SCALE, "scale");
        assertEq(uint256(blockNumber), block.number, "block");
    }

    /// @dev The proof layout from the verifying key's header (`zkinfer_codegen::plan::header`):
    /// `npoints` points, then `nevals` evaluations, then the two opening points.
    function layout() internal view returns (uint256 evalsAt, uint256 nevals) {
        bytes memory blob = key.code;
        uint256[10] memory hw;
        for (uint256 i = 0; i < 10; ++i) {
            uint256 w;
            assembly {
                w := mload(add(blob, add(0x20, shl(5, i))))
            }
            hw[i] = w;
        }
        uint256 npoints = hw[5] + 3 * hw[6] + hw[7] + 1 + hw[8];
        nevals = hw[9];
        evalsAt = 64 * npoints;
        assertEq(64 * (npoints + 2) + 32 * nevals, F.PROOF_LENGTH, "layout covers the proof");
    }

    function flipped(uint256 at, bytes1 mask) internal pure returns (bytes memory proof) {
        proof = F.proof();
        proof[at] ^= mask;
    }

    function test_fixtureMatchesTheModel() public view {
        assertEq(F.proof().length, F.PROOF_LENGTH, "proof length");
        assertEq(F.instances().length, F.NUM_INPUTS + F.NUM_OUTPUTS + 1, "instances");
        assertEq(F.instances()[F.NUM_INPUTS + F.NUM_OUTPUTS], word(F.SUBJECT), "subject instance");
        (address verifier,,,,,) = oracle.models(MODEL);
        assertTrue(verifier != address(0), "registered");
    }

    function test_honestProofIsAcceptedForItsSubject() public {
        assertHonestProofAccepted();
        assertTrue(oracle.usedStatements(statementOf(MODEL, F.instances(), 0)), "statement recorded");
        assertNothingStored(address(this));
    }

    function test_sameProofAgainIsAReplay() public {
        assertHonestProofAccepted();
        uint256[] memory xs = F.instances();
        vm.prank(subject);
        vm.expectRevert(
            abi.encodeWithSelector(
                VerifiedInferenceOracle.StatementAlreadyUsed.selector, statementOf(MODEL, xs, 0)
            )
        );
        oracle.submitInference(MODEL, F.proof(), xs);
    }

    function test_paddedProofIsRefusedForItsLength() public {
        assertRefused(
            subject,
            bytes.concat(F.proof(), hex"00"),
            F.instances(),
            abi.encodeWithSelector(
                VerifiedInferenceOracle.WrongProofLength.selector, F.PROOF_LENGTH, F.PROOF_LENGTH + 1
            )
        );
        assertNothingStored(subject);
        assertHonestProofAccepted();
    }

    function test_flippedProofBytesAreRejected() public {
        (uint256 evalsAt, uint256 nevals) = layout();
        uint256 tail = evalsAt + 32 * nevals;
        // A point's x coordinate, low bit: off the curve.
        assertRefused(
            subject,
            flipped(31, 0x01),
            F.instances(),
            rejection(abi.encodeWithSelector(ReusableHalo2Verifier.PointNotOnCurve.selector, 0))
        );
        // The first point's top byte.
        assertRefused(
            subject,
            flipped(0, 0x01),
            F.instances(),
            rejection(abi.encodeWithSelector(ReusableHalo2Verifier.PointNotOnCurve.selector, 0))
        );
        // An evaluation's low bit: still a field element, but the pairing fails.
        assertRefused(
            subject,
            flipped(evalsAt + 31, 0x01),
            F.instances(),
            rejection(abi.encodeWithSelector(ReusableHalo2Verifier.PairingFailed.selector))
        );
        assertRefused(
            subject,
            flipped(evalsAt + 32 * (nevals / 2) + 17, 0x80),
            F.instances(),
            rejection(abi.encodeWithSelector(ReusableHalo2Verifier.PairingFailed.selector))
        );
        // An evaluation's top byte set: not below r.
        bytes memory proof = F.proof();
        proof[evalsAt] = 0xff;
        assertRefused(
            subject,
            proof,
            F.instances(),
            rejection(abi.encodeWithSelector(ReusableHalo2Verifier.ScalarNotInField.selector, evalsAt))
        );
        // The last opening point's y coordinate.
        assertRefused(
            subject,
            flipped(F.PROOF_LENGTH - 1, 0x01),
            F.instances(),
            rejection(abi.encodeWithSelector(ReusableHalo2Verifier.PointNotOnCurve.selector, tail + 64))
        );
        // Negating the last point (y -> q - y) keeps it on the curve: the pairing fails.
        proof = F.proof();
        uint256 y;
        assembly {
            y := mload(add(proof, add(0x20, sub(mload(proof), 0x20))))
        }
        uint256 q = 0x30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd47;
        y = q - y;
        assembly {
            mstore(add(proof, add(0x20, sub(mload(proof), 0x20))), y)
        }
        assertRefused(
            subject,
            proof,
            F.instances(),
            rejection(abi.encodeWithSelector(ReusableHalo2Verifier.PairingFailed.selector))
        );
        assertNothingStored(subject);
        // None of it burnt the statement: the honest proof still goes through.
        assertHonestProofAccepted();
    }

    function test_changedOutputIsRejected() public {
        uint256[] memory xs = F.instances();
        xs[F.NUM_INPUTS] += 1;
        assertRefused(
            subject,
            F.proof(),
            xs,
            rejection(abi.encodeWithSelector(ReusableHalo2Verifier.PairingFailed.selector))
        );
        // A negative score instead of the proven one.
        xs[F.NUM_INPUTS] = encode(-8192);
        assertRefused(
            subject,
            F.proof(),
            xs,
            rejection(abi.encodeWithSelector(ReusableHalo2Verifier.PairingFailed.selector))
        );
        uint256[] memory inputs = F.instances();
        inputs[0] += 1;
        assertRefused(
            subject,
            F.proof(),
            inputs,
            rejection(abi.encodeWithSelector(ReusableHalo2Verifier.PairingFailed.selector))
        );
        assertNothingStored(subject);
        assertHonestProofAccepted();
    }

    /// @dev A proof cannot be re-labelled to another subject, even by that subject itself.
    function test_proofCannotBeRelabelledToAnotherSubject() public {
        uint256[] memory xs = F.instances();
        xs[xs.length - 1] = word(bob);
        assertRefused(
            bob,
            F.proof(),
            xs,
            rejection(abi.encodeWithSelector(ReusableHalo2Verifier.PairingFailed.selector))
        );
        assertNothingStored(bob);
        // And not by the relayer to itself either.
        xs[xs.length - 1] = word(relayer);
        assertRefused(
            relayer,
            F.proof(),
            xs,
            rejection(abi.encodeWithSelector(ReusableHalo2Verifier.PairingFailed.selector))
        );
        assertNothingStored(relayer);
        assertHonestProofAccepted();
    }

    function test_instanceOutsideTheFieldIsRefused() public {
        // x + r is x modulo r: a non-canonical copy of the same statement.
        uint256[] memory xs = F.instances();
        xs[0] += R;
        assertRefused(
            subject,
            F.proof(),
            xs,
            abi.encodeWithSelector(VerifiedInferenceOracle.InstanceNotInField.selector, 0)
        );
        xs = F.instances();
        xs[F.NUM_INPUTS] += R;
        assertRefused(
            subject,
            F.proof(),
            xs,
            abi.encodeWithSelector(VerifiedInferenceOracle.InstanceNotInField.selector, F.NUM_INPUTS)
        );
        assertHonestProofAccepted();
    }

    function test_relayerIsRefusedOnThePlainModel() public {
        assertRefused(
            relayer,
            F.proof(),
            F.instances(),
            abi.encodeWithSelector(VerifiedInferenceOracle.SubjectNotSender.selector, subject, relayer)
        );
        assertNothingStored(subject);
        assertNothingStored(relayer);
        // The subject's own submission of the same calldata then succeeds.
        assertHonestProofAccepted();
    }

    /// @dev Until activated, the model refuses even the honest proof; then it accepts it.
    function test_inactiveModelRefusesTheHonestProof() public {
        oracle = new VerifiedInferenceOracle();
        register();
        assertRefused(
            subject,
            F.proof(),
            F.instances(),
            abi.encodeWithSelector(VerifiedInferenceOracle.ModelNotActive.selector, MODEL)
        );
        assertNothingStored(subject);
        activate(oracle, MODEL);
        assertHonestProofAccepted();
    }

    /// @dev The live plain model cannot be made attested afterwards (its self-chosen scores would stay
    /// trusted): its policy is frozen.
    function test_liveModelCannotBecomeAttested() public {
        assertHonestProofAccepted();
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.ModelAlreadyActive.selector, MODEL));
        oracle.requireAttestation(MODEL, MAX_AGE);
        assertEq(uint256(oracle.attestationMaxAge(MODEL)), 0, "still plain");
    }

    /// @dev A fresh oracle whose `MODEL` requires attestation, and an attestation of the subject's inputs.
    function attestSubject() internal returns (uint64 id) {
        deployOracle(true);
        bytes32 inputHash = keccak256(abi.encodePacked(inputWords()));
        assertEq(oracle.inputHash(inputWords()), inputHash, "the oracle's input hash");
        vm.prank(attester);
        id = oracle.attest(MODEL, subject, inputHash);
    }

    function test_attested_relayerCreditsTheSubject() public {
        uint64 id = attestSubject();
        vm.roll(10 + MAX_AGE);
        uint256[] memory xs = F.instances();
        vm.prank(relayer);
        int256[] memory outputs = oracle.submitInference(MODEL, F.proof(), xs);
        int256 expected = oracle.decodeSigned(xs[F.NUM_INPUTS]);
        assertEq(outputs[0], expected, "returned output");
        (int256[] memory stored,, uint64 blockNumber) = oracle.latestInference(MODEL, subject);
        assertEq(stored[0], expected, "subject credited");
        assertEq(uint256(blockNumber), 10, "as of the attestation");
        assertNothingStored(relayer);
        assertTrue(oracle.usedStatements(statementOf(MODEL, xs, id)), "keyed by the attestation");
        // The attestation is used up.
        vm.prank(subject);
        vm.expectRevert(
            abi.encodeWithSelector(
                VerifiedInferenceOracle.StatementAlreadyUsed.selector, statementOf(MODEL, xs, id)
            )
        );
        oracle.submitInference(MODEL, F.proof(), xs);
    }

    function test_attested_staleAttestationIsRefused() public {
        attestSubject();
        vm.roll(10 + MAX_AGE + 1);
        vm.prank(relayer);
        vm.expectRevert(
            abi.encodeWithSelector(VerifiedInferenceOracle.AttestationStale.selector, 10, MAX_AGE)
        );
        oracle.submitInference(MODEL, F.proof(), F.instances());
        // A fresh attestation of the same data lets the same proof through.
        vm.prank(attester);
        oracle.attest(MODEL, subject, keccak256(abi.encodePacked(inputWords())));
        vm.prank(relayer);
        oracle.submitInference(MODEL, F.proof(), F.instances());
        (,, uint64 blockNumber) = oracle.latestInference(MODEL, subject);
        assertEq(uint256(blockNumber), 10 + MAX_AGE + 1, "the fresh attestation's block");
    }

    function test_attested_revokedAttestationIsRefused() public {
        attestSubject();
        vm.prank(attester);
        oracle.revokeAttestation(MODEL, subject);
        vm.prank(relayer);
        vm.expectRevert(
            abi.encodeWithSelector(VerifiedInferenceOracle.NoAttestation.selector, MODEL, subject)
        );
        oracle.submitInference(MODEL, F.proof(), F.instances());
        assertNothingStored(subject);
    }

    function test_attested_revokedAttesterIsRefused() public {
        attestSubject();
        oracle.revokeAttester(attester);
        vm.prank(relayer);
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.AttesterRevoked.selector, attester));
        oracle.submitInference(MODEL, F.proof(), F.instances());
        assertNothingStored(subject);
        // Granted again, the attester's old attestation stays void; a new one admits the proof.
        oracle.grantAttester(attester);
        vm.prank(relayer);
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.AttesterRevoked.selector, attester));
        oracle.submitInference(MODEL, F.proof(), F.instances());
        vm.prank(attester);
        oracle.attest(MODEL, subject, keccak256(abi.encodePacked(inputWords())));
        vm.prank(relayer);
        oracle.submitInference(MODEL, F.proof(), F.instances());
        (int256[] memory stored,,) = oracle.latestInference(MODEL, subject);
        assertEq(stored[0], oracle.decodeSigned(F.instances()[F.NUM_INPUTS]), "stored");
    }

    /// @dev The real proof's stored output is void once its attester is revoked (granted again or not),
    /// or its attestation revoked or replaced.
    function test_attested_storedOutputIsVoidOnceNoLongerVouchedFor() public {
        attestSubject();
        vm.prank(relayer);
        oracle.submitInference(MODEL, F.proof(), F.instances());
        bytes memory revoked =
            abi.encodeWithSelector(VerifiedInferenceOracle.AttesterRevoked.selector, attester);
        oracle.revokeAttester(attester);
        vm.expectRevert(revoked);
        oracle.latestInference(MODEL, subject);
        oracle.grantAttester(attester);
        vm.expectRevert(revoked);
        oracle.latestInferenceDecimals(MODEL, subject, 18);

        // A fresh oracle: the attestation replaced, then revoked.
        uint64 id = attestSubject();
        vm.prank(relayer);
        oracle.submitInference(MODEL, F.proof(), F.instances());
        vm.prank(attester);
        uint64 next = oracle.attest(MODEL, subject, keccak256(abi.encodePacked(inputWords())));
        vm.expectRevert(
            abi.encodeWithSelector(VerifiedInferenceOracle.AttestationSuperseded.selector, id, next)
        );
        oracle.latestInference(MODEL, subject);
        vm.prank(attester);
        oracle.revokeAttestation(MODEL, subject);
        vm.expectRevert(
            abi.encodeWithSelector(VerifiedInferenceOracle.AttestationWithdrawn.selector, MODEL, subject)
        );
        oracle.latestInference(MODEL, subject);
    }

    function test_attested_otherInputsAreRefused() public {
        deployOracle(true);
        uint256[] memory words = inputWords();
        words[0] += 1;
        bytes32 attested = keccak256(abi.encodePacked(words));
        vm.prank(attester);
        oracle.attest(MODEL, subject, attested);
        vm.prank(relayer);
        vm.expectRevert(
            abi.encodeWithSelector(
                VerifiedInferenceOracle.InputNotAttested.selector,
                attested,
                keccak256(abi.encodePacked(inputWords()))
            )
        );
        oracle.submitInference(MODEL, F.proof(), F.instances());
    }

    /// @dev The pairing precompile answering nothing, 0, or more than a word, or failing: the honest proof
    /// is rejected (each precompile call checks success, the exact returndata size and the result).
    function test_misbehavingPairingPrecompileRejectsTheHonestProof() public {
        bytes memory failed =
            rejection(abi.encodeWithSelector(ReusableHalo2Verifier.PrecompileFailed.selector));
        vm.mockCall(address(8), bytes(""), bytes(""));
        assertRefused(subject, F.proof(), F.instances(), failed);
        vm.mockCall(address(8), bytes(""), abi.encode(uint256(0)));
        assertRefused(
            subject,
            F.proof(),
            F.instances(),
            rejection(abi.encodeWithSelector(ReusableHalo2Verifier.PairingFailed.selector))
        );
        vm.mockCall(address(8), bytes(""), abi.encode(uint256(1), uint256(0)));
        assertRefused(subject, F.proof(), F.instances(), failed);
        vm.mockCall(address(8), bytes(""), abi.encodePacked(uint248(0)));
        assertRefused(subject, F.proof(), F.instances(), failed);
        vm.clearMockedCalls();
        vm.mockCallRevert(address(8), bytes(""), bytes(""));
        assertRefused(subject, F.proof(), F.instances(), failed);
        vm.clearMockedCalls();
        assertHonestProofAccepted();
    }

    /// @dev modexp, ecAdd or ecMul answering nothing (as on a chain without them), a wrong-sized answer, or
    /// failing: the honest proof is rejected.
    function test_misbehavingOtherPrecompilesRejectTheHonestProof() public {
        bytes memory failed =
            rejection(abi.encodeWithSelector(ReusableHalo2Verifier.PrecompileFailed.selector));
        address[3] memory precompiles = [address(5), address(6), address(7)];
        for (uint256 i = 0; i < precompiles.length; ++i) {
            vm.mockCall(precompiles[i], bytes(""), bytes(""));
            assertRefused(subject, F.proof(), F.instances(), failed);
            vm.mockCall(precompiles[i], bytes(""), abi.encode(uint256(1), uint256(2), uint256(3)));
            assertRefused(subject, F.proof(), F.instances(), failed);
            if (precompiles[i] != address(5)) {
                // A single word where a point (two words) is due.
                vm.mockCall(precompiles[i], bytes(""), abi.encode(uint256(1)));
                assertRefused(subject, F.proof(), F.instances(), failed);
            }
            vm.clearMockedCalls();
            vm.mockCallRevert(precompiles[i], bytes(""), bytes(""));
            assertRefused(subject, F.proof(), F.instances(), failed);
            vm.clearMockedCalls();
        }
        assertHonestProofAccepted();
    }
}

/// @notice The model-specific (snark-verifier) verifier, called with the instances then the proof.
contract RealSnarkVerifierTest is RealVerifierTest {
    function register() internal override {
        oracle.registerModel(MODEL, snarkVerifier, F.NUM_INPUTS, F.NUM_OUTPUTS, F.SCALE, F.PROOF_LENGTH);
    }

    function rejection(bytes memory) internal pure override returns (bytes memory) {
        return abi.encodeWithSelector(VerifiedInferenceOracle.ProofRejected.selector);
    }

    function callVerifier(bytes memory data) internal view returns (bool ok, bytes memory ret) {
        (ok, ret) = snarkVerifier.staticcall{gas: TX_GAS}(data);
    }

    function test_directCallAnswersExactlyOne() public view {
        (bool ok, bytes memory ret) = callVerifier(abi.encodePacked(F.instances(), F.proof()));
        assertTrue(ok, "accepted");
        assertEq(keccak256(ret), keccak256(abi.encode(uint256(1))), "32 bytes of 1");
    }

    function test_directCallFailsForOtherCalldata() public view {
        (bool ok,) = callVerifier(abi.encodePacked(F.instances(), F.proof(), hex"00"));
        assertTrue(!ok, "one extra byte");
        bytes memory proof = F.proof();
        assembly {
            mstore(proof, sub(mload(proof), 1))
        }
        (ok,) = callVerifier(abi.encodePacked(F.instances(), proof));
        assertTrue(!ok, "one byte short");
        (ok,) = callVerifier("");
        assertTrue(!ok, "empty calldata");
        uint256[] memory xs = F.instances();
        xs[F.NUM_INPUTS] += 1;
        (ok,) = callVerifier(abi.encodePacked(xs, F.proof()));
        assertTrue(!ok, "changed output");
    }

    function test_directCallRefusesAnInstanceOutsideTheField() public view {
        uint256[] memory xs = F.instances();
        xs[0] += R;
        (bool ok,) = callVerifier(abi.encodePacked(xs, F.proof()));
        assertTrue(!ok, "input + r");
    }
}

/// @notice The reusable verifier with the model's verifying key contract.
contract RealReusableVerifierTest is RealVerifierTest {
    function register() internal override {
        oracle.registerModelWithKey(
            MODEL, address(reusable), key, F.NUM_INPUTS, F.NUM_OUTPUTS, F.SCALE, F.PROOF_LENGTH
        );
    }

    function rejection(bytes memory reusableError) internal pure override returns (bytes memory) {
        return reusableError;
    }

    function test_directCallReturnsTrue() public view {
        assertTrue(reusable.verifyProof(key, F.proof(), F.instances()), "verified");
    }

    function test_directCallChecksTheLayout() public {
        uint256[] memory xs = F.instances();
        vm.expectRevert(
            abi.encodeWithSelector(
                ReusableHalo2Verifier.ProofLength.selector, F.PROOF_LENGTH, uint256(F.PROOF_LENGTH) + 1
            )
        );
        reusable.verifyProof(key, bytes.concat(F.proof(), hex"00"), xs);
        uint256[] memory fewer = new uint256[](xs.length - 1);
        vm.expectRevert(
            abi.encodeWithSelector(ReusableHalo2Verifier.InstanceCount.selector, xs.length, fewer.length)
        );
        reusable.verifyProof(key, F.proof(), fewer);
        xs[0] += R;
        vm.expectRevert(abi.encodeWithSelector(ReusableHalo2Verifier.InstanceNotInField.selector, 0));
        reusable.verifyProof(key, F.proof(), xs);
        // Another contract's code is no verifying key.
        vm.expectRevert(ReusableHalo2Verifier.InvalidVerifyingKey.selector);
        reusable.verifyProof(snarkVerifier, F.proof(), F.instances());
    }
}
