// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

import {IReusableHalo2Verifier} from "./interfaces/IReusableHalo2Verifier.sol";
import {IVerifiedInferenceOracle} from "./interfaces/IVerifiedInferenceOracle.sol";

/// @title VerifiedInferenceOracle
/// @notice Stores model outputs that arrive with a valid zkinfer proof. Each registered model has either its
/// own generated verifier, or the shared reusable verifier plus its verifying key contract (the verifying
/// key commits to the weights either way), a fixed number of public inputs and outputs, a fixed proof
/// length and a fixed-point scale. Outputs are decoded from field elements to signed integers (negative
/// values are encoded as `r - |x|`), so consumers never do field arithmetic.
///
/// A model's life has two steps. Registered, it is inactive: the owner sets its policy (input binding,
/// pinned parameter commitment, attestation) and attesters may already vouch for subjects' inputs, but no
/// proof is accepted. `activateModel` then makes it live and freezes its policy for good, so every output
/// it ever stores was checked under the same policy: there is no window in which a model meant to bind or
/// attest inputs accepts self-chosen ones, and no output from before a policy change stays trusted.
///
/// The public instances of every proof (its statement) are
/// `[input words (numInputs) | outputs (numOutputs) | paramCommitment (only if pinned) | subject]`.
/// The last one, the subject, is an address as a field element and is bound by the circuit: a proof
/// names whom it is about, and its outputs are stored for that subject, never for the sender. Whether a
/// third party may submit depends on who fixed the inputs. With input binding (the subject's own
/// committed data) or attestation (data an attester vouched for about the subject), anyone may relay a
/// proof, and a front-runner who copies the calldata only credits the subject. Otherwise the prover
/// chooses the inputs, and anyone holding the proving key could prove made-up inputs about any address,
/// so only the subject itself may submit (`SubjectNotSender`): a copied proof gains a front-runner
/// nothing and nobody can overwrite another account's output.
///
/// What the oracle guarantees: a stored output is what the registered model (weights fixed by its
/// verifying key, or by the pinned parameter commitment) computes on the proof's inputs, for the subject
/// the proof names; each statement is stored once; the model's policy was fixed before its first output;
/// with input binding the inputs are the data behind the commitment the subject registered (proving
/// needs that data and its salt: an account that registers another's commitment cannot prove about that
/// data for itself, and a proof naming the other account credits only that account); with attestation
/// they are data an attester vouched for about that subject, and the output is returned (by
/// `latestInference` and `latestInferenceDecimals`) only while that vouching stands: the attestation it
/// was proven on is still the subject's current one (not revoked, `AttestationWithdrawn`, nor replaced by
/// a newer one, `AttestationSuperseded`) and its attester still holds the role and has not been revoked
/// since it attested (`AttesterRevoked`, also after a re-grant: see `attesterEpoch`). So revoking a
/// compromised attester, or a wrong attestation, also voids the scores already proven on it, and
/// consumers such as the lending pool stop relying on them at once.
///
/// What it does not guarantee: the owner chooses the models, their policy and the attesters, and is
/// trusted for all three (it must require attestation only where the outputs are a function of the
/// attested input words, see `requireAttestation`). An attester is trusted for the truth and freshness of
/// the inputs it vouches for; the oracle only checks that a proof's inputs are the attested ones, that the
/// attester is still one (and not revoked since it attested) and that the attestation is recent enough at
/// submission (at read time, consumers judge age by `blockNumber`). Without attestation a subject chooses
/// its own inputs: the proof shows what the model says about them, not that they describe the subject. A
/// commitment is not exclusive to one account: whoever holds the data and salt behind it may prove about
/// it for any account that registered it (and, with another salt, for any account). Stored outputs are
/// otherwise kept: only revoking or replacing the attestation, or revoking the attester, voids them (an
/// input commitment replaced by `commitInput` does not void the output proven on the old one).
/// Freshness (`blockNumber` of an inference) is the attestation's block for an attested model, and the
/// submission's block otherwise.
contract VerifiedInferenceOracle is IVerifiedInferenceOracle {
    /// @notice The BN254 scalar field modulus `r`: every public instance must be below it.
    uint256 public constant FIELD_MODULUS =
        0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001;

    /// @notice A registered model. `numInputs` counts public input words (zkinfer packs several
    /// inputs per word); `numOutputs` counts outputs, one signed fixed-point value per instance.
    /// `key` is the verifying key contract for the reusable verifier, or zero for a model-specific
    /// verifier called with raw calldata (instances then proof). `proofLength` is the exact length in
    /// bytes of the model's proofs.
    struct Model {
        address verifier;
        address key;
        uint32 numInputs;
        uint32 numOutputs;
        uint8 scale;
        uint32 proofLength;
    }

    /// @notice The latest verified inference of a subject for a model.
    /// Outputs are stored packed as `int64` (four per slot) when they all fit, which fixed-point
    /// outputs do; otherwise (e.g. a hashed-output commitment) as `int256`. `blockNumber` is the block
    /// the inputs are vouched for as of: the attestation's block for an attested model, else the
    /// submission's. For an attested model, `attestationId` and `attester` name the attestation the
    /// proof's inputs were checked against (both zero otherwise): the outputs are readable only while
    /// that attestation is still the subject's current one and its attester is still trusted.
    struct Inference {
        int64[] outputs;
        int256[] wideOutputs;
        uint64 blockNumber;
        uint64 attestationId;
        address attester;
    }

    /// @notice An attester's statement that `inputHash` (see `inputHash`) is a subject's input data for a
    /// model as of `blockNumber`. `id` is unique across the oracle and starts at 1. `epoch` is the
    /// attester's `attesterEpoch` when it attested: revoking the attester moves its epoch on, so the
    /// attestation stays void even if the attester is granted again.
    struct Attestation {
        bytes32 inputHash;
        address attester;
        uint64 blockNumber;
        uint64 id;
        uint64 epoch;
    }

    /// @dev `keccak256("")`: the input hash of no input words, which no attestation may vouch for.
    bytes32 internal constant EMPTY_INPUT_HASH = keccak256("");

    /// @notice Who may register and activate models, set their policy and appoint attesters.
    address public immutable owner;
    /// @notice Registered models by id (the `model_id` of the zkinfer build).
    mapping(bytes32 => Model) public models;
    /// @notice Models the owner activated: only these accept proofs, and their policy (input binding,
    /// parameter commitment, attestation) can no longer change.
    mapping(bytes32 => bool) public activeModels;
    /// @notice Statements already accepted, by `keccak256(abi.encode(modelId, instances, attestationId))`.
    /// @dev Replay protection is by statement, not by proof bytes: the bytes of a proof are malleable
    /// (another encoding or length may verify the same statement), while the statement is what the
    /// oracle trusts and stores. A subject re-proving the same data makes the same statement, which is
    /// stored once; an attested model gets a new statement from each new attestation (its id is part of
    /// the hash), so each attestation is used at most once.
    mapping(bytes32 => bool) public usedStatements;
    /// @notice Models whose first instance is an input commitment that must be the subject's own.
    mapping(bytes32 => bool) public bindsInputs;
    /// @notice For models with hashed (private) parameters: the commitment of the parameters the
    /// owner trusts. Proofs carry it as their second-to-last instance (just before the subject); the
    /// verifying key does not bind them.
    mapping(bytes32 => uint256) public paramCommitments;
    /// @notice Each account's committed input per model (a salted Poseidon commitment of its data,
    /// `zkinfer commitment`); a binding model accepts only proofs about this data for this subject.
    /// @dev Not exclusive: several accounts may register the same commitment. That gains a copier
    /// nothing: a proof naming the copier needs the data and salt behind the commitment, and a proof
    /// naming its owner credits only the owner.
    mapping(bytes32 => mapping(address => uint256)) public inputCommitments;
    /// @notice Accounts the owner trusts to vouch for subjects' inputs.
    mapping(address => bool) public attesters;
    /// @notice How many times each attester was revoked. An attestation is valid only while its attester
    /// holds the role and this is still the epoch it was made in: re-granting a revoked attester does not
    /// revive its earlier attestations (nor the outputs proven on them).
    mapping(address => uint64) public attesterEpoch;
    /// @notice Nonzero for a model that requires attested inputs: the most blocks an attestation may
    /// be old at submission.
    mapping(bytes32 => uint64) public attestationMaxAge;
    /// @notice The current attestation of a subject's inputs per model (an all-zero one when none).
    mapping(bytes32 => mapping(address => Attestation)) public attestations;
    /// @notice Attestations made so far; the last one's id.
    uint64 public attestationCount;
    mapping(bytes32 => mapping(address => Inference)) internal _latest;

    /// @notice A model was registered.
    event ModelRegistered(
        bytes32 indexed modelId,
        address verifier,
        uint32 numInputs,
        uint32 numOutputs,
        uint8 scale,
        uint32 proofLength
    );
    /// @notice `modelId` is live: it accepts proofs and its policy is frozen.
    event ModelActivated(bytes32 indexed modelId);
    /// @notice `account` committed to its input data for `modelId`.
    event InputCommitted(bytes32 indexed modelId, address indexed account, uint256 commitment);
    /// @notice A proof of `statement` was verified and its outputs stored for `subject`; `submitter`
    /// sent it.
    event InferenceVerified(
        bytes32 indexed modelId,
        address indexed subject,
        address submitter,
        bytes32 statement,
        int256[] outputs
    );
    /// @notice The owner granted (`allowed`) or revoked an attester.
    event AttesterChanged(address indexed attester, bool allowed);
    /// @notice `modelId` now requires attestations at most `maxAge` blocks old.
    event AttestationRequired(bytes32 indexed modelId, uint64 maxAge);
    /// @notice `attester` vouched that `inputHash` is the input data of `subject` for `modelId`.
    event InputAttested(
        bytes32 indexed modelId, address indexed subject, address attester, bytes32 inputHash, uint64 id
    );
    /// @notice The attestation of `subject`'s inputs for `modelId` was revoked.
    event AttestationRevoked(bytes32 indexed modelId, address indexed subject);

    /// @dev The caller is not the owner.
    error NotOwner();
    /// @dev The model id was never registered.
    error UnknownModel(bytes32 modelId);
    /// @dev The model id is registered already.
    error ModelAlreadyRegistered(bytes32 modelId);
    /// @dev The model is active already: it cannot be activated again, and its policy is frozen.
    error ModelAlreadyActive(bytes32 modelId);
    /// @dev The model is registered but not activated yet: it accepts no proofs.
    error ModelNotActive(bytes32 modelId);
    /// @dev A model needs a verifier contract, at least one output and a proof length; or the setting
    /// does not fit the model.
    error InvalidModel();
    /// @dev The scale must be below 128: outputs are divided by `2^scale` as an int256.
    error InvalidScale(uint8 scale);
    /// @dev The proof is not exactly the model's proof length.
    error WrongProofLength(uint256 expected, uint256 found);
    /// @dev The number of instances does not match the model's layout.
    error WrongInstanceCount(uint256 expected, uint256 found);
    /// @dev An instance is not a canonical field element (`>= FIELD_MODULUS`).
    error InstanceNotInField(uint256 index);
    /// @dev The subject instance is not an address (`>= 2^160`).
    error SubjectNotAnAddress(uint256 word);
    /// @dev Without input binding or attestation, only the subject may submit its proof.
    error SubjectNotSender(address subject, address sender);
    /// @dev The proof (or attestation) names no subject (the zero address).
    error NoSubject();
    /// @dev This statement (model, instances, attestation) was accepted before.
    error StatementAlreadyUsed(bytes32 statement);
    /// @dev The verifier rejected the proof, or did not answer exactly "valid".
    error ProofRejected();
    /// @dev The verifier (or its key contract) has no code.
    error VerifierMissing(address verifier);
    /// @dev The proof was made with other parameters than the committed model's.
    error ParamCommitmentMismatch(uint256 expected, uint256 found);
    /// @dev The proof is about other data than the subject committed to (or none is committed).
    error InputNotCommitted(uint256 expected, uint256 found);
    /// @dev An input commitment must be a nonzero field element (`0 < commitment < FIELD_MODULUS`).
    error InvalidCommitment(uint256 commitment);
    /// @dev The caller is not an attester (or, revoking, neither this attestation's attester nor the owner).
    error NotAttester(address account);
    /// @dev An attestation needs an input hash of some input words: neither zero nor `keccak256("")`.
    error EmptyInputHash();
    /// @dev The model requires an attestation and the subject has none.
    error NoAttestation(bytes32 modelId, address subject);
    /// @dev The attestation's attester is no longer trusted, or was revoked since it attested (even if
    /// granted again).
    error AttesterRevoked(address attester);
    /// @dev The attestation a stored inference of `subject` was proven on was revoked (deleted): its outputs
    /// are no longer vouched for.
    error AttestationWithdrawn(bytes32 modelId, address subject);
    /// @dev The attestation (id `stored`) a stored inference was proven on has been replaced by a newer
    /// one (id `current`): the outputs are about data the attester no longer vouches for as current; a
    /// proof on the new attestation refreshes them.
    error AttestationSuperseded(uint64 stored, uint64 current);
    /// @dev The attestation, made at block `attestedAt`, is older than `maxAge` blocks.
    error AttestationStale(uint64 attestedAt, uint64 maxAge);
    /// @dev The proof's input words are not the attested ones.
    error InputNotAttested(bytes32 attested, bytes32 found);
    /// @dev At most 38 decimals are supported.
    error InvalidDecimals(uint8 decimals);
    /// @dev No verified inference is stored for this subject and model.
    error NoInference(bytes32 modelId, address subject);

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner();
        _;
    }

    modifier knownModel(bytes32 modelId) {
        if (models[modelId].verifier == address(0)) revert UnknownModel(modelId);
        _;
    }

    /// @dev The model's policy may change only before it is activated.
    modifier notActive(bytes32 modelId) {
        if (activeModels[modelId]) revert ModelAlreadyActive(modelId);
        _;
    }

    constructor() {
        owner = msg.sender;
    }

    /// @notice Registers `modelId` with its own verifier contract (called with the instances then the
    /// proof as raw calldata, answering 32 bytes of 1), its instance layout and proof length. The model
    /// starts inactive: set its policy, then `activateModel`.
    function registerModel(
        bytes32 modelId,
        address verifier,
        uint32 numInputs,
        uint32 numOutputs,
        uint8 scale,
        uint32 proofLength
    ) external {
        _register(modelId, verifier, address(0), numInputs, numOutputs, scale, proofLength);
    }

    /// @notice Registers `modelId` with the reusable verifier and the model's verifying key contract. The
    /// model starts inactive: set its policy, then `activateModel`.
    function registerModelWithKey(
        bytes32 modelId,
        address verifier,
        address key,
        uint32 numInputs,
        uint32 numOutputs,
        uint8 scale,
        uint32 proofLength
    ) external {
        if (key.code.length == 0) revert InvalidModel();
        _register(modelId, verifier, key, numInputs, numOutputs, scale, proofLength);
    }

    /// @notice Makes `modelId` bind inputs: its first instance (a hashed-input build's commitment)
    /// must equal the subject's registered commitment. Before activation only.
    function requireInputCommitment(bytes32 modelId)
        external
        onlyOwner
        knownModel(modelId)
        notActive(modelId)
    {
        if (models[modelId].numInputs != 1) revert InvalidModel();
        bindsInputs[modelId] = true;
    }

    /// @notice Pins the parameter commitment of a model with hashed parameters: proofs then have one
    /// more instance (just before the subject), which must equal `commitment`. Set once, before
    /// activation.
    function requireParamCommitment(bytes32 modelId, uint256 commitment)
        external
        onlyOwner
        knownModel(modelId)
        notActive(modelId)
    {
        if (commitment == 0 || commitment >= FIELD_MODULUS || paramCommitments[modelId] != 0) {
            revert InvalidModel();
        }
        paramCommitments[modelId] = commitment;
    }

    /// @notice Makes `modelId` accept only proofs whose inputs an attester vouched for about the subject,
    /// at most `maxAge` blocks before the submission. Before activation only (a second call before it
    /// replaces `maxAge`); once the model is active it cannot be changed or turned off. The model needs
    /// public input words: with none, every proof's input hash would be `keccak256("")`.
    /// @dev Attested models accept proofs relayed by anyone, so the owner must require attestation only
    /// for a model whose outputs are a function of its attested input words. Not, for example, for a model
    /// with public inputs and hashed outputs: the output commitment's salt is the prover's free choice, so
    /// anyone could re-prove a subject's attested inputs with another salt and replace its stored output.
    function requireAttestation(bytes32 modelId, uint64 maxAge)
        external
        onlyOwner
        knownModel(modelId)
        notActive(modelId)
    {
        if (maxAge == 0 || models[modelId].numInputs == 0) revert InvalidModel();
        attestationMaxAge[modelId] = maxAge;
        emit AttestationRequired(modelId, maxAge);
    }

    /// @notice Makes `modelId` live: from now on it accepts proofs, and its policy (input binding,
    /// parameter commitment, attestation) is frozen. Call it last, after the policy calls.
    function activateModel(bytes32 modelId) external onlyOwner knownModel(modelId) notActive(modelId) {
        activeModels[modelId] = true;
        emit ModelActivated(modelId);
    }

    /// @notice Trusts `attester` to vouch for subjects' inputs.
    function grantAttester(address attester) external onlyOwner {
        attesters[attester] = true;
        emit AttesterChanged(attester, true);
    }

    /// @notice Stops trusting `attester`: its attestations no longer admit submissions, and the outputs
    /// already proven on them are no longer returned (`AttesterRevoked`). This holds even if the attester
    /// is granted again later: its epoch moves on, so only its new attestations count.
    function revokeAttester(address attester) external onlyOwner {
        attesters[attester] = false;
        ++attesterEpoch[attester];
        emit AttesterChanged(attester, false);
    }

    /// @notice Registers the caller's input commitment for `modelId` (replacing its earlier one). Any
    /// account may register any commitment: proving about it for that account still takes the data and
    /// salt behind it (see `inputCommitments`).
    function commitInput(bytes32 modelId, uint256 commitment) external {
        if (commitment == 0 || commitment >= FIELD_MODULUS) revert InvalidCommitment(commitment);
        inputCommitments[modelId][msg.sender] = commitment;
        emit InputCommitted(modelId, msg.sender, commitment);
    }

    /// @notice As an attester, vouches that the input words hashing to `inputHash` (see `inputHash`) are
    /// `subject`'s data for `modelId` as of this block; replaces the subject's previous attestation (and so
    /// voids the subject's stored output proven on it until a proof on the new one is submitted: see
    /// `AttestationSuperseded`). Works before and after the model's activation. The hash of no words
    /// (`keccak256("")`) is refused.
    /// @return id The new attestation's id.
    function attest(bytes32 modelId, address subject, bytes32 inputHash_)
        external
        knownModel(modelId)
        returns (uint64 id)
    {
        if (!attesters[msg.sender]) revert NotAttester(msg.sender);
        if (subject == address(0)) revert NoSubject();
        if (inputHash_ == bytes32(0) || inputHash_ == EMPTY_INPUT_HASH) revert EmptyInputHash();
        id = ++attestationCount;
        attestations[modelId][subject] =
            Attestation(inputHash_, msg.sender, uint64(block.number), id, attesterEpoch[msg.sender]);
        emit InputAttested(modelId, subject, msg.sender, inputHash_, id);
    }

    /// @notice Deletes `subject`'s attestation for `modelId`; by its attester or the owner. An output
    /// already stored from it is no longer returned (`AttestationWithdrawn`).
    function revokeAttestation(bytes32 modelId, address subject) external {
        Attestation storage a = attestations[modelId][subject];
        if (a.blockNumber == 0) revert NoAttestation(modelId, subject);
        if (msg.sender != a.attester && msg.sender != owner) revert NotAttester(msg.sender);
        delete attestations[modelId][subject];
        emit AttestationRevoked(modelId, subject);
    }

    /// @notice The hash an attester signs for a proof's leading input words:
    /// `keccak256(abi.encodePacked(inputWords))`. For a hashed-input model (one input word) it is the
    /// hash of the Poseidon input commitment.
    function inputHash(uint256[] calldata inputWords) external pure returns (bytes32) {
        return keccak256(abi.encodePacked(inputWords));
    }

    /// @notice Verifies `proof` for `instances` (inputs, outputs, pinned parameter commitment if any,
    /// subject) and stores the decoded outputs as the subject's latest inference for `modelId`. The
    /// subject named by the proof is credited; others may submit for it when the model binds or attests
    /// inputs, else only the subject may. The model must be active.
    function submitInference(bytes32 modelId, bytes calldata proof, uint256[] calldata instances)
        external
        returns (int256[] memory outputs)
    {
        Model memory model = models[modelId];
        if (model.verifier == address(0)) revert UnknownModel(modelId);
        if (!activeModels[modelId]) revert ModelNotActive(modelId);
        if (proof.length != model.proofLength) revert WrongProofLength(model.proofLength, proof.length);
        address subject = _checkInstances(modelId, model, instances);
        (uint64 attestationId, address attester, uint64 asOf) =
            _checkAttestation(modelId, model.numInputs, subject, instances);

        bytes32 statement = keccak256(abi.encode(modelId, instances, attestationId));
        if (usedStatements[statement]) revert StatementAlreadyUsed(statement);
        usedStatements[statement] = true;

        _verify(model, proof, instances);

        outputs = new int256[](model.numOutputs);
        for (uint256 i = 0; i < model.numOutputs; ++i) {
            outputs[i] = decodeSigned(instances[model.numInputs + i]);
        }
        _store(_latest[modelId][subject], outputs, asOf, attestationId, attester);
        emit InferenceVerified(modelId, subject, msg.sender, statement, outputs);
    }

    /// @notice The latest verified outputs of `subject` for `modelId`, their scale (value = output / 2^scale)
    /// and the block they are vouched for as of (the attestation's for an attested model, else the
    /// submission's). For an attested model it reverts once the attestation the outputs were proven on is
    /// no longer vouched for: its attester was revoked (`AttesterRevoked`), or the subject's attestation
    /// was revoked (`AttestationWithdrawn`) or replaced (`AttestationSuperseded`).
    function latestInference(bytes32 modelId, address subject)
        external
        view
        returns (int256[] memory outputs, uint8 scale, uint64 blockNumber)
    {
        Inference storage inference = _vouchedInference(modelId, subject);
        return (_outputs(inference), models[modelId].scale, inference.blockNumber);
    }

    /// @notice The latest verified outputs of `subject` for `modelId` as decimal fixed point: each value is
    /// `output × 10^decimals / 2^scale`, rounded toward zero (e.g. decimals = 18 for a wad), and the block.
    /// Reverts as `latestInference` does for an output no longer vouched for.
    function latestInferenceDecimals(bytes32 modelId, address subject, uint8 decimals)
        external
        view
        returns (int256[] memory values, uint64 blockNumber)
    {
        if (decimals > 38) revert InvalidDecimals(decimals);
        Inference storage inference = _vouchedInference(modelId, subject);
        uint8 scale = models[modelId].scale;
        // |output| < 2^254 / 2 and 10^38 < 2^127: the product could overflow int256 only for
        // outputs above 2^128, which no fixed-point model output reaches; checked arithmetic
        // reverts rather than wraps if one ever does. scale < 128 (checked at registration).
        int256 unit = int256(10 ** uint256(decimals));
        values = _outputs(inference);
        for (uint256 i = 0; i < values.length; ++i) {
            // 2^scale, scale < 128: the shift is meant this way round
            // forge-lint: disable-next-line(incorrect-shift)
            values[i] = (values[i] * unit) / int256(1 << scale);
        }
        return (values, inference.blockNumber);
    }

    /// @notice The attestation `subject`'s latest inference for `modelId` was proven on: its id and
    /// attester (both zero for a model that does not attest inputs). Unlike `latestInference` it does not
    /// check that the attestation is still vouched for, so it also explains a refusal.
    function latestInferenceAttestation(bytes32 modelId, address subject)
        external
        view
        returns (uint64 attestationId, address attester)
    {
        Inference storage inference = _latest[modelId][subject];
        if (inference.blockNumber == 0) revert NoInference(modelId, subject);
        return (inference.attestationId, inference.attester);
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

    function _register(
        bytes32 modelId,
        address verifier,
        address key,
        uint32 numInputs,
        uint32 numOutputs,
        uint8 scale,
        uint32 proofLength
    ) internal onlyOwner {
        if (models[modelId].verifier != address(0)) revert ModelAlreadyRegistered(modelId);
        if (verifier.code.length == 0 || numOutputs == 0 || proofLength == 0) revert InvalidModel();
        if (scale >= 128) revert InvalidScale(scale);
        models[modelId] = Model(verifier, key, numInputs, numOutputs, scale, proofLength);
        emit ModelRegistered(modelId, verifier, numInputs, numOutputs, scale, proofLength);
    }

    /// @dev Checks the instance layout, the pinned parameter commitment and input binding; returns the
    /// subject (the last instance).
    function _checkInstances(bytes32 modelId, Model memory model, uint256[] calldata instances)
        internal
        view
        returns (address subject)
    {
        uint256 paramCommitment = paramCommitments[modelId];
        uint256 expected = uint256(model.numInputs) + model.numOutputs + (paramCommitment == 0 ? 0 : 1) + 1;
        if (instances.length != expected) revert WrongInstanceCount(expected, instances.length);
        for (uint256 i = 0; i < expected; ++i) {
            if (instances[i] >= FIELD_MODULUS) revert InstanceNotInField(i);
        }
        if (paramCommitment != 0 && instances[expected - 2] != paramCommitment) {
            revert ParamCommitmentMismatch(paramCommitment, instances[expected - 2]);
        }
        uint256 word = instances[expected - 1];
        if (word >> 160 != 0) revert SubjectNotAnAddress(word);
        if (word == 0) revert NoSubject();
        // casting to 'uint160' is safe: word < 2^160 was checked above
        // forge-lint: disable-next-line(unsafe-typecast)
        subject = address(uint160(word));
        if (bindsInputs[modelId]) {
            uint256 committed = inputCommitments[modelId][subject];
            if (committed == 0 || instances[0] != committed) {
                revert InputNotCommitted(committed, instances[0]);
            }
        } else if (attestationMaxAge[modelId] == 0 && subject != msg.sender) {
            // Nobody but the prover fixed these inputs: the subject vouches for them by sending.
            revert SubjectNotSender(subject, msg.sender);
        }
    }

    /// @dev For an attested model, checks the subject's attestation against the proof's input words and
    /// returns its id, attester and block; otherwise returns (0, 0, this block).
    function _checkAttestation(
        bytes32 modelId,
        uint32 numInputs,
        address subject,
        uint256[] calldata instances
    ) internal view returns (uint64 attestationId, address attester, uint64 asOf) {
        uint64 maxAge = attestationMaxAge[modelId];
        if (maxAge == 0) return (0, address(0), uint64(block.number));
        Attestation memory a = attestations[modelId][subject];
        if (a.blockNumber == 0) revert NoAttestation(modelId, subject);
        if (!_trusted(a.attester, a.epoch)) revert AttesterRevoked(a.attester);
        if (block.number > uint256(a.blockNumber) + maxAge) revert AttestationStale(a.blockNumber, maxAge);
        bytes32 found;
        assembly {
            // keccak256(abi.encodePacked(instances[:numInputs])), in scratch memory past the free pointer.
            let ptr := mload(0x40)
            let len := shl(5, numInputs)
            calldatacopy(ptr, instances.offset, len)
            found := keccak256(ptr, len)
        }
        if (found != a.inputHash) revert InputNotAttested(a.inputHash, found);
        return (a.id, a.attester, a.blockNumber);
    }

    /// @dev Whether `attester` holds the role and has not been revoked since `epoch`.
    function _trusted(address attester, uint64 epoch) internal view returns (bool) {
        return attesters[attester] && epoch == attesterEpoch[attester];
    }

    /// @dev `subject`'s latest inference for `modelId`, provided there is one and, for an attested model,
    /// the attestation it was proven on is still vouched for: still the subject's current attestation, by
    /// an attester still trusted in the same epoch.
    function _vouchedInference(bytes32 modelId, address subject)
        internal
        view
        returns (Inference storage inference)
    {
        inference = _latest[modelId][subject];
        if (inference.blockNumber == 0) revert NoInference(modelId, subject);
        uint64 stored = inference.attestationId;
        if (stored == 0) return inference;
        address attester = inference.attester;
        if (!attesters[attester]) revert AttesterRevoked(attester);
        Attestation storage a = attestations[modelId][subject];
        uint64 current = a.id;
        if (current == 0) revert AttestationWithdrawn(modelId, subject);
        if (current != stored) revert AttestationSuperseded(stored, current);
        // Ids are unique: this is the attestation the outputs were proven on, by `attester`.
        if (a.epoch != attesterEpoch[attester]) revert AttesterRevoked(attester);
    }

    /// @dev Calls the model's verifier, checking at call time that it (and its key) still has code.
    function _verify(Model memory model, bytes calldata proof, uint256[] calldata instances) internal view {
        if (model.verifier.code.length == 0) revert VerifierMissing(model.verifier);
        if (model.key == address(0)) {
            (bool ok, bytes memory result) = model.verifier.staticcall(abi.encodePacked(instances, proof));
            if (!ok || result.length != 32 || abi.decode(result, (uint256)) != 1) revert ProofRejected();
        } else {
            if (model.key.code.length == 0) revert VerifierMissing(model.key);
            (bool ok, bytes memory result) = model.verifier
                .staticcall(abi.encodeCall(IReusableHalo2Verifier.verifyProof, (model.key, proof, instances)));
            // The reusable verifier says why it rejects: pass its custom error on.
            if (!ok && result.length > 0) {
                assembly {
                    revert(add(result, 0x20), mload(result))
                }
            }
            // Decoded as a word, not a bool, so that a malformed answer is a rejection, not a revert.
            if (!ok || result.length != 32 || abi.decode(result, (uint256)) != 1) revert ProofRejected();
        }
    }

    function _store(
        Inference storage inference,
        int256[] memory outputs,
        uint64 asOf,
        uint64 attestationId,
        address attester
    ) internal {
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
        inference.blockNumber = asOf;
        // Same slot as `blockNumber`. An attested model's inferences all have an attestation (id >= 1);
        // a plain model's never, so its attester slot is never written.
        inference.attestationId = attestationId;
        if (attestationId != 0) inference.attester = attester;
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
}
