//! The consumer contracts, compiled from the sources in `contracts/src` embedded in the binary,
//! and their Rust bindings.
// `registerModelWithKey` takes the model's whole layout (7 arguments, 8 with `self`).
#![allow(clippy::too_many_arguments)]

use alloy::sol;
use anyhow::{Context, Result};
use zkinfer_codegen::{CompiledContract, Optimizer, Solc};

const ORACLE_SOURCE: &str = include_str!("../../contracts/src/VerifiedInferenceOracle.sol");
const LENDING_SOURCE: &str = include_str!("../../contracts/src/RiskAdjustedLending.sol");

sol! {
    /// Bindings for `contracts/src/VerifiedInferenceOracle.sol`.
    #[sol(rpc, all_derives)]
    contract VerifiedInferenceOracle {
        function registerModel(bytes32 modelId, address verifier, uint32 numInputs, uint32 numOutputs, uint8 scale, uint32 proofLength) external;
        function registerModelWithKey(bytes32 modelId, address verifier, address key, uint32 numInputs, uint32 numOutputs, uint8 scale, uint32 proofLength) external;
        function requireInputCommitment(bytes32 modelId) external;
        function commitInput(bytes32 modelId, uint256 commitment) external;
        function requireParamCommitment(bytes32 modelId, uint256 commitment) external;
        function grantAttester(address attester) external;
        function activateModel(bytes32 modelId) external;
        function attestationMaxAge(bytes32 modelId) external view returns (uint64);
        function requireAttestation(bytes32 modelId, uint64 maxAge) external;
        function attest(bytes32 modelId, address subject, bytes32 inputHash) external returns (uint64 id);
        function attestations(bytes32 modelId, address subject) external view returns (bytes32 inputHash, address attester, uint64 blockNumber, uint64 id, uint64 epoch);
        function submitInference(bytes32 modelId, bytes calldata proof, uint256[] calldata instances) external returns (int256[] memory outputs);
        function latestInference(bytes32 modelId, address subject) external view returns (int256[] memory outputs, uint8 scale, uint64 blockNumber);

        error NotOwner();
        error UnknownModel(bytes32 modelId);
        error ModelAlreadyRegistered(bytes32 modelId);
        error InvalidModel();
        error InvalidScale(uint8 scale);
        error WrongInstanceCount(uint256 expected, uint256 found);
        error WrongProofLength(uint256 expected, uint256 found);
        error InstanceNotInField(uint256 index);
        error SubjectNotAnAddress(uint256 word);
        error SubjectNotSender(address subject, address sender);
        error EmptyInputHash();
        error NoSubject();
        error StatementAlreadyUsed(bytes32 statement);
        error ProofRejected();
        error VerifierMissing(address verifier);
        error NoInference(bytes32 modelId, address subject);
        error InputNotCommitted(uint256 expected, uint256 found);
        error InvalidCommitment(uint256 commitment);
        error ModelNotActive(bytes32 modelId);
        error ModelAlreadyActive(bytes32 modelId);
        error ParamCommitmentMismatch(uint256 expected, uint256 found);
        error InvalidDecimals(uint8 decimals);
        error NotAttester(address account);
        error NoAttestation(bytes32 modelId, address subject);
        error AttesterRevoked(address attester);
        error AttestationStale(uint64 attestedAt, uint64 maxAge);
        error InputNotAttested(bytes32 attested, bytes32 found);
        error AttestationWithdrawn(bytes32 modelId, address subject);
        error AttestationSuperseded(uint64 stored, uint64 current);
    }

    /// Bindings for the reusable verifier, `codegen/templates/Halo2Verifier.sol`.
    #[sol(rpc, all_derives)]
    contract Halo2Verifier {
        function verifyProof(address vk, bytes calldata proof, uint256[] calldata instances) external view returns (bool);

        error InvalidVerifyingKey();
        error InstanceCount(uint256 expected, uint256 actual);
        error InstanceNotInField(uint256 index);
        error ProofLength(uint256 expected, uint256 actual);
        error ScalarNotInField(uint256 offset);
        error PointNotOnCurve(uint256 offset);
        error PairingFailed();
        error PrecompileFailed();
    }

    /// Bindings for `contracts/src/RiskAdjustedLending.sol`.
    #[sol(rpc, all_derives)]
    contract RiskAdjustedLending {
        constructor(address oracle_, bytes32 modelId_, uint64 maxScoreAge_) payable;
        function ltvBps(address borrower) external view returns (uint256);
        function creditLimit(address borrower) external view returns (uint256);
        function collateral(address borrower) external view returns (uint256);

        error NoFreshScore(address borrower);
        error ExceedsCreditLimit(uint256 requested, uint256 available);
        error InsufficientLiquidity(uint256 requested, uint256 available);
        error TransferFailed();
        error Reentrancy();
        error ZeroAmount();
    }
}

/// The oracle and lending pool, compiled.
pub(crate) struct Consumers {
    pub(crate) oracle: CompiledContract,
    pub(crate) lending: CompiledContract,
}

/// Compiles the embedded consumer contracts with `solc`.
pub(crate) fn compile_consumers(solc: &Solc) -> Result<Consumers> {
    let mut out = solc
        .compile(
            &[
                ("VerifiedInferenceOracle.sol", ORACLE_SOURCE),
                ("RiskAdjustedLending.sol", LENDING_SOURCE),
            ],
            Optimizer::On,
        )
        .context("compiling the consumer contracts")?;
    let mut take = |name: &str| {
        out.remove(name)
            .with_context(|| format!("{name} missing from solc output"))
    };
    Ok(Consumers {
        oracle: take("VerifiedInferenceOracle")?,
        lending: take("RiskAdjustedLending")?,
    })
}
