//! The write-ahead log of one table: a folder of segment files, each a
//! sequence of records. A record is one acknowledged write (one HTTP request,
//! INSERT or COPY): its sequence number, its idempotency key and its rows as
//! an Arrow IPC stream, framed and checksummed:
//!
//! ```text
//! magic u32 "LTW1" | payload length u32 | crc32(payload) u32 | payload
//! payload = seq u64 | rows u64 | key length u32 | key (UTF-8) | Arrow IPC stream
//! ```
//!
//! All integers are little-endian. Segments are named by the sequence number
//! of their first record (`00000000000000000042.wal`). A record is
//! acknowledged only after `fdatasync` of its segment (and, for a new
//! segment, of the folder). A crash can leave a torn record at the end of the
//! last segment; it was never acknowledged, and recovery cuts it off.
//! Anything else that does not check out is corruption, reported, not skipped.
//!
//! Idempotency keys outlive the segments that carried them: before segments
//! are deleted, the keys they carried are appended to `keys.log` (one JSON
//! line per key, synced); the file is rewritten, atomically by rename, with
//! only the remembered keys once it holds twice as many lines.

use std::collections::{HashMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::arrow::record_batch::RecordBatch;

use crate::{Ack, Error, Result};

const MAGIC: &[u8; 4] = b"LTW1";
const HEADER: usize = 12;
/// A new segment is started once the current one is this large, and at
/// every truncation, so committed segments can be deleted whole.
const SEGMENT_BYTES: u64 = 64 * 1024 * 1024;
const KEYS_FILE: &str = "keys.log";

/// One write as the log holds it.
#[derive(Debug, Clone)]
pub struct Record {
    /// Sequence number, increasing by one per write of the table.
    pub seq: u64,
    /// The write's idempotency key.
    pub key: Option<String>,
    /// The rows.
    pub batch: RecordBatch,
}

/// Encodes a batch as an Arrow IPC stream (done by the caller, off the log's thread).
pub fn encode_batch(batch: &RecordBatch) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(batch.get_array_memory_size() + 1024);
    {
        let mut writer = StreamWriter::try_new(&mut out, &batch.schema())
            .map_err(|e| Error::Internal(format!("encoding rows for the log: {e}")))?;
        writer
            .write(batch)
            .map_err(|e| Error::Internal(format!("encoding rows for the log: {e}")))?;
        writer
            .finish()
            .map_err(|e| Error::Internal(format!("encoding rows for the log: {e}")))?;
    }
    Ok(out)
}

fn decode_batch(bytes: &[u8]) -> std::result::Result<RecordBatch, String> {
    let reader = StreamReader::try_new(bytes, None).map_err(|e| e.to_string())?;
    let schema = reader.schema();
    let batches: Vec<RecordBatch> = reader
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| e.to_string())?;
    datafusion::arrow::compute::concat_batches(&schema, &batches).map_err(|e| e.to_string())
}

fn frame(seq: u64, rows: u64, key: Option<&str>, ipc: &[u8]) -> Result<Vec<u8>> {
    let key = key.unwrap_or("").as_bytes();
    if 20 + key.len() + ipc.len() > u32::MAX as usize {
        return Err(Error::TooLarge(format!(
            "a write of {} MiB does not fit one log record (4 GiB at most)",
            ipc.len() / (1024 * 1024)
        )));
    }
    let mut payload = Vec::with_capacity(20 + key.len() + ipc.len());
    payload.extend_from_slice(&seq.to_le_bytes());
    payload.extend_from_slice(&rows.to_le_bytes());
    payload.extend_from_slice(&(key.len() as u32).to_le_bytes());
    payload.extend_from_slice(key);
    payload.extend_from_slice(ipc);
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    Ok(out)
}

fn segment_name(first_seq: u64) -> String {
    format!("{first_seq:020}.wal")
}

fn io(path: &Path, what: &str, e: std::io::Error) -> Error {
    Error::Wal(format!("{}: {what}: {e}", path.display()))
}

/// Makes a file, or a folder's entries (new or renamed files), durable.
pub fn sync_path(path: &Path) -> Result<()> {
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| io(path, "cannot sync", e))
}

/// What recovery found in a log folder.
#[derive(Debug, Default)]
pub struct Recovered {
    /// Every intact record, in sequence order.
    pub records: Vec<Record>,
    /// Idempotency keys remembered from deleted segments (`keys.log`).
    pub keys: Vec<(String, Ack)>,
    /// The segments read, with the last sequence number each holds.
    pub segments: Vec<(PathBuf, u64)>,
    /// Bytes of a torn last record that were cut off.
    pub torn_bytes: u64,
}

/// Reads a table's log folder (creating it when missing).
pub fn recover(dir: &Path) -> Result<Recovered> {
    std::fs::create_dir_all(dir).map_err(|e| io(dir, "cannot create the log folder", e))?;
    let mut out = Recovered::default();
    let keys_path = dir.join(KEYS_FILE);
    if keys_path.exists() {
        let text = std::fs::read_to_string(&keys_path)
            .map_err(|e| io(&keys_path, "cannot read idempotency keys", e))?;
        // A last line cut short by a crash (its segments were not deleted, so
        // its keys are read from them): cut it off, so the next save starts
        // on a line of its own.
        let whole = text.rfind('\n').map_or(0, |i| i + 1);
        if whole < text.len() {
            let file = OpenOptions::new()
                .write(true)
                .open(&keys_path)
                .map_err(|e| io(&keys_path, "cannot open", e))?;
            file.set_len(whole as u64)
                .and_then(|()| file.sync_all())
                .map_err(|e| io(&keys_path, "cannot cut off a torn line", e))?;
        }
        let lines: Vec<&str> = text[..whole].lines().collect();
        for (i, line) in lines.iter().enumerate() {
            match serde_json::from_str::<(String, Ack)>(line) {
                Ok(entry) => out.keys.push(entry),
                Err(e) => {
                    return Err(Error::Wal(format!(
                        "{}:{}: corrupt: {e}",
                        keys_path.display(),
                        i + 1
                    )));
                }
            }
        }
    }
    let mut segments: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| io(dir, "cannot list the log folder", e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "wal"))
        .collect();
    segments.sort();
    let count = segments.len();
    for (i, path) in segments.into_iter().enumerate() {
        let last_segment = i + 1 == count;
        let mut bytes = Vec::new();
        File::open(&path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(|e| io(&path, "cannot read", e))?;
        let mut at = 0usize;
        let mut last_seq = 0u64;
        while at < bytes.len() {
            match parse_record(&bytes[at..]) {
                Ok((record, used)) => {
                    last_seq = record.seq;
                    out.records.push(record);
                    at += used;
                }
                Err(Parse::Torn) if last_segment => {
                    let torn = (bytes.len() - at) as u64;
                    tracing::warn!(segment = %path.display(), offset = at, bytes = torn, "cutting off a torn record at the end of the log (it was never acknowledged)");
                    let file = OpenOptions::new()
                        .write(true)
                        .open(&path)
                        .map_err(|e| io(&path, "cannot open", e))?;
                    file.set_len(at as u64)
                        .and_then(|()| file.sync_all())
                        .map_err(|e| io(&path, "cannot cut off a torn record", e))?;
                    out.torn_bytes = torn;
                    break;
                }
                Err(Parse::Torn) => {
                    return Err(Error::Wal(format!(
                        "{}: offset {at}: a record is cut short, and later segments follow: the log is damaged",
                        path.display()
                    )));
                }
                Err(Parse::Corrupt(why)) => {
                    return Err(Error::Wal(format!(
                        "{}: offset {at}: {why}: the log is damaged",
                        path.display()
                    )));
                }
            }
        }
        if at == 0 || bytes.is_empty() {
            // No record (created just before a crash, or only a torn one).
            std::fs::remove_file(&path)
                .map_err(|e| io(&path, "cannot delete an empty segment", e))?;
            continue;
        }
        out.segments.push((path, last_seq));
    }
    out.records.sort_by_key(|r| r.seq);
    Ok(out)
}

enum Parse {
    /// The bytes end inside the record (a write cut short by a crash).
    Torn,
    /// The bytes are there but wrong.
    Corrupt(String),
}

fn parse_record(bytes: &[u8]) -> std::result::Result<(Record, usize), Parse> {
    if bytes.len() < HEADER {
        return Err(Parse::Torn);
    }
    if &bytes[0..4] != MAGIC {
        // A crash while extending the file can leave zeros: torn, not corrupt.
        if bytes.iter().all(|b| *b == 0) {
            return Err(Parse::Torn);
        }
        return Err(Parse::Corrupt("no record starts here".to_string()));
    }
    let len = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
    let crc = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    if bytes.len() < HEADER + len {
        return Err(Parse::Torn);
    }
    let payload = &bytes[HEADER..HEADER + len];
    if crc32fast::hash(payload) != crc {
        // The last record of the log with a bad checksum was being written.
        if bytes.len() == HEADER + len {
            return Err(Parse::Torn);
        }
        return Err(Parse::Corrupt("checksum mismatch".to_string()));
    }
    if payload.len() < 20 {
        return Err(Parse::Corrupt("record too short".to_string()));
    }
    let seq = u64::from_le_bytes(payload[0..8].try_into().unwrap_or([0; 8]));
    let key_len = u32::from_le_bytes(payload[16..20].try_into().unwrap_or([0; 4])) as usize;
    if payload.len() < 20 + key_len {
        return Err(Parse::Corrupt("key runs past the record".to_string()));
    }
    let key = std::str::from_utf8(&payload[20..20 + key_len])
        .map_err(|_| Parse::Corrupt("key is not UTF-8".to_string()))?;
    let batch = decode_batch(&payload[20 + key_len..]).map_err(Parse::Corrupt)?;
    Ok((
        Record {
            seq,
            key: (!key.is_empty()).then(|| key.to_string()),
            batch,
        },
        HEADER + len,
    ))
}

/// Takes the log folder's lock: one server writes a table at a time (two
/// would interleave sequence numbers under one Delta app id).
pub fn lock(dir: &Path) -> Result<File> {
    std::fs::create_dir_all(dir).map_err(|e| io(dir, "cannot create the log folder", e))?;
    let path = dir.join("LOCK");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| io(&path, "cannot open", e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Wal(format!(
            "{}: another laketap server is writing to this table",
            path.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(io(&path, "cannot lock", e)),
    }
}

/// The appending side of a table's log (owned by the table's log thread).
#[derive(Debug)]
pub struct Wal {
    dir: PathBuf,
    current: Option<(File, PathBuf, u64)>,
    /// Closed segments and the last sequence number each holds.
    closed: Vec<(PathBuf, u64)>,
    /// The last sequence number written to the current segment.
    current_last: u64,
}

impl Wal {
    /// Appends to `dir`; `closed` are the segments recovery found (new
    /// records always go to a new segment).
    pub fn new(dir: PathBuf, closed: Vec<(PathBuf, u64)>) -> Wal {
        Wal {
            dir,
            current: None,
            closed,
            current_last: 0,
        }
    }

    /// Writes a record (not yet durable: call [`Wal::sync`]).
    pub fn append(&mut self, seq: u64, rows: u64, key: Option<&str>, ipc: &[u8]) -> Result<()> {
        if self
            .current
            .as_ref()
            .is_some_and(|(_, _, size)| *size >= SEGMENT_BYTES)
        {
            self.rotate()?;
        }
        if self.current.is_none() {
            let path = self.dir.join(segment_name(seq));
            let file = OpenOptions::new()
                .create_new(true)
                .append(true)
                .open(&path)
                .map_err(|e| io(&path, "cannot create a log segment", e))?;
            sync_path(&self.dir)?;
            self.current = Some((file, path, 0));
        }
        let bytes = frame(seq, rows, key, ipc)?;
        if let Some((file, path, size)) = self.current.as_mut() {
            file.write_all(&bytes)
                .map_err(|e| io(path, "cannot append to the log", e))?;
            *size += bytes.len() as u64;
        }
        self.current_last = seq;
        Ok(())
    }

    /// Makes every record written so far durable.
    pub fn sync(&mut self) -> Result<()> {
        if let Some((file, path, _)) = self.current.as_mut() {
            file.sync_data()
                .map_err(|e| io(path, "cannot sync the log", e))?;
        }
        Ok(())
    }

    fn rotate(&mut self) -> Result<()> {
        if let Some((file, path, _)) = self.current.take() {
            file.sync_data()
                .map_err(|e| io(&path, "cannot sync the log", e))?;
            self.closed.push((path, self.current_last));
        }
        Ok(())
    }

    /// Everything through `seq` is committed to the table: saves the keys
    /// still remembered, then deletes the segments holding only committed
    /// records. The current segment is closed first, so that it can go at
    /// the next truncation.
    pub fn truncate(&mut self, seq: u64, keys: &mut Keys) -> Result<()> {
        self.rotate()?;
        if !self.closed.iter().any(|(_, last)| *last <= seq) {
            return Ok(());
        }
        keys.save(&self.dir.join(KEYS_FILE), seq)?;
        let mut kept = Vec::new();
        let mut failed = None;
        for (path, last) in std::mem::take(&mut self.closed) {
            if last <= seq {
                if let Err(e) = std::fs::remove_file(&path) {
                    failed = Some(io(&path, "cannot delete a committed log segment", e));
                    kept.push((path, last));
                }
            } else {
                kept.push((path, last));
            }
        }
        self.closed = kept;
        sync_path(&self.dir)?;
        failed.map_or(Ok(()), Err)
    }
}

/// The idempotency keys a table remembers: the most recent `capacity`.
#[derive(Debug)]
pub struct Keys {
    acks: HashMap<String, Ack>,
    order: VecDeque<String>,
    capacity: usize,
    /// Keys carried only by log segments, not yet in `keys.log`.
    unsaved: VecDeque<(String, Ack)>,
    /// Lines in `keys.log`.
    saved_lines: usize,
}

impl Keys {
    /// An empty set remembering up to `capacity` keys.
    pub fn new(capacity: usize) -> Keys {
        Keys {
            acks: HashMap::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
            unsaved: VecDeque::new(),
            saved_lines: 0,
        }
    }

    /// The acknowledgement first given for `key`.
    pub fn get(&self, key: &str) -> Option<&Ack> {
        self.acks.get(key)
    }

    /// Remembers a key read back from `keys.log`.
    pub fn insert_saved(&mut self, key: String, ack: Ack) {
        self.saved_lines += 1;
        self.remember(key, ack);
    }

    /// Remembers `key`, carried by a log record, forgetting the oldest past
    /// the capacity.
    pub fn insert(&mut self, key: String, ack: Ack) {
        self.unsaved.push_back((key.clone(), ack));
        self.remember(key, ack);
    }

    fn remember(&mut self, key: String, ack: Ack) {
        if self.acks.insert(key.clone(), ack).is_none() {
            self.order.push_back(key);
        }
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.acks.remove(&old);
            }
        }
    }

    /// Saves the keys of records through `through` (their segments are about to go).
    fn save(&mut self, path: &Path, through: u64) -> Result<()> {
        let mut lines = String::new();
        let mut n = 0;
        while self.unsaved.front().is_some_and(|(_, a)| a.seq <= through) {
            if let Some((key, ack)) = self.unsaved.pop_front()
                && self.acks.contains_key(&key)
            {
                let line = serde_json::to_string(&(&key, &ack))
                    .map_err(|e| Error::Internal(format!("encoding idempotency keys: {e}")))?;
                lines.push_str(&line);
                lines.push('\n');
                n += 1;
            }
        }
        if n == 0 {
            return Ok(());
        }
        if self.saved_lines + n > 2 * self.capacity {
            // Rewrite with only what is remembered.
            let mut all = String::new();
            for key in &self.order {
                if let Some(ack) = self.acks.get(key) {
                    let line = serde_json::to_string(&(key, ack))
                        .map_err(|e| Error::Internal(format!("encoding idempotency keys: {e}")))?;
                    all.push_str(&line);
                    all.push('\n');
                }
            }
            let tmp = path.with_extension("log.tmp");
            let mut file = File::create(&tmp).map_err(|e| io(&tmp, "cannot write", e))?;
            file.write_all(all.as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|e| io(&tmp, "cannot write", e))?;
            std::fs::rename(&tmp, path).map_err(|e| io(path, "cannot replace", e))?;
            if let Some(dir) = path.parent() {
                sync_path(dir)?;
            }
            self.saved_lines = self.order.len();
            return Ok(());
        }
        let existed = path.exists();
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| io(path, "cannot open", e))?;
        file.write_all(lines.as_bytes())
            .and_then(|()| file.sync_data())
            .map_err(|e| io(path, "cannot append idempotency keys", e))?;
        if !existed && let Some(dir) = path.parent() {
            sync_path(dir)?;
        }
        self.saved_lines += n;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    fn batch(from: i64, n: i64) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from_iter_values(from..from + n)),
                Arc::new(StringArray::from_iter(
                    (from..from + n).map(|i| (i % 3 != 0).then(|| format!("ü{i}"))),
                )),
            ],
        )
        .expect("batch")
    }

    fn ack(seq: u64, rows: u64) -> Ack {
        Ack { seq, rows }
    }

    #[test]
    fn records_come_back_and_a_torn_tail_is_cut_off() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut wal = Wal::new(dir.path().to_path_buf(), Vec::new());
        for seq in 1..=3u64 {
            let b = batch(seq as i64 * 10, 4);
            let key = format!("k{seq}");
            wal.append(seq, 4, Some(&key), &encode_batch(&b).expect("encode"))
                .expect("append");
        }
        wal.sync().expect("sync");
        let segment = dir.path().join(segment_name(1));
        // A crash in the middle of a fourth record.
        let partial =
            frame(4, 4, None, &encode_batch(&batch(40, 4)).expect("encode")).expect("frame");
        let mut file = OpenOptions::new()
            .append(true)
            .open(&segment)
            .expect("open");
        file.write_all(&partial[..partial.len() / 2])
            .expect("write");
        drop(file);
        let recovered = recover(dir.path()).expect("recover");
        assert_eq!(
            recovered.records.iter().map(|r| r.seq).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
        assert_eq!(recovered.records[1].key.as_deref(), Some("k2"));
        assert_eq!(recovered.records[2].batch, batch(30, 4));
        assert_eq!(recovered.torn_bytes, (partial.len() / 2) as u64);
        // The torn bytes are gone from the file: a second recovery agrees.
        let again = recover(dir.path()).expect("recover");
        assert_eq!(again.records.len(), 3);
        assert_eq!(again.torn_bytes, 0);
    }

    #[test]
    fn a_flipped_bit_inside_the_log_is_reported() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut wal = Wal::new(dir.path().to_path_buf(), Vec::new());
        for seq in 1..=2u64 {
            wal.append(seq, 4, None, &encode_batch(&batch(0, 4)).expect("encode"))
                .expect("append");
        }
        wal.sync().expect("sync");
        let segment = dir.path().join(segment_name(1));
        let mut bytes = std::fs::read(&segment).expect("read");
        bytes[HEADER + 30] ^= 0x40;
        std::fs::write(&segment, &bytes).expect("write");
        let err = recover(dir.path()).expect_err("corrupt");
        assert!(err.to_string().contains("checksum mismatch"), "{err}");
        assert!(err.to_string().contains("offset 0"), "{err}");
    }

    #[test]
    fn truncation_keeps_keys_and_uncommitted_records() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut wal = Wal::new(dir.path().to_path_buf(), Vec::new());
        let mut keys = Keys::new(10);
        for seq in 1..=2u64 {
            let key = format!("k{seq}");
            wal.append(
                seq,
                4,
                Some(&key),
                &encode_batch(&batch(0, 4)).expect("encode"),
            )
            .expect("append");
            keys.insert(key, ack(seq, 4));
        }
        wal.sync().expect("sync");
        // Records 1–2 are committed; a third arrives in the next segment.
        wal.truncate(2, &mut keys).expect("truncate");
        wal.append(3, 4, None, &encode_batch(&batch(0, 4)).expect("encode"))
            .expect("append");
        wal.sync().expect("sync");
        let recovered = recover(dir.path()).expect("recover");
        assert_eq!(
            recovered.records.iter().map(|r| r.seq).collect::<Vec<_>>(),
            vec![3]
        );
        let mut remembered: Vec<String> = recovered.keys.iter().map(|(k, _)| k.clone()).collect();
        remembered.sort();
        assert_eq!(remembered, vec!["k1", "k2"]);
        assert_eq!(recovered.keys[1].1, ack(2, 4));
    }

    #[test]
    fn keys_past_the_capacity_are_forgotten_oldest_first() {
        let mut keys = Keys::new(2);
        keys.insert("a".into(), ack(1, 1));
        keys.insert("b".into(), ack(2, 1));
        keys.insert("c".into(), ack(3, 1));
        assert!(keys.get("a").is_none());
        assert_eq!(keys.get("c"), Some(&ack(3, 1)));
    }
}
