//! Writing a key or SRS file whole or not at all.
//!
//! halo2 unwraps some of its own writes (a proving key's polynomials), so a full disk used to
//! panic half-way through `setup` and leave a truncated `pk.bin` behind; and a `BufWriter`
//! dropped unflushed swallows the error of its last write. [`write_whole`] shields the
//! serializer from I/O errors, reports the first one as [`Error::Io`], and renames the file
//! into place only once every byte is on disk, so a reader never sees a partial key.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Error, Result};

/// What the name of a file still being written contains (`pk.bin.partial-<pid>-<n>`): such a
/// file is never a finished one, and copies (the service's uploads) skip it.
pub const PARTIAL_MARKER: &str = ".partial-";

/// Whether `name` is that of a file [`write_whole`] is (or was, when killed) still writing.
pub fn is_partial(name: &str) -> bool {
    name.contains(PARTIAL_MARKER)
}

/// Writes `path` through `serialize`: into a partial file of its own beside it (so two
/// writers of one path never share one), synced and renamed over `path` once complete. On any
/// I/O error (reported with `path`), the partial file is removed and an earlier `path`, if
/// there was one, is left as it was.
pub fn write_whole(
    path: &Path,
    serialize: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<()> {
    let partial = partial_path(path);
    // No live writer shares the name (pid and call), so a file already there is one a killed
    // process left (containers reuse pids): truncating it is safe.
    let written = File::create(&partial)
        .and_then(|file| write_through(BufWriter::new(file), serialize))
        .and_then(|buffered| buffered.into_inner().map_err(|e| e.into_error()))
        .and_then(|file: File| file.sync_all())
        .and_then(|()| std::fs::rename(&partial, path));
    written.map_err(|e| {
        let _ = std::fs::remove_file(&partial);
        Error::io(path, e)
    })
}

/// Removes `path` if it exists: a file that would be stale beside the ones about to be written.
pub fn remove_stale(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(Error::io(path, e)),
        _ => Ok(()),
    }
}

/// `<path>.partial-<pid>-<n>`, beside `path`: unique per process and call.
fn partial_path(path: &Path) -> PathBuf {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let call = CALLS.fetch_add(1, Ordering::Relaxed);
    let mut name = OsString::from(path.as_os_str());
    name.push(format!("{PARTIAL_MARKER}{}-{call}", std::process::id()));
    PathBuf::from(name)
}

/// Runs `serialize` against `out`, which never fails towards it; returns `out` flushed, or the
/// first error it raised.
fn write_through<W: Write>(
    out: W,
    serialize: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<W> {
    let mut latch = ErrorLatch {
        inner: out,
        error: None,
    };
    serialize(&mut latch)?;
    let ErrorLatch { mut inner, error } = latch;
    match error {
        Some(e) => Err(e),
        None => inner.flush().map(|()| inner),
    }
}

/// A writer that keeps its inner writer's first error and reports success to the caller,
/// discarding everything after it; [`write_through`] reads the kept error.
struct ErrorLatch<W> {
    inner: W,
    error: Option<io::Error>,
}

impl<W: Write> Write for ErrorLatch<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.error.is_none() {
            if let Err(e) = self.inner.write_all(buf) {
                self.error = Some(e);
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.error.is_none() {
            if let Err(e) = self.inner.flush() {
                self.error = Some(e);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A disk that fills after `room` bytes.
    #[derive(Debug)]
    struct FillsAfter {
        room: usize,
    }

    impl Write for FillsAfter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::Error::from(io::ErrorKind::StorageFull));
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Writes like halo2's polynomial serializer: unwrapping every write.
    fn unwrapping_serializer(w: &mut dyn Write) -> io::Result<()> {
        for chunk in 0..100u8 {
            w.write_all(&[chunk; 32]).unwrap();
        }
        Ok(())
    }

    #[test]
    fn a_full_disk_is_an_error_for_the_caller_and_never_a_panic_in_the_serializer() {
        let err = write_through(FillsAfter { room: 1000 }, unwrapping_serializer).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::StorageFull);
        write_through(FillsAfter { room: 3200 }, unwrapping_serializer)
            .expect("exactly enough room is enough");
    }

    fn partial_files(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| is_partial(name))
            .collect()
    }

    #[test]
    fn a_failed_write_leaves_the_earlier_file_and_no_partial_one() {
        let dir = std::env::temp_dir().join(format!("zkinfer-whole-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("pk.bin");
        write_whole(&path, |w| w.write_all(b"old key")).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"old key");

        let err = write_whole(&path, |w| {
            w.write_all(b"half a new")?;
            Err(io::Error::from(io::ErrorKind::StorageFull))
        })
        .unwrap_err();
        assert!(matches!(&err, Error::Io { path: p, source }
            if p == &path && source.kind() == io::ErrorKind::StorageFull));
        assert_eq!(std::fs::read(&path).unwrap(), b"old key");
        assert_eq!(partial_files(&dir), Vec::<String>::new());

        write_whole(&path, |w| w.write_all(b"new key")).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new key");
        assert_eq!(partial_files(&dir), Vec::<String>::new());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn two_writers_of_one_path_never_share_a_partial_file() {
        let path = Path::new("/keys/pk.bin");
        let (a, b) = (partial_path(path), partial_path(path));
        assert_ne!(a, b);
        for p in [a, b] {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            assert!(name.starts_with("pk.bin.partial-") && is_partial(&name));
        }
        assert!(!is_partial("pk.bin"));
    }
}
