//! A bounded cache of rendered bytes: results pages and download-file chunks of ended jobs.
//!
//! Rows are a pure function of (job, index), so an ended job's page or file chunk is the same
//! bytes every time it is asked for. Rendering them is most of the simulator's work; keeping
//! them lets benchmarks and repeated reads measure the client, not the simulator. The cache
//! holds at most its byte budget (oldest entries leave first), so memory stays bounded
//! whatever the row counts; a budget of 0 turns it off.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use bytes::Bytes;

/// What a cached entry is.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Key {
    /// A results page, with everything its bytes depend on.
    Page {
        /// The job.
        job: u64,
        /// The page number served.
        page: u64,
        /// Rows per page.
        limit: u64,
        /// Rows the job had.
        visible: u64,
        /// What `meta.total` said.
        total: u64,
    },
    /// A chunk of a download file.
    Chunk {
        /// The job.
        job: u64,
        /// The rows the file holds.
        rows: u64,
        /// `data.json` (true) or `data.csv`.
        json: bool,
        /// The chunk's number.
        chunk: u64,
    },
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<Key, Bytes>,
    order: VecDeque<Key>,
    bytes: usize,
}

/// The cache. Cheap to share: one mutex held only to look up or insert.
#[derive(Debug)]
pub struct RenderCache {
    budget: usize,
    inner: Mutex<Inner>,
}

impl RenderCache {
    /// A cache that holds at most `budget` bytes.
    pub fn new(budget: usize) -> Self {
        RenderCache {
            budget,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The entry for `key`, rendered by `render` if it is not cached; cached afterwards when
    /// `keep` (an ended job's bytes, which will not change).
    pub fn get_or_render(&self, key: Key, keep: bool, render: impl FnOnce() -> Bytes) -> Bytes {
        if self.budget == 0 {
            return render();
        }
        if let Some(bytes) = self.lock().entries.get(&key) {
            return bytes.clone();
        }
        let bytes = render();
        if keep {
            self.insert(key, bytes.clone());
        }
        bytes
    }

    fn insert(&self, key: Key, bytes: Bytes) {
        if bytes.len() > self.budget {
            return;
        }
        let mut inner = self.lock();
        if inner.entries.contains_key(&key) {
            return;
        }
        while inner.bytes + bytes.len() > self.budget {
            let Some(oldest) = inner.order.pop_front() else {
                break;
            };
            if let Some(gone) = inner.entries.remove(&oldest) {
                inner.bytes -= gone.len();
            }
        }
        inner.bytes += bytes.len();
        inner.order.push_back(key);
        inner.entries.insert(key, bytes);
    }

    /// The bytes held.
    pub fn held_bytes(&self) -> usize {
        self.lock().bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(n: u64) -> Key {
        Key::Page {
            job: 1,
            page: n,
            limit: 100,
            visible: 1000,
            total: 1000,
        }
    }

    #[test]
    fn renders_once_keeps_to_its_budget_and_drops_the_oldest() {
        let cache = RenderCache::new(10);
        let mut renders = 0;
        for _ in 0..3 {
            let bytes = cache.get_or_render(page(1), true, || {
                renders += 1;
                Bytes::from_static(b"abcd")
            });
            assert_eq!(&bytes[..], b"abcd");
        }
        assert_eq!(renders, 1, "rendered once");
        cache.get_or_render(page(2), true, || Bytes::from_static(b"efgh"));
        assert_eq!(cache.held_bytes(), 8);
        cache.get_or_render(page(3), true, || Bytes::from_static(b"ijkl"));
        assert_eq!(cache.held_bytes(), 8, "page 1 left to make room");
        let mut again = false;
        cache.get_or_render(page(1), true, || {
            again = true;
            Bytes::from_static(b"abcd")
        });
        assert!(again, "the oldest was dropped");
        cache.get_or_render(page(4), true, || Bytes::from(vec![0; 11]));
        assert!(cache.held_bytes() <= 10, "never past the budget");
        let mut kept = 0;
        for _ in 0..2 {
            cache.get_or_render(page(5), false, || {
                kept += 1;
                Bytes::new()
            });
        }
        assert_eq!(kept, 2, "a running job's page is not kept");
        let off = RenderCache::new(0);
        off.get_or_render(page(1), true, || Bytes::from_static(b"x"));
        assert_eq!(off.held_bytes(), 0);
    }
}
