//! `setup`: the SRS and the keys.

use std::path::PathBuf;

use crate::artifacts::{Artifact, BuildDir, KeysInfo, ARTIFACT_VERSION};
use crate::srs::{dev_srs, write_srs, Srs, SrsSource};
use crate::whole_file::remove_stale;
use crate::{keys, Result};

use super::{load, phases, PhaseReport};

/// Which SRS `setup` uses.
#[derive(Clone, Debug)]
pub enum SrsChoice {
    /// The insecure development SRS.
    Dev,
    /// A snarkjs `.ptau` file (checked) or a halo2 params file.
    File(PathBuf),
}

impl SrsChoice {
    /// What keys made with this choice record as their SRS.
    pub fn source(&self) -> SrsSource {
        match self {
            SrsChoice::Dev => SrsSource::DevInsecure,
            SrsChoice::File(path) if crate::ptau::is_ptau(path) => SrsSource::PowersOfTau {
                path: path.display().to_string(),
            },
            SrsChoice::File(path) => SrsSource::File {
                path: path.display().to_string(),
            },
        }
    }

    /// The SRS for `2^k` rows and where it came from. The development SRS read from a file (a
    /// copy of the cache) is recorded as what it is: no safer.
    pub fn load(&self, k: usize) -> Result<(Srs, SrsSource)> {
        Ok(match self {
            SrsChoice::Dev => (dev_srs(k), SrsSource::DevInsecure),
            SrsChoice::File(path) => match crate::srs::read_any(path, k)? {
                (srs, _) if crate::srs::is_dev_srs(&srs) => {
                    tracing::warn!(
                        path = %path.display(),
                        "this SRS is zkinfer's INSECURE development SRS: its keys are marked as such"
                    );
                    (srs, SrsSource::DevInsecure)
                }
                read => read,
            },
        })
    }
}

/// Steps of [`setup_reporting`].
const SETUP_PHASES: [&str; 4] = [
    "loading the SRS",
    "generating the verifying key",
    "generating the proving key",
    "writing the keys",
];

/// Generates the SRS (or loads it) and the keys; writes `kzg.srs`, `pk.bin`, `vk.bin`, `keys.json`.
pub fn setup(dir: &BuildDir, choice: &SrsChoice) -> Result<KeysInfo> {
    setup_reporting(dir, choice, &mut |_| {})
}

/// [`setup`], reporting each of its steps to `report` as it starts.
pub fn setup_reporting(
    dir: &BuildDir,
    choice: &SrsChoice,
    report: PhaseReport<'_>,
) -> Result<KeysInfo> {
    let mut at = phases(&SETUP_PHASES, report);
    let (settings, model) = load(dir)?;
    let k = settings.circuit.k;
    let wanted = choice.source();
    // Keys for this exact model and SRS are already there: nothing to do.
    if let Ok(info) = KeysInfo::read(&dir.keys_info()) {
        let files = [dir.pk(), dir.vk(), dir.srs()].iter().all(|p| p.exists());
        if files && info.model_id == settings.model_id && info.srs == wanted {
            tracing::info!("keys are up to date for model {}", settings.model_id);
            return Ok(info);
        }
    }
    at("loading the SRS");
    let (srs, source) = choice.load(k)?;
    let generated = keys::keygen_reporting(&srs, &model, &settings.circuit, &mut |key| {
        at(if key == keys::KeyKind::Verifying {
            "generating the verifying key"
        } else {
            "generating the proving key"
        })
    })?;
    at("writing the keys");
    // The old keys are stale from here: their record goes first (so a failed write below never
    // leaves new key files described by it), then the old proving key (the disk may not hold
    // two).
    remove_stale(&dir.keys_info())?;
    remove_stale(&dir.pk())?;
    let vk = generated.pk.get_vk();
    keys::write_pk(&generated.pk, &dir.pk())?;
    keys::write_vk(vk, &dir.vk())?;
    write_srs(&srs, &dir.srs())?;
    let info = KeysInfo {
        version: ARTIFACT_VERSION,
        model_id: settings.model_id,
        srs: source,
        break_points: generated.break_points,
        vk_sha256: keys::vk_sha256(vk),
    };
    info.write(&dir.keys_info())?;
    Ok(info)
}
