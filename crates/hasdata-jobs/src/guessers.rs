//! A few threads of one `data.json` reading that split its blocks on guesses
//! ([`crate::json_blocks::guess`]), started with its first block and ended with it.
//!
//! Each block was once split on a blocking thread of the runtime's pool, spawned for it: a
//! thousand blocks a file, each one a thread woken, a task joined, and the work spread over
//! as many threads as the pool had idle, each with cold caches. Here a reading has a fixed
//! few threads, one per core at most ([`threads`]), that take the blocks from one queue in
//! the order they were cut: a thread that finds another block waiting goes on with it
//! without sleeping, so a steady file costs few wake-ups, and the same threads (their caches
//! and branch history warm with the file's rows) split every block.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use crate::json_blocks::{self, Block, Guess};
use crate::pool::Pool;

/// A block's guess, as its thread hands it back: `Err` holds a panic of the split, to be
/// raised again by the reading.
pub(crate) type Guessed = std::thread::Result<Option<Guess>>;

/// One block to split.
struct Work {
    block: Block,
    first: bool,
    done: oneshot::Sender<Guessed>,
}

/// The threads, and the queue to them. Dropping it ends them once the blocks queued are
/// done (their guesses are then dropped, unread, if nobody waits for them).
#[derive(Debug)]
pub(crate) struct Guessers {
    queue: mpsc::Sender<Work>,
}

/// How many threads split guesses: one per core the process may run on, at most
/// `most` (the blocks that can be out at once), at least one.
pub(crate) fn threads(most: usize) -> usize {
    std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, most.max(1))
}

impl Guessers {
    /// Starts `count` threads (at least one) that split blocks for elements of at most
    /// `max_element` bytes, into buffers from `pool`. `None` when no thread could be
    /// started: the exact splitter then splits every block itself.
    pub(crate) fn start(count: usize, max_element: usize, pool: &Pool) -> Option<Guessers> {
        let (queue, work) = mpsc::channel::<Work>();
        let work = Arc::new(Mutex::new(work));
        let mut started = 0;
        for _ in 0..count.max(1) {
            let work = Arc::clone(&work);
            let pool = pool.clone();
            let spawned = std::thread::Builder::new()
                .name("hasdata-split".into())
                .spawn(move || run(&work, max_element, &pool));
            if spawned.is_ok() {
                started += 1;
            }
        }
        (started > 0).then_some(Guessers { queue })
    }

    /// Queues `block` (the document's `first` or a later one): its guess comes on the
    /// receiver. A receiver that fails (the threads gone) means no guess.
    pub(crate) fn guess(&self, block: Block, first: bool) -> oneshot::Receiver<Guessed> {
        let (done, guessed) = oneshot::channel();
        // On failure the work, and its sender, are dropped: the receiver then says so.
        let _ = self.queue.send(Work { block, first, done });
        guessed
    }
}

/// A thread's loop: the next block in the queue, until the queue is closed.
fn run(work: &Mutex<mpsc::Receiver<Work>>, max_element: usize, pool: &Pool) {
    loop {
        // The lock is held only while waiting for the next block: the others wait for
        // the lock instead, in the same order.
        let next = match work.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        let Ok(Work { block, first, done }) = next else {
            return;
        };
        let guessed = std::panic::catch_unwind(AssertUnwindSafe(|| {
            json_blocks::guess(&block, first, max_element, pool)
        }));
        // This thread's share of the block's chunks goes before the guess does, so the
        // reading, which holds the block until it takes the guess, drops them last: on a
        // runtime worker, where the connection's read buffers were allocated, and where
        // the allocator can hand the same memory to the next read without a page fault.
        drop(block);
        // Nobody waiting (the reading stopped): the guess is dropped.
        let _ = done.send(guessed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn block(text: &[u8]) -> Block {
        let mut block = Block::default();
        block.push(Bytes::copy_from_slice(text));
        block
    }

    #[test]
    fn every_block_queued_gets_its_own_guess_whatever_thread_takes_it() {
        let pool = Pool::default();
        let guessers = Guessers::start(2, 1 << 20, &pool).expect("threads start");
        // Blocks of different rows, each tagged by its number, taken by either thread.
        let receivers: Vec<_> = (0..40)
            .map(|i| {
                let text = format!("[{{\"block\":{i}}},{{\"again\":{i}}}");
                guessers.guess(block(text.as_bytes()), true)
            })
            .collect();
        for (i, receiver) in receivers.into_iter().enumerate() {
            let guess = receiver
                .blocking_recv()
                .expect("a thread answers")
                .expect("no panic")
                .expect("the first block's guess is always made");
            let lines = guess.lines_text();
            assert_eq!(
                lines,
                format!("{{\"block\":{i}}}\n{{\"again\":{i}}}\n").as_bytes()
            );
        }
    }

    #[test]
    fn a_block_with_no_place_to_guess_from_gets_none_and_the_threads_go_on() {
        let pool = Pool::default();
        let guessers = Guessers::start(1, 1 << 20, &pool).expect("threads start");
        let none = guessers.guess(block(b"\"no comma here\""), false);
        let some = guessers.guess(block(b"[1,2]"), true);
        assert!(
            none.blocking_recv()
                .expect("answered")
                .expect("no panic")
                .is_none()
        );
        assert!(
            some.blocking_recv()
                .expect("answered")
                .expect("no panic")
                .is_some()
        );
    }

    #[test]
    fn the_thread_count_is_bounded_by_the_blocks_out_and_at_least_one() {
        assert_eq!(threads(1), 1);
        assert_eq!(threads(0), 1);
        assert!((1..=3).contains(&threads(3)));
    }
}
