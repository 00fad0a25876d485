//! Durable resume points: where each stream's consumer goes on after a restart.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::StartSelector;

/// Where consumers keep each stream's resume point.
///
/// A consumer saves a stream's point after each fragment it delivered whole, once the caller
/// came back for the next item (so the fragment was processed), and loads it before its first
/// connection. Delivery across a crash is therefore **at least once**: what is repeated after
/// a restart is at most the fragment in flight when the process died (its frames handed out,
/// its resume point not yet saved).
pub trait CheckpointStore: Send + Sync + fmt::Debug {
    /// The saved resume point of `stream`, if any.
    ///
    /// # Errors
    /// The store could not be read.
    fn load(&self, stream: &str) -> io::Result<Option<StartSelector>>;

    /// Saves `stream`'s resume point; durable when this returns.
    ///
    /// # Errors
    /// The store could not be written; the previous point is still in place.
    fn save(&self, stream: &str, resume: &StartSelector) -> io::Result<()>;
}

/// A [`CheckpointStore`] in one text file for any number of streams: a line per stream,
/// `NAME<TAB>SELECTOR` (the selector as `get_media --start` writes it). Each save writes the
/// whole file to `FILE.tmp`, syncs it, renames it over `FILE` and syncs the directory, so the
/// file is always either the old or the new version, whatever the moment of a crash.
/// One process at a time may use a file.
///
/// ```
/// use kinesis_video_parser::aws::{CheckpointStore, FileCheckpoints, StartSelector};
/// let path = std::env::temp_dir().join(format!("kvp-doc-{}.ckpt", std::process::id()));
/// let store = FileCheckpoints::open(&path).unwrap();
/// store.save("cam-1", &StartSelector::ContinuationToken("9134385233318143".into())).unwrap();
/// let again = FileCheckpoints::open(&path).unwrap();
/// assert_eq!(again.load("cam-1").unwrap(), Some(StartSelector::ContinuationToken("9134385233318143".into())));
/// assert_eq!(again.load("cam-2").unwrap(), None);
/// # std::fs::remove_file(path).unwrap();
/// ```
#[derive(Debug)]
pub struct FileCheckpoints {
    path: PathBuf,
    points: Mutex<BTreeMap<String, StartSelector>>,
}

const FIRST_LINE: &str = "# kinesis-video-parser checkpoints v1";

impl FileCheckpoints {
    /// Opens `path`, reading the points it holds; a missing file is an empty store.
    ///
    /// # Errors
    /// The file could not be read, or a line of it is not `NAME<TAB>SELECTOR`
    /// (`InvalidData`, naming the line).
    pub fn open(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref().to_owned();
        let mut points = BTreeMap::new();
        match fs::read_to_string(&path) {
            Ok(text) => {
                for (i, line) in text.lines().enumerate() {
                    if line.starts_with('#') || line.is_empty() {
                        continue;
                    }
                    let bad = |why: String| {
                        io::Error::new(io::ErrorKind::InvalidData, format!("{}:{}: {why}", path.display(), i + 1))
                    };
                    let (name, selector) = line.split_once('\t').ok_or_else(|| bad("no tab".into()))?;
                    let selector = selector.parse().map_err(|e| bad(format!("{e}")))?;
                    points.insert(name.to_owned(), selector);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        Ok(FileCheckpoints { path, points: Mutex::new(points) })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write(&self, points: &BTreeMap<String, StartSelector>) -> io::Result<()> {
        let mut text = format!("{FIRST_LINE}\n");
        for (name, selector) in points {
            text += &format!("{name}\t{selector}\n");
        }
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let mut file = fs::File::create(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, &self.path)?;
        // The rename itself is durable once the directory is.
        let dir = self.path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        fs::File::open(dir)?.sync_all()
    }
}

impl CheckpointStore for FileCheckpoints {
    fn load(&self, stream: &str) -> io::Result<Option<StartSelector>> {
        Ok(self.points.lock().unwrap_or_else(|p| p.into_inner()).get(stream).cloned())
    }

    fn save(&self, stream: &str, resume: &StartSelector) -> io::Result<()> {
        if stream.is_empty() || stream.contains(['\t', '\n', '\r']) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("stream name {stream:?}")));
        }
        let mut points = self.points.lock().unwrap_or_else(|p| p.into_inner());
        let old = points.insert(stream.to_owned(), resume.clone());
        let written = self.write(&points);
        if written.is_err() {
            // The file still holds the old point: so does memory.
            match old {
                Some(old) => points.insert(stream.to_owned(), old),
                None => points.remove(stream),
            };
        }
        written
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_selector_survives_the_file_and_a_bad_line_is_named() {
        let dir = std::env::temp_dir().join(format!("kvp-ckpt-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("points");
        let store = FileCheckpoints::open(&path).unwrap();
        let all = [
            StartSelector::Now,
            StartSelector::Earliest,
            StartSelector::AfterFragment("91343852333181432392682062607743920146264440512".parse().unwrap()),
            StartSelector::ContinuationToken("abc-123".into()),
            StartSelector::ProducerTimestamp(1_700_000_000_123),
            StartSelector::ServerTimestamp(-5),
        ];
        for (i, s) in all.iter().enumerate() {
            store.save(&format!("arn:aws:kinesisvideo:us-east-1:1:stream/s{i}/1"), s).unwrap();
        }
        let again = FileCheckpoints::open(&path).unwrap();
        for (i, s) in all.iter().enumerate() {
            assert_eq!(
                again.load(&format!("arn:aws:kinesisvideo:us-east-1:1:stream/s{i}/1")).unwrap().as_ref(),
                Some(s)
            );
        }
        assert!(!dir.join("points.tmp").exists());
        assert_eq!(store.save("a\tb", &StartSelector::Now).unwrap_err().kind(), io::ErrorKind::InvalidInput);
        fs::write(&path, "cam\tfragment:12x\n").unwrap();
        let e = FileCheckpoints::open(&path).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert!(e.to_string().contains("points:1"), "{e}");
        fs::remove_dir_all(dir).unwrap();
    }
}
