// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

import {OracleFixture} from "./utils/OracleFixture.sol";
import {MockVerifier} from "./utils/Mocks.sol";
import {VerifiedInferenceOracle} from "../src/VerifiedInferenceOracle.sol";
import {RiskAdjustedLending} from "../src/RiskAdjustedLending.sol";

/// @notice A borrower contract that tries to borrow again while receiving the loan.
contract ReentrantBorrower {
    RiskAdjustedLending internal pool;
    bool internal attacked;

    constructor(RiskAdjustedLending pool_) {
        pool = pool_;
    }

    function deposit() external payable {
        pool.depositCollateral{value: msg.value}();
    }

    function submit(VerifiedInferenceOracle oracle, bytes32 model, uint256[] calldata xs) external {
        oracle.submitInference(model, abi.encode(uint256(0x99)), xs);
    }

    function borrow(uint256 amount) external {
        pool.borrow(amount);
    }

    receive() external payable {
        if (!attacked) {
            attacked = true;
            pool.borrow(1);
        }
    }
}

contract RiskAdjustedLendingTest is OracleFixture {
    bytes32 internal constant MODEL = keccak256("credit-risk");
    uint8 internal constant SCALE = 13;

    VerifiedInferenceOracle internal oracle;
    RiskAdjustedLending internal pool;
    address internal alice = address(0xA11CE);
    uint256 internal nonce;

    function setUp() public {
        oracle = new VerifiedInferenceOracle();
        registerLive(oracle, MODEL, address(new MockVerifier()), 1, 1, SCALE);
        pool = new RiskAdjustedLending(address(oracle), MODEL, 100);
        vm.deal(address(pool), 1000 ether);
        vm.deal(alice, 100 ether);
    }

    /// @dev Submits a (mock-verified) score about `who`, as a real number times 2^13, on fresh input data.
    function scoreFor(address who, int256 fixedScore) internal {
        uint256[] memory xs = new uint256[](3);
        xs[0] = nonce++;
        xs[1] = encode(fixedScore);
        xs[2] = word(who);
        vm.prank(who);
        oracle.submitInference(MODEL, proofOf(0), xs);
    }

    function deposit(address who, uint256 amount) internal {
        vm.prank(who);
        pool.depositCollateral{value: amount}();
    }

    function test_ltvBps_followsScore() public {
        scoreFor(alice, 0);
        assertEq(pool.ltvBps(alice), 5_000, "score 0");
        scoreFor(alice, 2 * 8192); // score 2.0
        assertEq(pool.ltvBps(alice), 7_000, "score 2");
        scoreFor(alice, -4096); // score -0.5
        assertEq(pool.ltvBps(alice), 4_500, "score -0.5");
    }

    function test_ltvBps_isClamped() public {
        scoreFor(alice, 10 * 8192);
        assertEq(pool.ltvBps(alice), 8_000, "capped at MAX_LTV");
        scoreFor(alice, -6 * 8192);
        assertEq(pool.ltvBps(alice), 0, "floored at zero");
    }

    function test_creditLimit_isCollateralTimesLtv() public {
        deposit(alice, 10 ether);
        scoreFor(alice, 8192); // score 1.0 -> 60%
        assertEq(pool.creditLimit(alice), 6 ether, "limit");
    }

    function test_borrow_withinLimitPaysOut() public {
        deposit(alice, 10 ether);
        scoreFor(alice, 8192);
        uint256 before = alice.balance;
        vm.prank(alice);
        pool.borrow(6 ether);
        assertEq(alice.balance - before, 6 ether, "paid out");
        assertEq(pool.debt(alice), 6 ether, "debt");
    }

    function test_borrow_failsAboveLimit() public {
        deposit(alice, 10 ether);
        scoreFor(alice, 8192);
        vm.prank(alice);
        pool.borrow(4 ether);
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(RiskAdjustedLending.ExceedsCreditLimit.selector, 3 ether, 2 ether)
        );
        pool.borrow(3 ether);
    }

    function test_borrow_failsWithoutScore() public {
        deposit(alice, 10 ether);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(VerifiedInferenceOracle.NoInference.selector, MODEL, alice));
        pool.borrow(1 ether);
    }

    function test_borrow_failsWithStaleScore() public {
        deposit(alice, 10 ether);
        scoreFor(alice, 8192);
        vm.roll(block.number + 101);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(RiskAdjustedLending.NoFreshScore.selector, alice));
        pool.borrow(1 ether);
    }

    function test_borrow_paysFromPooledCollateral() public {
        RiskAdjustedLending empty = new RiskAdjustedLending(address(oracle), MODEL, 100);
        vm.prank(alice);
        empty.depositCollateral{value: 10 ether}();
        scoreFor(alice, 8192);
        // An unfunded pool lends out of its pooled collateral.
        vm.prank(alice);
        empty.borrow(6 ether);
        assertEq(address(empty).balance, 4 ether, "paid from collateral");
    }

    function test_borrow_rejectsReentrancy() public {
        ReentrantBorrower attacker = new ReentrantBorrower(pool);
        vm.deal(address(attacker), 0);
        attacker.deposit{value: 10 ether}();
        uint256[] memory xs = new uint256[](3);
        xs[1] = 8192;
        xs[2] = word(address(attacker));
        attacker.submit(oracle, MODEL, xs);
        vm.expectRevert(RiskAdjustedLending.TransferFailed.selector);
        attacker.borrow(1 ether);
        assertEq(pool.debt(address(attacker)), 0, "no debt recorded");
    }

    function test_repay_reducesDebt() public {
        deposit(alice, 10 ether);
        scoreFor(alice, 8192);
        vm.startPrank(alice);
        pool.borrow(5 ether);
        pool.repay{value: 2 ether}();
        vm.stopPrank();
        assertEq(pool.debt(alice), 3 ether, "remaining");
    }

    function testFuzz_ltvBps_staysInBounds(int64 score) public {
        scoreFor(alice, score);
        uint256 ltv = pool.ltvBps(alice);
        assertTrue(ltv <= 8_000, "ltv above max");
    }
}
