//! The recent-query log behind `laketap.query_log`: a bounded ring buffer
//! that the front ends append to when a statement ends.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};

/// One finished statement.
#[derive(Debug, Clone)]
pub struct QueryRecord {
    /// Server-unique id, increasing.
    pub query_id: u64,
    /// Who ran it.
    pub user: String,
    /// The SQL text.
    pub sql: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// How long it ran, in milliseconds.
    pub duration_ms: f64,
    /// Rows returned or affected.
    pub rows: u64,
    /// The error it ended with, if any.
    pub error: Option<String>,
}

/// The last `capacity` statements.
#[derive(Debug)]
pub struct QueryLog {
    capacity: usize,
    next_id: AtomicU64,
    records: Mutex<VecDeque<QueryRecord>>,
}

impl QueryLog {
    /// A log keeping the last `capacity` statements.
    pub fn new(capacity: usize) -> Self {
        QueryLog {
            capacity: capacity.max(1),
            next_id: AtomicU64::new(1),
            records: Mutex::new(VecDeque::new()),
        }
    }

    /// A fresh query id.
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Appends a finished statement, dropping the oldest past capacity.
    pub fn push(&self, record: QueryRecord) {
        let mut records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        if records.len() == self.capacity {
            records.pop_front();
        }
        records.push_back(record);
    }

    /// The kept statements, oldest first.
    pub fn snapshot(&self) -> Vec<QueryRecord> {
        self.records
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(log: &QueryLog, sql: &str) -> QueryRecord {
        QueryRecord {
            query_id: log.next_id(),
            user: "u".into(),
            sql: sql.into(),
            started_at: Utc::now(),
            duration_ms: 1.0,
            rows: 0,
            error: None,
        }
    }

    #[test]
    fn keeps_the_last_capacity_records() {
        let log = QueryLog::new(2);
        for sql in ["a", "b", "c"] {
            let r = record(&log, sql);
            log.push(r);
        }
        let kept: Vec<_> = log
            .snapshot()
            .into_iter()
            .map(|r| (r.query_id, r.sql))
            .collect();
        assert_eq!(kept, vec![(2, "b".to_string()), (3, "c".to_string())]);
    }
}
