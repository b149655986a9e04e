//! The thread that reads one paged reading's results pages, off the runtime's workers.
//!
//! A page used to be read (split into its rows, each checked) on the task that fetched it, on
//! whichever worker ran that task. On a multi-threaded runtime the connection's task, the
//! fetch's task and the consumer then ran on different workers, and every chunk of every page
//! woke a thread of its own: a 1M-row pages export spent about 30% more CPU on two workers
//! than on one (1.02 against 0.72 s, `docs/benchmarks.md`), and most of it went to the
//! wake-ups. Here the runtime only moves bytes, and the reading of every page goes to one
//! thread that takes them from a queue in the order they came: a thread that finds another
//! page waiting goes on with it without sleeping, and the same thread (its caches and branch
//! history warm with the job's rows) reads every page.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;

use bytes::Bytes;
use hasdata_model::decode::DecodeError;
use tokio::sync::oneshot;

/// A page's reading, as the thread hands it back: `Err` holds a panic of the reading, to be
/// raised again on the task that waits for it.
pub(crate) type Read<P> = std::thread::Result<std::result::Result<P, DecodeError>>;

/// One page to read, its type erased: the reading and where its result goes.
type Work = Box<dyn FnOnce() + Send>;

/// The thread, and the queue to it. Cheap to clone (each fetch holds one); the thread ends
/// when the last clone is dropped and the pages queued are read (their readings are then
/// dropped, unread, if nobody waits for them).
#[derive(Clone, Debug)]
pub(crate) struct PageReaders {
    queue: mpsc::Sender<Work>,
}

impl PageReaders {
    /// Starts the thread. `None` when it could not be started: each fetch then reads its own
    /// page, as before.
    pub(crate) fn start() -> Option<PageReaders> {
        let (queue, work) = mpsc::channel::<Work>();
        std::thread::Builder::new()
            .name("hasdata-pages".into())
            .spawn(move || {
                // Until every sender is gone.
                while let Ok(read) = work.recv() {
                    read();
                }
            })
            .ok()?;
        Some(PageReaders { queue })
    }

    /// Queues `body` to be read by `parse`: the reading comes on the receiver. A receiver
    /// that fails means the thread is gone, and the caller reads the page itself.
    pub(crate) fn read<P: Send + 'static>(
        &self,
        body: Bytes,
        parse: fn(&Bytes) -> std::result::Result<P, DecodeError>,
    ) -> oneshot::Receiver<Read<P>> {
        let (done, read) = oneshot::channel();
        let work: Work = Box::new(move || {
            let page = std::panic::catch_unwind(AssertUnwindSafe(|| parse(&body)));
            // The page's chunks go before its reading does: nothing else holds them.
            drop(body);
            // Nobody waiting (the reading stopped): the page is dropped.
            let _ = done.send(page);
        });
        // On failure the work, and its sender, are dropped: the receiver then says so.
        let _ = self.queue.send(work);
        read
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count_commas(body: &Bytes) -> std::result::Result<usize, DecodeError> {
        Ok(body.iter().filter(|&&b| b == b',').count())
    }

    fn refuse(_: &Bytes) -> std::result::Result<usize, DecodeError> {
        Err(DecodeError {
            path: "data".into(),
            message: "refused".into(),
            snippet: String::new(),
        })
    }

    fn explode(_: &Bytes) -> std::result::Result<usize, DecodeError> {
        panic!("a reading that panics")
    }

    #[test]
    fn every_page_queued_gets_its_own_reading_in_any_order_of_waiting() {
        let readers = PageReaders::start().expect("the thread starts");
        let receivers: Vec<_> = (0..50)
            .map(|i| readers.read(Bytes::from(",".repeat(i)), count_commas))
            .collect();
        // Waited for last first: each answer is still the one of its own page.
        for (i, receiver) in receivers.into_iter().enumerate().rev() {
            let read = receiver.blocking_recv().expect("the thread answers");
            assert_eq!(read.expect("no panic").expect("read"), i);
        }
    }

    #[test]
    fn a_refused_page_and_a_panic_come_back_and_the_thread_goes_on() {
        let readers = PageReaders::start().expect("the thread starts");
        let refused = readers.read(Bytes::from_static(b"x"), refuse);
        let panicked = readers.read(Bytes::from_static(b"x"), explode);
        let after = readers.read(Bytes::from_static(b",,"), count_commas);
        let error = refused
            .blocking_recv()
            .expect("answered")
            .expect("no panic")
            .expect_err("refused");
        assert_eq!(error.path, "data");
        assert!(panicked.blocking_recv().expect("answered").is_err());
        assert_eq!(
            after
                .blocking_recv()
                .expect("answered")
                .expect("no panic")
                .expect("read"),
            2
        );
    }

    #[test]
    fn pages_queued_before_the_last_clone_is_dropped_are_still_read() {
        let readers = PageReaders::start().expect("the thread starts");
        let receivers: Vec<_> = (0..20)
            .map(|i| readers.read(Bytes::from(",".repeat(i)), count_commas))
            .collect();
        drop(readers);
        for (i, receiver) in receivers.into_iter().enumerate() {
            let read = receiver.blocking_recv().expect("read after the drop");
            assert_eq!(read.expect("no panic").expect("read"), i);
        }
    }
}
