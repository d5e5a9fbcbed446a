// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

import {Test, Vm} from "./utils/Test.sol";
import {MockVerifier} from "./utils/Mocks.sol";
import {VerifiedInferenceOracle} from "../src/VerifiedInferenceOracle.sol";
import {RiskAdjustedLending} from "../src/RiskAdjustedLending.sol";

/// @notice A borrower contract that borrows once more from inside the loan's transfer.
contract ReenteringBorrower {
    RiskAdjustedLending internal immutable pool;
    bool internal reentered;

    constructor(RiskAdjustedLending pool_) {
        pool = pool_;
    }

    function deposit() external payable {
        pool.depositCollateral{value: msg.value}();
    }

    function borrow(uint256 amount) external {
        reentered = false;
        pool.borrow(amount);
    }

    receive() external payable {
        if (!reentered) {
            reentered = true;
            pool.borrow(1);
        }
    }
}

/// @notice What the invariant fuzzer calls: random deposits, verified scores, borrows, repayments, block
/// progress, statement replays, padded proofs and reentrant borrows, by a few actors. Scores on the attested
/// model (which the pool reads) are about any actor and sent by any actor: the handler, an attester, vouches
/// for each one's fresh input data first. Scores on the plain model (no binding, no attestation) are also
/// sent by any actor, but only the subject's own may be accepted. The handler also replaces an actor's
/// attestation without proving on it, revokes it, or (as the owner) revokes and re-grants itself as the
/// attester: each voids the attested scores it no longer vouches for. It keeps ghost totals, each subject's
/// last accepted score per model and whether its attested score is still vouched for.
contract LendingHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint256 internal constant R = 0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001;

    VerifiedInferenceOracle public immutable oracle;
    RiskAdjustedLending public immutable pool;
    bytes32 public immutable model;
    bytes32 public immutable plainModel;
    ReenteringBorrower public immutable attacker;

    address[3] internal actors = [address(0xA11CE), address(0xB0B), address(0xCA401)];
    uint256[][] internal usedStatements;
    uint256[][] internal usedPlainStatements;
    uint256 internal nonce;

    uint256 public deposited;
    uint256 public borrowed;
    uint256 public repaidInWei;
    uint256 public repaidApplied;
    uint256 public acceptedProofs;
    uint256 public replaysAccepted;
    uint256 public paddedAccepted;
    uint256 public reentrantLoans;
    uint256 public wrongModelAccepted;
    /// @dev Plain-model submissions by someone other than their subject that were accepted.
    uint256 public plainRelaysAccepted;
    /// @dev Plain-model submissions by their own subject (fresh statements) that were refused.
    uint256 public plainOwnRefused;
    /// @dev Policy changes (by the owner) on a live model that were accepted, or refused for another reason
    /// than the model being active.
    uint256 public policyChangesAccepted;
    mapping(address => bool) public scored;
    mapping(address => int256) public lastScore;
    /// @dev The attestation `lastScore` was proven on is still the subject's current one, by the attester
    /// unrevoked since.
    mapping(address => bool) public vouched;
    mapping(address => bool) public plainScored;
    mapping(address => int256) public plainLastScore;

    constructor(
        VerifiedInferenceOracle oracle_,
        RiskAdjustedLending pool_,
        bytes32 model_,
        bytes32 plainModel_
    ) {
        oracle = oracle_;
        pool = pool_;
        model = model_;
        plainModel = plainModel_;
        attacker = new ReenteringBorrower(pool_);
    }

    function actorCount() external pure returns (uint256) {
        return 3;
    }

    function actor(uint256 i) external view returns (address) {
        return actors[i];
    }

    function deposit(uint256 who, uint256 amount) external {
        address a = actors[who % 3];
        amount = 1 + amount % 50 ether;
        vm.deal(a, amount);
        vm.prank(a);
        pool.depositCollateral{value: amount}();
        deposited += amount;
    }

    /// @dev Instances of a score `fixedScore` / 2^13 about `subject`, on fresh input data.
    function statement(address subject, int256 fixedScore) internal returns (uint256[] memory xs) {
        xs = new uint256[](3);
        xs[0] = ++nonce;
        // casting to 'uint256' is safe: both operands are non-negative
        // forge-lint: disable-next-line(unsafe-typecast)
        xs[1] = fixedScore >= 0 ? uint256(fixedScore) : R - uint256(-fixedScore);
        xs[2] = uint256(uint160(subject));
    }

    /// @dev Instances of a score about `subject` on fresh input data that the handler (an attester) vouches
    /// for.
    function attested(address subject, int256 fixedScore) internal returns (uint256[] memory xs) {
        xs = statement(subject, fixedScore);
        oracle.attest(model, subject, keccak256(abi.encodePacked(xs[0])));
    }

    /// @dev A fresh (mock-verified) proof of a score about one actor on attested data, sent by any actor.
    function score(uint256 sender, uint256 about, int64 fixedScore) external {
        address subject = actors[about % 3];
        uint256[] memory xs = attested(subject, fixedScore);
        vm.prank(actors[sender % 3]);
        oracle.submitInference(model, abi.encode(nonce), xs);
        usedStatements.push(xs);
        scored[subject] = true;
        lastScore[subject] = fixedScore;
        vouched[subject] = true;
        acceptedProofs++;
    }

    /// @dev The attester vouches for new data about an actor without a proof on it: the actor's stored
    /// score (on the old attestation) is superseded.
    function reattest(uint256 about) external {
        address subject = actors[about % 3];
        attested(subject, 0);
        vouched[subject] = false;
    }

    /// @dev The attester (or the owner) revokes an actor's attestation, if it has one.
    function withdraw(uint256 about, bool byOwner) external {
        address subject = actors[about % 3];
        (,, uint64 attestedAt,,) = oracle.attestations(model, subject);
        if (attestedAt == 0) return;
        if (byOwner) vm.prank(oracle.owner());
        oracle.revokeAttestation(model, subject);
        vouched[subject] = false;
    }

    /// @dev The owner revokes the attester (the handler) and grants it again: every attested score so far
    /// is void, re-grant or not.
    function rotateAttester() external {
        vm.startPrank(oracle.owner());
        oracle.revokeAttester(address(this));
        oracle.grantAttester(address(this));
        vm.stopPrank();
        for (uint256 i = 0; i < 3; ++i) {
            vouched[actors[i]] = false;
        }
    }

    /// @dev A fresh (mock-verified) proof of a score about one actor on the plain model, sent by any actor:
    /// accepted exactly when the sender is the subject.
    function scorePlain(uint256 sender, uint256 about, int64 fixedScore) external {
        address subject = actors[about % 3];
        address from = actors[sender % 3];
        uint256[] memory xs = statement(subject, fixedScore);
        vm.prank(from);
        try oracle.submitInference(plainModel, abi.encode(nonce), xs) {
            if (from != subject) {
                plainRelaysAccepted++;
                return;
            }
            usedPlainStatements.push(xs);
            plainScored[subject] = true;
            plainLastScore[subject] = fixedScore;
            acceptedProofs++;
        } catch {
            if (from == subject) plainOwnRefused++;
        }
    }

    /// @dev Any actor resubmits an accepted statement (of either model) with any proof bytes of the right
    /// length: it must revert.
    function replay(uint256 who, uint256 which, uint256 proofTag, bool plain) external {
        uint256[][] storage used = plain ? usedPlainStatements : usedStatements;
        if (used.length == 0) return;
        uint256[] memory xs = used[which % used.length];
        vm.prank(actors[who % 3]);
        try oracle.submitInference(plain ? plainModel : model, abi.encode(proofTag), xs) {
            replaysAccepted++;
        } catch {}
    }

    /// @dev A new attested statement whose proof has extra bytes appended (or is cut short): it must revert.
    function pad(uint256 who, bytes calldata extra, bool cut) external {
        if (extra.length == 0 && !cut) return;
        bytes memory proof = cut ? new bytes(nonce % 32) : bytes.concat(abi.encode(nonce), extra);
        address subject = actors[who % 3];
        uint256[] memory xs = attested(subject, 1 << 13);
        // The new attestation supersedes the subject's, whether or not the padded proof goes through.
        vouched[subject] = false;
        vm.prank(subject);
        try oracle.submitInference(model, proof, xs) {
            paddedAccepted++;
        } catch {}
    }

    /// @dev A proof submitted under a model id that was never registered: it must revert.
    function wrongModel(bytes32 id, uint256 tag) external {
        if (id == model || id == plainModel) return;
        uint256[] memory xs = statement(actors[tag % 3], 0);
        vm.prank(actors[tag % 3]);
        try oracle.submitInference(id, abi.encode(tag), xs) {
            wrongModelAccepted++;
        } catch {}
    }

    function borrow(uint256 who, uint256 amount) external {
        address a = actors[who % 3];
        amount = 1 + amount % 60 ether;
        vm.prank(a);
        try pool.borrow(amount) {
            borrowed += amount;
        } catch {}
    }

    function repay(uint256 who, uint256 amount) external {
        address a = actors[who % 3];
        amount = 1 + amount % 60 ether;
        uint256 owed = pool.debt(a);
        vm.deal(a, amount);
        vm.prank(a);
        pool.repay{value: amount}();
        repaidInWei += amount;
        repaidApplied += amount > owed ? owed : amount;
    }

    /// @dev The attacker (with collateral and a good attested score) borrows and re-enters from the
    /// transfer.
    function reenter(uint256 amount) external {
        amount = 1 + amount % 5 ether;
        vm.deal(address(this), 10 ether);
        attacker.deposit{value: 10 ether}();
        deposited += 10 ether;
        uint256[] memory xs = attested(address(attacker), 3 << 13);
        vm.prank(address(attacker));
        oracle.submitInference(model, abi.encode(nonce), xs);
        usedStatements.push(xs);
        acceptedProofs++;
        try attacker.borrow(amount) {
            reentrantLoans++;
        } catch {}
    }

    /// @dev The owner tries to change a live model's policy (binding, parameter commitment, attestation
    /// age or turning attestation on): it must revert with `ModelAlreadyActive`.
    function reconfigure(uint256 which, bool plain, uint64 maxAge, uint256 commitment) external {
        bytes32 id = plain ? plainModel : model;
        bytes memory call;
        which %= 3;
        if (which == 0) {
            call = abi.encodeCall(VerifiedInferenceOracle.requireInputCommitment, (id));
        } else if (which == 1) {
            call = abi.encodeCall(
                VerifiedInferenceOracle.requireParamCommitment, (id, 1 + commitment % (R - 1))
            );
        } else {
            call = abi.encodeCall(VerifiedInferenceOracle.requireAttestation, (id, 1 + maxAge % 1000));
        }
        bytes memory frozen = abi.encodeWithSelector(VerifiedInferenceOracle.ModelAlreadyActive.selector, id);
        vm.prank(oracle.owner());
        (bool ok, bytes memory ret) = address(oracle).call(call);
        if (ok || keccak256(ret) != keccak256(frozen)) policyChangesAccepted++;
    }

    function advance(uint256 blocks) external {
        vm.roll(block.number + blocks % 200);
    }
}

/// @notice Invariants of the oracle and the lending pool under random call sequences.
contract LendingInvariantTest is Test {
    bytes32 internal constant MODEL = keccak256("attested credit-risk");
    bytes32 internal constant PLAIN = keccak256("plain credit-risk");
    uint256 internal constant LIQUIDITY = 1000 ether;

    VerifiedInferenceOracle internal oracle;
    RiskAdjustedLending internal pool;
    LendingHandler internal handler;

    function setUp() public {
        oracle = new VerifiedInferenceOracle();
        oracle.registerModel(MODEL, address(new MockVerifier()), 1, 1, 13, 32);
        oracle.requireAttestation(MODEL, 50);
        oracle.activateModel(MODEL);
        oracle.registerModel(PLAIN, address(new MockVerifier()), 1, 1, 13, 32);
        oracle.activateModel(PLAIN);
        pool = new RiskAdjustedLending(address(oracle), MODEL, 100);
        vm.deal(address(pool), LIQUIDITY);
        handler = new LendingHandler(oracle, pool, MODEL, PLAIN);
        oracle.grantAttester(address(handler));
    }

    /// @dev Forge reads this to call only the handler.
    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// @notice No wei appears or disappears: liquidity + collateral - loans + repayments.
    function invariant_poolBalanceIsAccounted() public view {
        assertEq(
            address(pool).balance,
            LIQUIDITY + handler.deposited() - handler.borrowed() + handler.repaidInWei(),
            "pool balance"
        );
    }

    /// @notice Outstanding debt is what was lent minus what was repaid, and no one owes more than
    /// the highest loan-to-value allows on their collateral.
    function invariant_debtIsBoundedByCollateral() public view {
        uint256 total = pool.debt(address(handler.attacker()));
        for (uint256 i = 0; i < handler.actorCount(); i++) {
            address a = handler.actor(i);
            uint256 owed = pool.debt(a);
            total += owed;
            assertTrue(owed <= pool.collateral(a) * 8_000 / 10_000, "debt above max LTV");
        }
        assertEq(total, handler.borrowed() - handler.repaidApplied(), "total debt");
    }

    /// @notice A statement is accepted once, whoever sends it and whatever the proof bytes; a proof of
    /// another length than the model's is never accepted; no unregistered model id is.
    function invariant_statementsAreSingleUseAndModelBound() public view {
        assertEq(handler.replaysAccepted(), 0, "replay accepted");
        assertEq(handler.paddedAccepted(), 0, "padded proof accepted");
        assertEq(handler.wrongModelAccepted(), 0, "unknown model accepted");
    }

    /// @notice On the attested model, each actor's stored score is the last one proven about it, whoever
    /// sent it, and it is read only while the attestation it was proven on is still vouched for: once
    /// that attestation is replaced or revoked, or its attester revoked (even if granted again), neither
    /// the oracle nor the pool returns it.
    function invariant_scoresBelongToTheirSubject() public view {
        for (uint256 i = 0; i < handler.actorCount(); i++) {
            address a = handler.actor(i);
            if (!handler.scored(a)) continue;
            if (handler.vouched(a)) {
                (int256[] memory outputs,,) = oracle.latestInference(MODEL, a);
                assertEq(outputs[0], handler.lastScore(a), "score of its subject");
            } else {
                try oracle.latestInference(MODEL, a) {
                    assertTrue(false, "void score read");
                } catch {}
                try pool.ltvBps(a) {
                    assertTrue(false, "void score lent on");
                } catch {}
            }
        }
    }

    /// @notice On the plain model only the subject submits: no one else's submission is accepted, the
    /// subject's own fresh ones always are, and each actor's stored score is the last it sent itself.
    function invariant_plainScoresAreSentByTheirSubject() public view {
        assertEq(handler.plainRelaysAccepted(), 0, "plain relay accepted");
        assertEq(handler.plainOwnRefused(), 0, "subject's own plain submission refused");
        for (uint256 i = 0; i < handler.actorCount(); i++) {
            address a = handler.actor(i);
            if (!handler.plainScored(a)) {
                continue;
            }
            (int256[] memory outputs,,) = oracle.latestInference(PLAIN, a);
            assertEq(outputs[0], handler.plainLastScore(a), "plain score sent by its subject");
        }
    }

    /// @notice A live model's policy never changes: both stay active, the attested one at its age, the
    /// plain one unattested, neither binding inputs nor pinning parameters.
    function invariant_livePolicyIsFrozen() public view {
        assertEq(handler.policyChangesAccepted(), 0, "policy change accepted");
        assertTrue(oracle.activeModels(MODEL) && oracle.activeModels(PLAIN), "active");
        assertEq(uint256(oracle.attestationMaxAge(MODEL)), 50, "attestation age");
        assertEq(uint256(oracle.attestationMaxAge(PLAIN)), 0, "plain stays plain");
        assertTrue(!oracle.bindsInputs(MODEL) && !oracle.bindsInputs(PLAIN), "no binding");
        assertEq(oracle.paramCommitments(MODEL) + oracle.paramCommitments(PLAIN), 0, "no parameter pin");
    }

    /// @notice Re-entering `borrow` from the loan transfer never yields a loan.
    function invariant_noReentrantLoan() public view {
        assertEq(handler.reentrantLoans(), 0, "reentrant loan");
        assertEq(pool.debt(address(handler.attacker())), 0, "attacker debt");
    }
}
