//! Writing a key or SRS file whole or not at all.
//!
//! halo2 unwraps some of its own writes (a proving key's polynomials), so a full disk used to
//! panic half-way through `setup` and leave a truncated `pk.bin` behind; and a `BufWriter`
//! dropped unflushed swallows the error of its last write. [`write_whole`] shields the
//! serializer from I/O errors, reports the first one as [`Error::Io`], and renames the file
//! into place only once every byte was written, so a reader never sees a partial key.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Writes `path` through `serialize`: into `<path>.partial` first, renamed over `path` once
/// complete. On any I/O error (reported with `path`), the partial file is removed and an
/// earlier `path`, if there was one, is left as it was.
pub fn write_whole(
    path: &Path,
    serialize: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<()> {
    let partial = partial_path(path);
    let written = File::create(&partial)
        .and_then(|file| write_through(BufWriter::new(file), serialize))
        .and_then(|()| std::fs::rename(&partial, path));
    written.map_err(|e| {
        let _ = std::fs::remove_file(&partial);
        Error::io(path, e)
    })
}

/// `<path>.partial`, beside `path`.
fn partial_path(path: &Path) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(".partial");
    PathBuf::from(name)
}

/// Runs `serialize` against `out`, which never fails towards it; returns the first error
/// `out` raised, or that of the final flush.
fn write_through<W: Write>(
    out: W,
    serialize: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let mut latch = ErrorLatch {
        inner: out,
        error: None,
    };
    serialize(&mut latch)?;
    let ErrorLatch { mut inner, error } = latch;
    match error {
        Some(e) => Err(e),
        None => inner.flush(),
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
        assert!(!partial_path(&path).exists());

        write_whole(&path, |w| w.write_all(b"new key")).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new key");
        assert!(!partial_path(&path).exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
