// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

/// @notice What a consumer reads from zkinfer's `VerifiedInferenceOracle`: verified model outputs per
/// subject. Consumers (the lending pool) depend on this interface, not on the oracle's implementation.
interface IVerifiedInferenceOracle {
    /// @notice The latest verified outputs of `subject` for `modelId`, their fixed-point scale and their
    /// block (see the oracle for when it reverts).
    function latestInference(bytes32 modelId, address subject)
        external
        view
        returns (int256[] memory outputs, uint8 scale, uint64 blockNumber);

    /// @notice The latest verified outputs as decimal fixed point (`output × 10^decimals / 2^scale`).
    function latestInferenceDecimals(bytes32 modelId, address subject, uint8 decimals)
        external
        view
        returns (int256[] memory values, uint64 blockNumber);
}
