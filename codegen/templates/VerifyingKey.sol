// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

/// @title zkinfer verifying key of model {{model}}
/// @notice Data for the reusable `ReusableHalo2Verifier`: k = {{k}}, {{instances}} public instances, proofs of
/// exactly {{proof_len}} bytes. The runtime code of this contract is the key blob
/// (`zkinfer_codegen::plan::VerifierPlan::encode`, {{words}} words); it starts with a zero byte (STOP),
/// so calling it does nothing. Deploy it once per model and pass its address to `verifyProof`.
contract {{contract}} {
    constructor() {
        bytes memory key = hex"{{blob}}";
        assembly {
            return(add(key, 0x20), mload(key))
        }
    }
}
