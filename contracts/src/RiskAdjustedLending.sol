// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

import {IVerifiedInferenceOracle} from "./interfaces/IVerifiedInferenceOracle.sol";

/// @title RiskAdjustedLending
/// @notice An ETH lending pool whose loan-to-value ratio per borrower comes from a verified credit-risk
/// model output: `ltv = BASE_LTV + SLOPE * score`, clamped to `[0, MAX_LTV]`, where `score` is the
/// model's first output (a logit; positive means likely to repay). Scores older than `maxScoreAge`
/// blocks are ignored. A score's age is that of the oracle's `blockNumber`: for a model that requires
/// attested inputs it is the block of the attestation the score was proven from (a score submitted late
/// is as old as its data), otherwise the block it was submitted in (the borrower chose its inputs then).
/// The pool trusts what the oracle trusts: the model and the attesters its owner picked.
contract RiskAdjustedLending {
    /// @notice Basis points in one.
    uint256 public constant BPS = 10_000;
    /// @notice LTV at a score of zero.
    int256 public constant BASE_LTV_BPS = 5_000;
    /// @notice LTV change per unit of score.
    int256 public constant SLOPE_BPS = 1_000;
    /// @notice Highest LTV granted.
    int256 public constant MAX_LTV_BPS = 8_000;

    /// @notice Where verified scores come from (a `VerifiedInferenceOracle`).
    address public immutable oracle;
    /// @notice The credit-risk model whose outputs are trusted.
    bytes32 public immutable modelId;
    /// @notice Scores older than this many blocks (by the oracle's `blockNumber`: the attestation's block for
    /// an attested model) are stale.
    uint64 public immutable maxScoreAge;

    /// @notice Collateral deposited, in wei.
    mapping(address => uint256) public collateral;
    /// @notice Outstanding debt, in wei.
    mapping(address => uint256) public debt;
    bool private _locked;

    /// @notice Collateral was deposited.
    event Deposited(address indexed borrower, uint256 amount);
    /// @notice A loan was granted.
    event Borrowed(address indexed borrower, uint256 amount, uint256 ltvBps);
    /// @notice Debt was repaid.
    event Repaid(address indexed borrower, uint256 amount);

    /// @dev The borrower has no fresh verified score.
    error NoFreshScore(address borrower);
    /// @dev The loan would exceed the borrower's credit limit.
    error ExceedsCreditLimit(uint256 requested, uint256 available);
    /// @dev The pool does not hold enough ETH.
    error InsufficientLiquidity(uint256 requested, uint256 available);
    /// @dev Sending ETH failed.
    error TransferFailed();
    /// @dev Reentrant call.
    error Reentrancy();
    /// @dev Nothing to do.
    error ZeroAmount();

    modifier nonReentrant() {
        if (_locked) revert Reentrancy();
        _locked = true;
        _;
        _locked = false;
    }

    constructor(address oracle_, bytes32 modelId_, uint64 maxScoreAge_) payable {
        oracle = oracle_;
        modelId = modelId_;
        maxScoreAge = maxScoreAge_;
    }

    /// @notice Accepts liquidity for the pool.
    receive() external payable {}

    /// @notice Deposits ETH as collateral.
    function depositCollateral() external payable {
        if (msg.value == 0) revert ZeroAmount();
        collateral[msg.sender] += msg.value;
        emit Deposited(msg.sender, msg.value);
    }

    /// @notice The borrower's verified score in units of 1e18 (reverts without a fresh one: see
    /// `maxScoreAge`).
    function scoreOf(address borrower) public view returns (int256) {
        (int256[] memory outputs, uint8 scale, uint64 blockNumber) =
            IVerifiedInferenceOracle(oracle).latestInference(modelId, borrower);
        if (block.number > uint256(blockNumber) + maxScoreAge) revert NoFreshScore(borrower);
        return outputs[0] * 1e18 / int256(2 ** uint256(scale));
    }

    /// @notice Loan-to-value ratio granted to `borrower`, in basis points.
    function ltvBps(address borrower) public view returns (uint256) {
        int256 ltv = BASE_LTV_BPS + SLOPE_BPS * scoreOf(borrower) / 1e18;
        if (ltv < 0) return 0;
        // casting to 'uint256' is safe because both values are non-negative here
        // forge-lint: disable-next-line(unsafe-typecast)
        if (ltv > MAX_LTV_BPS) return uint256(MAX_LTV_BPS);
        // forge-lint: disable-next-line(unsafe-typecast)
        return uint256(ltv);
    }

    /// @notice The most `borrower` may owe: collateral × LTV.
    function creditLimit(address borrower) public view returns (uint256) {
        return collateral[borrower] * ltvBps(borrower) / BPS;
    }

    /// @notice Borrows `amount` wei against collateral, within the score-based credit limit.
    function borrow(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        uint256 limit = creditLimit(msg.sender);
        uint256 owed = debt[msg.sender];
        uint256 available = limit > owed ? limit - owed : 0;
        if (amount > available) revert ExceedsCreditLimit(amount, available);
        if (amount > address(this).balance) revert InsufficientLiquidity(amount, address(this).balance);
        debt[msg.sender] = owed + amount;
        emit Borrowed(msg.sender, amount, ltvBps(msg.sender));
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert TransferFailed();
    }

    /// @notice Repays debt; any excess stays in the pool as liquidity.
    function repay() external payable {
        if (msg.value == 0) revert ZeroAmount();
        uint256 owed = debt[msg.sender];
        uint256 paid = msg.value > owed ? owed : msg.value;
        debt[msg.sender] = owed - paid;
        emit Repaid(msg.sender, paid);
    }
}
