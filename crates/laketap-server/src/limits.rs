//! The memory limit of one connection's statements, inside the server's pool.
//!
//! DataFusion has one memory pool per runtime; each connection's session gets
//! a [`SessionPool`] over the server's pool, so a statement is refused (53200)
//! when either its connection's share or the server's pool is used up. A
//! connection runs one statement at a time, so the share is the per-query
//! limit. Memory a statement holds is released when its stream is dropped,
//! which is also what happens when its client goes away.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::memory_pool::{
    MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation,
};

/// A cap on one session's reservations, which also count against `server`.
#[derive(Debug)]
pub struct SessionPool {
    server: Arc<dyn MemoryPool>,
    limit: usize,
    used: AtomicUsize,
}

impl SessionPool {
    /// At most `limit` bytes of `server` for this session.
    pub fn new(server: Arc<dyn MemoryPool>, limit: usize) -> Self {
        SessionPool {
            server,
            limit,
            used: AtomicUsize::new(0),
        }
    }
}

impl std::fmt::Display for SessionPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "session pool: {} of {} bytes",
            self.used.load(Ordering::Relaxed),
            self.limit
        )
    }
}

impl MemoryPool for SessionPool {
    fn name(&self) -> &str {
        "laketap_session"
    }

    fn register(&self, consumer: &MemoryConsumer) {
        self.server.register(consumer);
    }

    fn unregister(&self, consumer: &MemoryConsumer) {
        self.server.unregister(consumer);
    }

    fn grow(&self, reservation: &MemoryReservation, additional: usize) {
        self.used.fetch_add(additional, Ordering::Relaxed);
        self.server.grow(reservation, additional);
    }

    fn shrink(&self, reservation: &MemoryReservation, shrink: usize) {
        self.used.fetch_sub(shrink, Ordering::Relaxed);
        self.server.shrink(reservation, shrink);
    }

    fn try_grow(&self, reservation: &MemoryReservation, additional: usize) -> DfResult<()> {
        let mut now = self.used.load(Ordering::Relaxed);
        loop {
            let next = now.saturating_add(additional);
            if next > self.limit {
                return Err(DataFusionError::ResourcesExhausted(format!(
                    "the statement needs more than the query memory limit of {} MiB \
                     (query_memory_limit_mb; {} used, {} more asked by {})",
                    self.limit / (1024 * 1024),
                    human(now),
                    human(additional),
                    reservation.consumer().name()
                )));
            }
            match self
                .used
                .compare_exchange_weak(now, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => break,
                Err(actual) => now = actual,
            }
        }
        if let Err(e) = self.server.try_grow(reservation, additional) {
            self.used.fetch_sub(additional, Ordering::Relaxed);
            return Err(match e {
                DataFusionError::ResourcesExhausted(m) => DataFusionError::ResourcesExhausted(
                    format!("the server's memory limit is reached (memory_limit_mb): {m}"),
                ),
                other => other,
            });
        }
        Ok(())
    }

    fn reserved(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    fn memory_limit(&self) -> MemoryLimit {
        MemoryLimit::Finite(self.limit)
    }
}

fn human(bytes: usize) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::execution::memory_pool::GreedyMemoryPool;

    #[test]
    fn the_session_share_and_the_server_pool_both_limit() {
        let server: Arc<dyn MemoryPool> = Arc::new(GreedyMemoryPool::new(1000));
        let a: Arc<dyn MemoryPool> = Arc::new(SessionPool::new(server.clone(), 600));
        let b: Arc<dyn MemoryPool> = Arc::new(SessionPool::new(server.clone(), 600));
        let ra = MemoryConsumer::new("a").register(&a);
        let rb = MemoryConsumer::new("b").register(&b);
        ra.try_grow(500).expect("within both");
        let over_share = ra.try_grow(200).expect_err("over the session share");
        assert!(
            over_share.to_string().contains("query memory limit"),
            "{over_share}"
        );
        assert_eq!(a.reserved(), 500);
        let over_server = rb.try_grow(600).expect_err("over the server pool");
        assert!(
            over_server.to_string().contains("server's memory limit"),
            "{over_server}"
        );
        assert_eq!(b.reserved(), 0, "a refused grow is not counted");
        rb.try_grow(500).expect("what is left");
        drop(ra);
        assert_eq!(a.reserved(), 0);
        assert_eq!(server.reserved(), 500);
    }
}
