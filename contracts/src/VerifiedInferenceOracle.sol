// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

/// @notice zkinfer's reusable verifier (`Halo2Verifier`): one deployment, one key contract per model.
interface IHalo2Verifier {
    /// @notice Returns true for a valid proof; reverts with a custom error otherwise.
    function verifyProof(address vk, bytes calldata proof, uint256[] calldata instances)
        external
        view
        returns (bool);
}

/// @title VerifiedInferenceOracle
/// @notice Stores model outputs that arrive with a valid zkinfer proof. Each registered model has either its
/// own generated verifier, or the shared reusable verifier plus its verifying key contract (the verifying
/// key commits to the weights either way), a fixed number of public inputs and
/// outputs, and a fixed-point scale. Outputs are decoded from field elements to signed integers
/// (negative values are encoded as `r - |x|`), so consumers never do field arithmetic.
contract VerifiedInferenceOracle {
    /// @notice The BN254 scalar field modulus `r`: every public instance must be below it.
    uint256 public constant FIELD_MODULUS =
        0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001;

    /// @notice A registered model. `numInputs` counts public input words (zkinfer packs several
    /// inputs per word); `numOutputs` counts outputs, one signed fixed-point value per instance.
    /// `key` is the verifying key contract for the reusable verifier, or zero for a model-specific
    /// verifier called with raw calldata (instances then proof).
    struct Model {
        address verifier;
        address key;
        uint32 numInputs;
        uint32 numOutputs;
        uint8 scale;
    }

    /// @notice The latest verified inference of a subject for a model.
    /// Outputs are stored packed as `int64` (four per slot) when they all fit, which fixed-point
    /// outputs do; otherwise (e.g. a hashed-output commitment) as `int256`.
    struct Inference {
        int64[] outputs;
        int256[] wideOutputs;
        uint64 blockNumber;
    }

    /// @notice Who may register models.
    address public immutable owner;
    /// @notice Registered models by id (the `model_id` of the zkinfer build).
    mapping(bytes32 => Model) public models;
    /// @notice Proofs already accepted, by keccak256 of the proof bytes.
    mapping(bytes32 => bool) public usedProofs;
    /// @notice Models whose first instance is an input commitment that must be the submitter's own.
    mapping(bytes32 => bool) public bindsInputs;
    /// @notice For models with hashed (private) parameters: the commitment of the parameters the
    /// owner trusts. Proofs carry it as their last instance; the verifying key does not bind them.
    mapping(bytes32 => uint256) public paramCommitments;
    /// @notice Each account's committed input per model (a salted Poseidon commitment of its data,
    /// `zkinfer commitment`); a binding model accepts only proofs about this data from this account.
    mapping(bytes32 => mapping(address => uint256)) public inputCommitments;
    mapping(bytes32 => mapping(address => Inference)) internal _latest;

    /// @notice A model was registered.
    event ModelRegistered(
        bytes32 indexed modelId, address verifier, uint32 numInputs, uint32 numOutputs, uint8 scale
    );
    /// @notice `account` committed to its input data for `modelId`.
    event InputCommitted(bytes32 indexed modelId, address indexed account, uint256 commitment);
    /// @notice A proof was verified and its outputs stored for `subject`.
    event InferenceVerified(
        bytes32 indexed modelId, address indexed subject, bytes32 proofHash, int256[] outputs
    );

    /// @dev The caller is not the owner.
    error NotOwner();
    /// @dev The model id was never registered.
    error UnknownModel(bytes32 modelId);
    /// @dev The model id is registered already.
    error ModelAlreadyRegistered(bytes32 modelId);
    /// @dev A model needs a verifier contract and at least one output.
    error InvalidModel();
    /// @dev The number of instances does not match the model's inputs + outputs.
    error WrongInstanceCount(uint256 expected, uint256 found);
    /// @dev An instance is not a canonical field element (`>= FIELD_MODULUS`).
    error InstanceNotInField(uint256 index);
    /// @dev This exact proof was accepted before.
    error ProofAlreadyUsed(bytes32 proofHash);
    /// @dev The verifier rejected the proof.
    error ProofRejected();
    /// @dev The proof was made with other parameters than the committed model's.
    error ParamCommitmentMismatch(uint256 expected, uint256 found);
    /// @dev The proof is about other data than the submitter committed to (or none is committed).
    error InputNotCommitted(uint256 expected, uint256 found);
    /// @dev At most 38 decimals are supported.
    error InvalidDecimals(uint8 decimals);
    /// @dev No verified inference is stored for this subject and model.
    error NoInference(bytes32 modelId, address subject);

    constructor() {
        owner = msg.sender;
    }

    /// @notice Registers `modelId` with its own verifier contract and instance layout.
    function registerModel(
        bytes32 modelId,
        address verifier,
        uint32 numInputs,
        uint32 numOutputs,
        uint8 scale
    ) external {
        _register(modelId, verifier, address(0), numInputs, numOutputs, scale);
    }

    /// @notice Registers `modelId` with the reusable verifier and the model's verifying key contract.
    function registerModelWithKey(
        bytes32 modelId,
        address verifier,
        address key,
        uint32 numInputs,
        uint32 numOutputs,
        uint8 scale
    ) external {
        if (key.code.length == 0) revert InvalidModel();
        _register(modelId, verifier, key, numInputs, numOutputs, scale);
    }

    /// @notice Makes `modelId` bind inputs: its first instance (a hashed-input build's commitment)
    /// must equal the submitter's registered commitment.
    function requireInputCommitment(bytes32 modelId) external {
        if (msg.sender != owner) revert NotOwner();
        if (models[modelId].verifier == address(0)) revert UnknownModel(modelId);
        if (models[modelId].numInputs != 1) revert InvalidModel();
        bindsInputs[modelId] = true;
    }

    /// @notice Pins the parameter commitment of a model with hashed parameters: proofs then have one
    /// more instance (the last), which must equal `commitment`. Set once.
    function requireParamCommitment(bytes32 modelId, uint256 commitment) external {
        if (msg.sender != owner) revert NotOwner();
        if (models[modelId].verifier == address(0)) revert UnknownModel(modelId);
        if (commitment == 0 || commitment >= FIELD_MODULUS || paramCommitments[modelId] != 0) {
            revert InvalidModel();
        }
        paramCommitments[modelId] = commitment;
    }

    /// @notice Registers the caller's input commitment for `modelId` (replacing an earlier one).
    function commitInput(bytes32 modelId, uint256 commitment) external {
        if (commitment == 0 || commitment >= FIELD_MODULUS) revert InstanceNotInField(0);
        inputCommitments[modelId][msg.sender] = commitment;
        emit InputCommitted(modelId, msg.sender, commitment);
    }

    function _register(
        bytes32 modelId,
        address verifier,
        address key,
        uint32 numInputs,
        uint32 numOutputs,
        uint8 scale
    ) internal {
        if (msg.sender != owner) revert NotOwner();
        if (models[modelId].verifier != address(0)) revert ModelAlreadyRegistered(modelId);
        if (verifier.code.length == 0 || numOutputs == 0) revert InvalidModel();
        models[modelId] = Model(verifier, key, numInputs, numOutputs, scale);
        emit ModelRegistered(modelId, verifier, numInputs, numOutputs, scale);
    }

    /// @notice Verifies `proof` for `instances` (inputs then outputs) and stores the decoded outputs
    /// as the caller's latest inference for `modelId`.
    function submitInference(bytes32 modelId, bytes calldata proof, uint256[] calldata instances)
        external
        returns (int256[] memory outputs)
    {
        Model memory model = models[modelId];
        if (model.verifier == address(0)) revert UnknownModel(modelId);
        uint256 paramCommitment = paramCommitments[modelId];
        uint256 expected = uint256(model.numInputs) + model.numOutputs + (paramCommitment == 0 ? 0 : 1);
        if (instances.length != expected) revert WrongInstanceCount(expected, instances.length);
        if (paramCommitment != 0 && instances[expected - 1] != paramCommitment) {
            revert ParamCommitmentMismatch(paramCommitment, instances[expected - 1]);
        }
        for (uint256 i = 0; i < instances.length; ++i) {
            if (instances[i] >= FIELD_MODULUS) revert InstanceNotInField(i);
        }
        if (bindsInputs[modelId]) {
            uint256 committed = inputCommitments[modelId][msg.sender];
            if (committed == 0 || instances[0] != committed) {
                revert InputNotCommitted(committed, instances[0]);
            }
        }
        bytes32 proofHash = keccak256(proof);
        if (usedProofs[proofHash]) revert ProofAlreadyUsed(proofHash);
        usedProofs[proofHash] = true;

        if (model.key == address(0)) {
            (bool ok,) = model.verifier.staticcall(abi.encodePacked(instances, proof));
            if (!ok) revert ProofRejected();
        } else {
            (bool ok, bytes memory result) = model.verifier
                .staticcall(abi.encodeCall(IHalo2Verifier.verifyProof, (model.key, proof, instances)));
            // The reusable verifier says why it rejects: pass its custom error on.
            if (!ok && result.length > 0) {
                assembly {
                    revert(add(result, 0x20), mload(result))
                }
            }
            if (!ok || result.length != 32 || abi.decode(result, (bool)) != true) revert ProofRejected();
        }

        outputs = new int256[](model.numOutputs);
        for (uint256 i = 0; i < model.numOutputs; ++i) {
            outputs[i] = decodeSigned(instances[model.numInputs + i]);
        }
        Inference storage inference = _latest[modelId][msg.sender];
        if (_fitsInt64(outputs)) {
            if (inference.wideOutputs.length != 0) delete inference.wideOutputs;
            int64[] storage packed = inference.outputs;
            while (packed.length > outputs.length) packed.pop();
            for (uint256 i = 0; i < outputs.length; ++i) {
                // casting to 'int64' is safe: _fitsInt64 checked every value
                // forge-lint: disable-next-line(unsafe-typecast)
                if (i < packed.length) packed[i] = int64(outputs[i]);
                // forge-lint: disable-next-line(unsafe-typecast)
                else packed.push(int64(outputs[i]));
            }
        } else {
            if (inference.outputs.length != 0) delete inference.outputs;
            inference.wideOutputs = outputs;
        }
        inference.blockNumber = uint64(block.number);
        emit InferenceVerified(modelId, msg.sender, proofHash, outputs);
    }

    /// @notice The latest verified outputs of `subject` for `modelId`, their scale (value = output / 2^scale)
    /// and the block they were verified in.
    function latestInference(bytes32 modelId, address subject)
        external
        view
        returns (int256[] memory outputs, uint8 scale, uint64 blockNumber)
    {
        Inference storage inference = _latest[modelId][subject];
        if (inference.blockNumber == 0) revert NoInference(modelId, subject);
        return (_outputs(inference), models[modelId].scale, inference.blockNumber);
    }

    /// @notice The latest verified outputs of `subject` for `modelId` as decimal fixed point: each value is
    /// `output × 10^decimals / 2^scale`, rounded toward zero (e.g. decimals = 18 for a wad), and the block.
    function latestInferenceDecimals(bytes32 modelId, address subject, uint8 decimals)
        external
        view
        returns (int256[] memory values, uint64 blockNumber)
    {
        if (decimals > 38) revert InvalidDecimals(decimals);
        Inference storage inference = _latest[modelId][subject];
        if (inference.blockNumber == 0) revert NoInference(modelId, subject);
        uint8 scale = models[modelId].scale;
        // |output| < 2^254 / 2 and 10^38 < 2^127: the product could overflow int256 only for
        // outputs above 2^128, which no fixed-point model output reaches; checked arithmetic
        // reverts rather than wraps if one ever does.
        int256 unit = int256(10 ** uint256(decimals));
        values = _outputs(inference);
        for (uint256 i = 0; i < values.length; ++i) {
            values[i] = (values[i] * unit) / int256(1 << scale);
        }
        return (values, inference.blockNumber);
    }

    function _fitsInt64(int256[] memory values) internal pure returns (bool) {
        for (uint256 i = 0; i < values.length; ++i) {
            if (values[i] < type(int64).min || values[i] > type(int64).max) return false;
        }
        return true;
    }

    function _outputs(Inference storage inference) internal view returns (int256[] memory values) {
        if (inference.wideOutputs.length != 0) return inference.wideOutputs;
        int64[] storage packed = inference.outputs;
        values = new int256[](packed.length);
        for (uint256 i = 0; i < values.length; ++i) {
            values[i] = packed[i];
        }
    }

    /// @notice Decodes a field element as a signed integer: values above `(r-1)/2` are `x - r`.
    function decodeSigned(uint256 x) public pure returns (int256) {
        if (x >= FIELD_MODULUS) revert InstanceNotInField(0);
        // casting to 'int256' is safe because both magnitudes are at most (r - 1) / 2 < 2^254
        // forge-lint: disable-next-line(unsafe-typecast)
        if (x > (FIELD_MODULUS - 1) / 2) return -int256(FIELD_MODULUS - x);
        // forge-lint: disable-next-line(unsafe-typecast)
        return int256(x);
    }
}
