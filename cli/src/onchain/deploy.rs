//! `deploy`: the verifier (model-specific, or the shared reusable one plus the model's key), then
//! unless `--verifier-only` the oracle with the model registered under its policy (parameter
//! commitment, input binding, attesters) and activated last, and the lending pool.

use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use anyhow::{bail, Context, Result};
use zkinfer_codegen::{reusable_for_build, verifier_for_build, GeneratedVerifier, Solc};
use zkinfer_prover::artifacts::{Artifact, BuildDir, Settings};
use zkinfer_prover::commitment::Visibility;
use zkinfer_prover::encoding::ModelId;
use zkinfer_prover::privacy::Privacy;

use super::deployment::{Deployment, DeploymentGas, DEPLOYMENT_VERSION};
use super::{bytes32, word, LOCAL_CHAIN_ID};
use crate::chain::{connect, parse_address, Chain};
use crate::cli::*;
use crate::commands::Outcome;
use crate::contracts::{compile_consumers, RiskAdjustedLending, VerifiedInferenceOracle};

pub(crate) async fn deploy(a: &DeployArgs) -> Result<Outcome> {
    let segmented = crate::segmented::on_chain(&a.build_dir, "deploy")?;
    if segmented
        && (a.verifier.choice == Some(VerifierChoice::Reusable) || a.reusable_verifier.is_some())
    {
        bail!(
            "{}: a segmented build's proof carries a KZG accumulator that only its generated verifier checks; deploy it with --verifier snark-verifier, or leave --verifier out",
            a.build_dir.display()
        );
    }
    if a.verifier.kind() == VerifierChoice::SnarkVerifier && a.reusable_verifier.is_some() {
        bail!(
            "--reusable-verifier names a shared ReusableHalo2Verifier; it does not go with --verifier snark-verifier"
        );
    }
    let dir = BuildDir::new(&a.build_dir);
    // Everything that can be refused is refused before the first transaction.
    let build = if segmented {
        Build::segmented(&a.build_dir)?
    } else {
        Build::single(&dir)?
    };
    let attesters = attesters_for(a, &build.privacy)?;
    let registration = &build.registration;
    let chain = connect(&a.chain).await?;
    let solc = Solc::new(&a.solc.solc);
    let dev_srs = check_srs(a, build.dev_srs, &chain)?;
    let consumers = compile_consumers(&solc)?;

    let verifier = if segmented {
        let generated = crate::segmented::aggregation_verifier(&a.build_dir, &solc)?;
        deploy_generated(generated, &chain).await?
    } else {
        deploy_verifier(a, &dir, &solc, &chain).await?
    };
    let mut deployment = Deployment {
        version: DEPLOYMENT_VERSION,
        chain_id: chain.chain_id,
        model_id: build.model_id,
        verifier: verifier.address,
        verifier_runtime_bytes: verifier.runtime_bytes,
        proof_bytes: verifier.proof_len,
        dev_srs,
        key: verifier.key.map(|k| k.address),
        key_bytes: verifier.key.map(|k| k.bytes),
        oracle: None,
        lending: None,
        attesters: Vec::new(),
        attestation_max_age: None,
        gas: DeploymentGas {
            verifier: verifier.gas,
            key: verifier.key.map(|k| k.gas),
            ..DeploymentGas::default()
        },
    };
    let mut text = format!(
        "deployed on chain {}{}\n  verifier {} ({} B runtime, {} gas)",
        chain.chain_id,
        if a.verifier_only {
            " (verifier only)"
        } else {
            ""
        },
        verifier.address,
        verifier.runtime_bytes,
        verifier.gas
    );
    if let Some(k) = verifier.key {
        text.push_str(&format!(
            "\n  key      {} ({} B, {} gas)",
            k.address, k.bytes, k.gas
        ));
    }
    if !a.verifier_only {
        let (oracle, oracle_gas) = chain
            .deploy(consumers.oracle.bytecode.clone(), U256::ZERO, "the oracle")
            .await?;
        let register_gas = register(a, &chain, oracle, &verifier, registration, &attesters).await?;
        let mut code = consumers.lending.bytecode.clone();
        code.extend(alloy::sol_types::SolConstructor::abi_encode(
            &RiskAdjustedLending::constructorCall {
                oracle_: oracle,
                modelId_: registration.model_id,
                maxScoreAge_: a.max_score_age,
            },
        ));
        let fund = U256::from(a.fund_eth) * U256::from(10u64).pow(U256::from(18));
        let (lending, lending_receipt) = chain.deploy(code, fund, "the lending pool").await?;
        deployment.oracle = Some(oracle);
        deployment.lending = Some(lending);
        deployment.attestation_max_age = (!attesters.is_empty()).then_some(a.attestation_max_age);
        deployment.attesters = attesters;
        deployment.gas.oracle = Some(oracle_gas.gas_used);
        deployment.gas.register = Some(register_gas);
        deployment.gas.lending = Some(lending_receipt.gas_used);
        text.push_str(&format!(
            "\n  oracle   {oracle} (model {} registered)\n  lending  {lending} (funded with {} ETH)",
            build.model_id, a.fund_eth
        ));
        for addr in &deployment.attesters {
            text.push_str(&format!(
                "\n  attester {addr} (attestations valid for {} blocks)",
                a.attestation_max_age
            ));
        }
    }
    deployment.write(&dir)?;
    Ok(Outcome::ok(serde_json::to_value(&deployment)?, text))
}

/// Whether the keys come from the development SRS, refused off a local chain unless the user
/// insists: anyone can forge proofs for them.
fn check_srs(a: &DeployArgs, dev_srs: bool, chain: &Chain) -> Result<bool> {
    if dev_srs && chain.chain_id != LOCAL_CHAIN_ID && !a.allow_dev_srs {
        bail!(
            "the keys in {} were made with --dev-srs: anyone can forge proofs for them. Refusing to deploy on chain {} (only a local chain, id {LOCAL_CHAIN_ID}, takes them without --allow-dev-srs); run `zkinfer setup --srs <ceremony file>`",
            a.build_dir.display(),
            chain.chain_id
        );
    }
    if dev_srs {
        tracing::warn!(
            "deploying INSECURE development-SRS keys on chain {}",
            chain.chain_id
        );
    }
    Ok(dev_srs)
}

/// What the oracle registers for the model, checked before anything is sent.
struct Registration {
    model_id: B256,
    scale: u8,
    num_inputs: u32,
    num_outputs: u32,
    param_commitment: Option<U256>,
    bind_inputs: bool,
}

impl Registration {
    fn new(
        model_id: &ModelId,
        scale: u32,
        (num_inputs, num_outputs): (usize, usize),
        param_commitment: Option<U256>,
        privacy: &Privacy,
    ) -> Result<Self> {
        let scale = u8::try_from(scale)
            .ok()
            .filter(|s| *s < 128)
            .with_context(|| {
                format!("scale 2^{scale} is too large for the oracle (below 2^128)")
            })?;
        Ok(Registration {
            model_id: bytes32(model_id),
            scale,
            num_inputs: u32::try_from(num_inputs).context("input instance count")?,
            num_outputs: u32::try_from(num_outputs).context("output instance count")?,
            param_commitment,
            bind_inputs: privacy.inputs == Visibility::Hashed,
        })
    }
}

/// What `deploy` needs of a build, a single circuit or a segmented one (aggregated).
struct Build {
    model_id: ModelId,
    privacy: Privacy,
    registration: Registration,
    dev_srs: bool,
}

impl Build {
    fn single(dir: &BuildDir) -> Result<Self> {
        dir.require_keys()?;
        let settings = Settings::read(&dir.settings())?;
        let registration = Registration::new(
            &settings.model_id,
            settings.quantization.scale.0,
            (settings.num_public_inputs(), settings.num_public_outputs()),
            settings.param_commitment.map(|c| word(&c.0)),
            &settings.privacy,
        )?;
        Ok(Build {
            model_id: settings.model_id,
            privacy: settings.privacy,
            registration,
            dev_srs: zkinfer_codegen::dev_srs_keys(dir)?,
        })
    }

    /// A segmented build: its statement is the first segment's inputs and the last segment's
    /// outputs (segmented builds have no parameter commitment).
    fn segmented(root: &std::path::Path) -> Result<Self> {
        let dir = zkinfer_segments::SegmentedDir::new(root);
        // The plan and the keys' info only: the key itself is read where the verifier is made.
        let (settings, info) = zkinfer_segments::aggregation_info(&dir)?;
        let registration = Registration::new(
            &settings.model_id,
            settings.quantization.scale.0,
            zkinfer_segments::statement_shape(&dir, &settings, &info)?,
            None,
            &settings.privacy,
        )?;
        Ok(Build {
            model_id: settings.model_id,
            privacy: settings.privacy,
            registration,
            dev_srs: info.srs == zkinfer_prover::srs::SrsSource::DevInsecure,
        })
    }
}

/// A deployed key contract.
#[derive(Clone, Copy)]
struct DeployedKey {
    address: Address,
    gas: u64,
    bytes: usize,
}

/// The deployed (or reused) verifier.
struct DeployedVerifier {
    address: Address,
    gas: u64,
    runtime_bytes: usize,
    key: Option<DeployedKey>,
    proof_len: usize,
}

/// Deploys the model-specific verifier, or the reusable one (or reuses `--reusable-verifier`)
/// and the model's key contract.
async fn deploy_verifier(
    a: &DeployArgs,
    dir: &BuildDir,
    solc: &Solc,
    chain: &Chain,
) -> Result<DeployedVerifier> {
    if a.verifier.kind() == VerifierChoice::SnarkVerifier {
        return deploy_generated(verifier_for_build(dir, solc)?, chain).await;
    }
    let reusable = reusable_for_build(dir, solc)?;
    let (address, gas) = match &a.reusable_verifier {
        Some(existing) => {
            let addr = parse_address(existing, "reusable verifier")?;
            if chain.provider.get_code_at(addr).await?.is_empty() {
                bail!("no contract at the reusable verifier address {addr}");
            }
            (addr, 0)
        }
        None => {
            let code = reusable.verifier.compiled.bytecode.clone();
            let (addr, receipt) = chain
                .deploy(code, U256::ZERO, "the reusable verifier")
                .await?;
            (addr, receipt.gas_used)
        }
    };
    let code = reusable.key.compiled.bytecode.clone();
    let (key, receipt) = chain.deploy(code, U256::ZERO, "the verifying key").await?;
    Ok(DeployedVerifier {
        address,
        gas,
        runtime_bytes: reusable.verifier.compiled.deployed_bytecode.len(),
        key: Some(DeployedKey {
            address: key,
            gas: receipt.gas_used,
            bytes: reusable.key_code.len(),
        }),
        proof_len: reusable.plan.proof_len(),
    })
}

/// Deploys a generated (model-specific) verifier.
async fn deploy_generated(verifier: GeneratedVerifier, chain: &Chain) -> Result<DeployedVerifier> {
    let code = verifier.compiled.bytecode.clone();
    let (address, receipt) = chain.deploy(code, U256::ZERO, "the verifier").await?;
    Ok(DeployedVerifier {
        address,
        gas: receipt.gas_used,
        runtime_bytes: verifier.compiled.deployed_bytecode.len(),
        key: None,
        proof_len: verifier.proof_len.context("the verifier's proof length")?,
    })
}

/// Registers the model with the oracle, sets its policy (parameter commitment, input binding,
/// attesters) and activates it last, so that no output can exist under a weaker policy.
/// Returns the registration's gas.
async fn register(
    a: &DeployArgs,
    chain: &Chain,
    oracle: Address,
    verifier: &DeployedVerifier,
    r: &Registration,
    attesters: &[Address],
) -> Result<u64> {
    let oracle = VerifiedInferenceOracle::new(oracle, &chain.provider);
    let proof_len = u32::try_from(verifier.proof_len).context("proof length")?;
    let (id, v) = (r.model_id, verifier.address);
    let request = match verifier.key {
        Some(key) => oracle
            .registerModelWithKey(
                id,
                v,
                key.address,
                r.num_inputs,
                r.num_outputs,
                r.scale,
                proof_len,
            )
            .into_transaction_request(),
        None => oracle
            .registerModel(id, v, r.num_inputs, r.num_outputs, r.scale, proof_len)
            .into_transaction_request(),
    };
    let registered = chain.send(request, "registering the model").await?;
    // A model with hashed parameters is trusted as the committed one only.
    if let Some(word) = r.param_commitment {
        let pin = oracle.requireParamCommitment(id, word);
        chain
            .send(
                pin.into_transaction_request(),
                "pinning the parameter commitment",
            )
            .await?;
    }
    // A hashed-input model accepts only proofs about the subject's committed data.
    if r.bind_inputs {
        let bind = oracle.requireInputCommitment(id).into_transaction_request();
        chain.send(bind, "binding inputs to commitments").await?;
    }
    // Attested inputs: only data a granted provider vouched for, no older than the limit.
    for addr in attesters {
        let grant = oracle.grantAttester(*addr).into_transaction_request();
        chain
            .send(grant, &format!("granting attester {addr}"))
            .await?;
    }
    if !attesters.is_empty() {
        let require = oracle
            .requireAttestation(id, a.attestation_max_age)
            .into_transaction_request();
        chain.send(require, "requiring attested inputs").await?;
    }
    // Live only now, with its policy fixed.
    let activate = oracle.activateModel(id).into_transaction_request();
    chain.send(activate, "activating the model").await?;
    Ok(registered.gas_used)
}

/// The attesters of `deploy --attester`, checked against the build before anything is sent: an
/// attestation vouches for the proof's public input words, so it means something only when they
/// fix the outputs.
fn attesters_for(a: &DeployArgs, privacy: &Privacy) -> Result<Vec<Address>> {
    let attesters = a
        .attester
        .iter()
        .map(|s| parse_address(s, "attester"))
        .collect::<Result<Vec<_>>>()?;
    if attesters.is_empty() {
        return Ok(attesters);
    }
    if a.attestation_max_age == 0 {
        bail!("--attestation-max-age must be at least 1 block");
    }
    match (privacy.inputs, privacy.outputs) {
        (Visibility::Private, _) => bail!(
            "--attester: this build's inputs are private, so a proof carries nothing an attester could vouch for (compile with --input-visibility public or hashed)"
        ),
        (Visibility::Public, Visibility::Hashed) => bail!(
            "--attester: with public inputs and hashed outputs the output commitment's salt is not fixed by the attested inputs (anyone could re-prove them with another salt); hash the inputs too (--input-visibility hashed)"
        ),
        _ => Ok(attesters),
    }
}
