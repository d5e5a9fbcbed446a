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

/// @notice What the invariant fuzzer calls: random deposits, verified scores, borrows, repayments,
/// block progress, proof replays and reentrant borrows, by a few actors; it keeps ghost totals.
contract LendingHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint256 internal constant R = 0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001;

    VerifiedInferenceOracle public immutable oracle;
    RiskAdjustedLending public immutable pool;
    bytes32 public immutable model;
    ReenteringBorrower public immutable attacker;

    address[3] internal actors = [address(0xA11CE), address(0xB0B), address(0xCA401)];
    bytes[] internal usedProofs;

    uint256 public deposited;
    uint256 public borrowed;
    uint256 public repaidInWei;
    uint256 public repaidApplied;
    uint256 public acceptedProofs;
    uint256 public replaysAccepted;
    uint256 public reentrantLoans;
    uint256 public wrongModelAccepted;

    constructor(VerifiedInferenceOracle oracle_, RiskAdjustedLending pool_, bytes32 model_) {
        oracle = oracle_;
        pool = pool_;
        model = model_;
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

    /// @dev A fresh (mock-verified) proof of score `fixedScore` / 2^13 for an actor.
    function score(uint256 who, int64 fixedScore) external {
        address a = actors[who % 3];
        uint256[] memory xs = new uint256[](2);
        xs[1] = fixedScore >= 0 ? uint256(int256(fixedScore)) : R - uint256(-int256(fixedScore));
        bytes memory proof = abi.encode(usedProofs.length, fixedScore);
        vm.prank(a);
        oracle.submitInference(model, proof, xs);
        usedProofs.push(proof);
        acceptedProofs++;
    }

    /// @dev Any actor resubmits an already accepted proof: it must revert.
    function replay(uint256 who, uint256 which) external {
        if (usedProofs.length == 0) return;
        bytes memory proof = usedProofs[which % usedProofs.length];
        uint256[] memory xs = new uint256[](2);
        vm.prank(actors[who % 3]);
        try oracle.submitInference(model, proof, xs) {
            replaysAccepted++;
        } catch {}
    }

    /// @dev A proof submitted under a model id that was never registered: it must revert.
    function wrongModel(bytes32 id, uint256 nonce) external {
        if (id == model) return;
        uint256[] memory xs = new uint256[](2);
        try oracle.submitInference(id, abi.encode("wrong model", nonce), xs) {
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

    /// @dev The attacker (with collateral and a good score) borrows and re-enters from the transfer.
    function reenter(uint256 amount) external {
        amount = 1 + amount % 5 ether;
        vm.deal(address(this), 10 ether);
        attacker.deposit{value: 10 ether}();
        deposited += 10 ether;
        uint256[] memory xs = new uint256[](2);
        xs[1] = 3 << 13;
        vm.prank(address(attacker));
        oracle.submitInference(model, abi.encode("attacker", usedProofs.length), xs);
        usedProofs.push(abi.encode("attacker", usedProofs.length));
        acceptedProofs++;
        try attacker.borrow(amount) {
            reentrantLoans++;
        } catch {}
    }

    function advance(uint256 blocks) external {
        vm.roll(block.number + blocks % 200);
    }
}

/// @notice Invariants of the oracle and the lending pool under random call sequences.
contract LendingInvariantTest is Test {
    bytes32 internal constant MODEL = keccak256("credit-risk");
    uint256 internal constant LIQUIDITY = 1000 ether;

    VerifiedInferenceOracle internal oracle;
    RiskAdjustedLending internal pool;
    LendingHandler internal handler;

    function setUp() public {
        oracle = new VerifiedInferenceOracle();
        oracle.registerModel(MODEL, address(new MockVerifier()), 1, 1, 13);
        pool = new RiskAdjustedLending(oracle, MODEL, 100);
        vm.deal(address(pool), LIQUIDITY);
        handler = new LendingHandler(oracle, pool, MODEL);
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

    /// @notice A proof is accepted once: no replay by anyone, no unregistered model id.
    function invariant_proofsAreSingleUseAndModelBound() public view {
        assertEq(handler.replaysAccepted(), 0, "replay accepted");
        assertEq(handler.wrongModelAccepted(), 0, "unknown model accepted");
    }

    /// @notice Re-entering `borrow` from the loan transfer never yields a loan.
    function invariant_noReentrantLoan() public view {
        assertEq(handler.reentrantLoans(), 0, "reentrant loan");
        assertEq(pool.debt(address(handler.attacker())), 0, "attacker debt");
    }
}
