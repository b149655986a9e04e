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
//! history warm with the job's rows) reads every page. There are never more such threads in
//! a process than cores: past that, a reading reads its pages on its fetches' tasks.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
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

/// Page threads running in this process: at most one per core ([`most`]). A program that
/// reads many jobs' pages at once (a fleet worker collecting several) would otherwise start
/// a thread per reading; past the limit a reading reads its pages on its fetches' tasks, as
/// every reading did before, which costs CPU but no thread.
static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// The most page threads at once: one per core the process may run on, at least one.
fn most() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// A place among the threads `running` counts, given back when dropped (by the thread as it
/// ends, or at once when the thread could not be started).
struct Place {
    running: &'static AtomicUsize,
}

impl Place {
    /// A place, when fewer than `most` are taken.
    fn take(running: &'static AtomicUsize, most: usize) -> Option<Place> {
        running
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |taken| {
                (taken < most).then_some(taken + 1)
            })
            .ok()
            .map(|_| Place { running })
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        self.running.fetch_sub(1, Ordering::AcqRel);
    }
}

impl PageReaders {
    /// Starts the thread. `None` when it could not be started, or when as many page threads
    /// as cores run already: each fetch then reads its own page, as before.
    pub(crate) fn start() -> Option<PageReaders> {
        PageReaders::start_within(&RUNNING, most())
    }

    /// [`PageReaders::start`] counted in `running`, `most` at once.
    fn start_within(running: &'static AtomicUsize, most: usize) -> Option<PageReaders> {
        let place = Place::take(running, most)?;
        let (queue, work) = mpsc::channel::<Work>();
        std::thread::Builder::new()
            .name("hasdata-pages".into())
            .spawn(move || {
                let _place = place;
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

    /// A page thread counted apart from the process's, so tests running at once never find
    /// the process's places taken by each other.
    fn started() -> PageReaders {
        static TESTS: AtomicUsize = AtomicUsize::new(0);
        PageReaders::start_within(&TESTS, usize::MAX).expect("the thread starts")
    }

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
        let readers = started();
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
        let readers = started();
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
    fn no_more_page_threads_run_than_allowed_and_a_place_comes_back_when_one_ends() {
        static COUNTED: AtomicUsize = AtomicUsize::new(0);
        let first = PageReaders::start_within(&COUNTED, 2).expect("a first thread");
        let second = PageReaders::start_within(&COUNTED, 2).expect("a second thread");
        assert!(
            PageReaders::start_within(&COUNTED, 2).is_none(),
            "a third of two"
        );
        assert_eq!(COUNTED.load(Ordering::Acquire), 2);
        // A queued page is still read after the last clone is dropped; then the thread ends
        // and gives its place back.
        let read = first.read(Bytes::from_static(b",,,"), count_commas);
        drop(first);
        assert_eq!(read.blocking_recv().unwrap().unwrap().unwrap(), 3);
        let started = std::time::Instant::now();
        let third = loop {
            if let Some(readers) = PageReaders::start_within(&COUNTED, 2) {
                break readers;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(30),
                "the ended thread's place never came back"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        };
        let read = third.read(Bytes::from_static(b","), count_commas);
        assert_eq!(read.blocking_recv().unwrap().unwrap().unwrap(), 1);
        drop((second, third));
    }

    #[test]
    fn pages_queued_before_the_last_clone_is_dropped_are_still_read() {
        let readers = started();
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
