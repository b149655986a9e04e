//! Buffers used again and again while `data.json` is read, instead of fresh ones.
//!
//! A download lays each block's rows out in a buffer that lives for a few milliseconds and is
//! dropped on another thread than the one that filled it (the consumer's, once written).
//! Freshly allocated, such buffers of a few hundred KiB cost a page fault per 4 KiB touched
//! (glibc's allocator hands large freed blocks back to the system). A [`Pool`] keeps a few of them: a buffer handed on as [`Bytes`]
//! ([`Pool::bytes`]) comes back to the pool when the last reference to it is dropped,
//! wherever that is.

use std::sync::{Arc, Mutex};

use bytes::Bytes;

/// Buffers kept, at most: what is in flight at once (a few blocks and batches); more are
/// dropped, so what is kept stays bounded.
const KEPT: usize = 8;

/// A few buffers to use again. Clones share them.
#[derive(Clone, Debug, Default)]
pub(crate) struct Pool(Arc<Mutex<Vec<Vec<u8>>>>);

impl Pool {
    /// An empty buffer: one given back, or a new one with room for `capacity` bytes.
    pub(crate) fn take(&self, capacity: usize) -> Vec<u8> {
        let kept = self.0.lock().ok().and_then(|mut kept| kept.pop());
        match kept {
            Some(mut buffer) => {
                buffer.clear();
                buffer
            }
            None => Vec::with_capacity(capacity),
        }
    }

    /// Gives a buffer back (dropped when enough are kept).
    pub(crate) fn give(&self, mut buffer: Vec<u8>) {
        buffer.clear();
        if let Ok(mut kept) = self.0.lock()
            && kept.len() < KEPT
        {
            kept.push(buffer);
        }
    }

    /// `buffer` as [`Bytes`] that give it back to the pool once the last of them is
    /// dropped.
    pub(crate) fn bytes(&self, buffer: Vec<u8>) -> Bytes {
        Bytes::from_owner(Pooled {
            buffer,
            pool: self.clone(),
        })
    }
}

/// A buffer lent out as [`Bytes`].
struct Pooled {
    buffer: Vec<u8>,
    pool: Pool,
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.buffer
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        self.pool.give(std::mem::take(&mut self.buffer));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_comes_back_once_its_last_bytes_are_dropped() {
        let pool = Pool::default();
        let mut buffer = pool.take(100);
        buffer.extend_from_slice(b"rows");
        let address = buffer.as_ptr();
        let bytes = pool.bytes(buffer);
        let part = bytes.slice(1..3);
        drop(bytes);
        assert_eq!(&part[..], b"ow");
        assert_eq!(pool.0.lock().map(|kept| kept.len()).ok(), Some(0));
        drop(part);
        let again = pool.take(1);
        assert!(again.is_empty() && again.capacity() >= 100);
        assert_eq!(again.as_ptr(), address);
        // No more than KEPT are kept.
        for _ in 0..KEPT + 3 {
            pool.give(Vec::with_capacity(10));
        }
        assert_eq!(pool.0.lock().map(|kept| kept.len()).ok(), Some(KEPT));
    }
}
