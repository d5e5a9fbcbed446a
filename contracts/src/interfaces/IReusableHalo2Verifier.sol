// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

/// @notice zkinfer's reusable verifier (`ReusableHalo2Verifier`): one deployment, one key contract per model.
interface IReusableHalo2Verifier {
    /// @notice Returns true for a valid proof; reverts with a custom error otherwise.
    function verifyProof(address vk, bytes calldata proof, uint256[] calldata instances)
        external
        view
        returns (bool);
}
