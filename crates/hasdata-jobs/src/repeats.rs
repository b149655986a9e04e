//! The paged reads' repeated-row check, in memory that does not grow with the job.
//!
//! A results page that repeats rows is a server error: a server that ignores `page` answers
//! every request with page 1, and paging over rows that move (a job still writing) gives the
//! same rows at both ends of two adjacent pages. Counting alone misses both when the repeats
//! stand in for missing rows, since the count comes out right. Remembering every wrapper id
//! catches every repeat, but grows with the job (8 bytes a row as hashes: tens of MiB at a
//! million rows), and a read of any size should run in constant memory. So the check
//! remembers three bounded things instead:
//!
//! - **the ids of the last [`WINDOW`] pages**, exactly (as 64-bit hashes), which catches a row
//!   repeated on the same page, on the next page or a few pages on (rows that moved);
//! - **the ids of page 1** for the whole read, which catches a server that ignores `page`
//!   however far into the job it starts doing so;
//! - **a fingerprint of each page** (a hash of its ids in order, 8 bytes a page), up to
//!   [`MAX_FINGERPRINTS`] pages (6.5 million rows; at most about 1 MiB), which catches a whole
//!   page served again anywhere in that range.
//!
//! What it cannot see is a single row, or part of a page, repeated more than [`WINDOW`] pages
//! after it first came (a page other than page 1), or a whole page repeated after the first
//! [`MAX_FINGERPRINTS`] pages. No paging fault seen or modelled produces that, and it would
//! take memory proportional to the job to see it.
//!
//! The ids are hashed with foldhash under a seed drawn at random once per process: a few
//! multiplications a row where SipHash took a few dozen cycles, and a server cannot pick ids
//! whose hashes collide (a false repeat) or pile into one bucket, since it cannot know the seed.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::OnceLock;

use foldhash::SharedSeed;
use foldhash::quality::SeedableRandomState;

/// The sets hold hashes already: hashing them again would only cost time.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used; anything else is folded in, to stay a hash.
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, hash: u64) {
        self.0 = hash;
    }
}

type Hashes = BuildHasherDefault<Prehashed>;

/// Pages whose ids are all remembered, besides page 1.
pub(crate) const WINDOW: usize = 16;

/// Pages whose fingerprints are remembered.
pub(crate) const MAX_FINGERPRINTS: usize = 1 << 16;

/// The process's hashing of ids and pages: one random seed for the whole process, so the
/// hashes computed on the tasks that parse pages agree with each other.
fn seeded() -> &'static SeedableRandomState {
    static STATE: OnceLock<SeedableRandomState> = OnceLock::new();
    STATE
        .get_or_init(|| SeedableRandomState::with_seed(rand::random(), SharedSeed::global_random()))
}

/// A wrapper id's 64-bit hash (foldhash under the process's random seed: the same within a
/// run, different between runs).
pub(crate) fn hash_id(id: &str) -> u64 {
    hash_id_bytes(id.as_bytes())
}

/// [`hash_id`] of an id's bytes (UTF-8 already checked by the caller): the one hashing every
/// reading uses, so a page read from its bytes and one read by serde_json agree.
pub(crate) fn hash_id_bytes(id: &[u8]) -> u64 {
    seeded().hash_one(id)
}

/// The check's memory: see the module's documentation.
#[derive(Default)]
pub(crate) struct RepeatCheck {
    /// Page 1's ids (the first page read), for the whole read: they are put in `current`
    /// again each time it is emptied, so one probe of `current` finds a row of page 1 as
    /// well as one of the window (not a third probe, of a set of its own, for every row).
    first: Vec<u64>,
    /// Each id of the pages read since the last multiple of [`WINDOW`], with the last page
    /// (in reading order, from 1) that held it; and page 1's ids.
    current: HashMap<u64, u64, Hashes>,
    /// The same for the [`WINDOW`] pages before those. An entry counts while its page is
    /// within [`WINDOW`] pages of the one checked. Every [`WINDOW`] pages `current` becomes
    /// `previous` and the old `previous` is emptied (its table kept): what it held is past
    /// the window by then. So the two hold the ids of at most twice the window's pages, and
    /// no entry is ever visited to be dropped (a walk over the whole map every [`WINDOW`]
    /// pages was about 4% of a pages export's CPU).
    previous: HashMap<u64, u64, Hashes>,
    /// Fingerprints of pages read so far (up to [`MAX_FINGERPRINTS`]).
    fingerprints: HashSet<u64, Hashes>,
    /// Pages read.
    read: u64,
}

impl RepeatCheck {
    /// Checks one page's rows, each given as its index on the page and its wrapper id's hash
    /// ([`hash_id`]; rows without an id are not given), in the order the pages come. Returns
    /// the index of the first row the check has seen before, or `None` when the page is new;
    /// the page is remembered either way, but a caller stops at the first repeat.
    pub(crate) fn page(&mut self, ids: impl Iterator<Item = (usize, u64)>) -> Option<usize> {
        self.read += 1;
        let page = self.read;
        let window = WINDOW as u64;
        let is_first = page == 1;
        let mut fingerprint = seeded().build_hasher();
        let mut first_id = None;
        let mut repeated = None;
        for (index, hash) in ids {
            fingerprint.write_u64(hash);
            first_id.get_or_insert(index);
            // Held by this page already, by page 1, or by one of the `WINDOW` pages before
            // it: any page of `current` is (page 1's ids are always there), one of
            // `previous` when it is recent enough. On page 1 `current` holds only page 1's.
            let seen = self.current.insert(hash, page).is_some()
                || (!is_first
                    && self
                        .previous
                        .get(&hash)
                        .is_some_and(|&held| held + window >= page));
            if is_first {
                self.first.push(hash);
            }
            if seen && repeated.is_none() {
                repeated = Some(index);
            }
        }
        if let Some(first_id) = first_id {
            let fingerprint = fingerprint.finish();
            if self.fingerprints.contains(&fingerprint) {
                // A whole page served again: its first row names it.
                repeated = repeated.or(Some(first_id));
            } else if self.fingerprints.len() < MAX_FINGERPRINTS {
                self.fingerprints.insert(fingerprint);
            }
        }
        if page.is_multiple_of(window) {
            // Only ids of the last `WINDOW` pages can still be repeats of the window: those
            // of `current`, which becomes `previous`.
            std::mem::swap(&mut self.current, &mut self.previous);
            self.current.clear();
            self.current
                .extend(self.first.iter().map(|&hash| (hash, 1)));
        }
        repeated
    }
}

#[cfg(test)]
impl RepeatCheck {
    /// The last page of the window that held `hash`, as remembered.
    fn held(&self, hash: u64) -> Option<u64> {
        self.current
            .get(&hash)
            .or_else(|| self.previous.get(&hash))
            .copied()
    }

    /// Ids remembered for the window (page 1's among them, in both maps at most).
    fn window_len(&self) -> usize {
        self.current.len() + self.previous.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ids(page: u64) -> Vec<String> {
        (0..100)
            .map(|row| format!("row-{}", page * 100 + row))
            .collect()
    }

    fn check(check: &mut RepeatCheck, ids: &[String]) -> Option<String> {
        let hashes = ids.iter().enumerate().map(|(i, id)| (i, hash_id(id)));
        check.page(hashes).map(|index| ids[index].clone())
    }

    #[test]
    fn distinct_rows_pass_and_memory_stays_bounded() {
        let mut seen = RepeatCheck::default();
        for page in 0..2_000 {
            assert_eq!(check(&mut seen, &ids(page)), None, "page {page}");
        }
        assert!(
            seen.window_len() <= 2 * WINDOW * 100 + 2 * 100,
            "{}",
            seen.window_len()
        );
        assert_eq!(seen.first.len(), 100);
        assert_eq!(seen.fingerprints.len(), 2_000);
    }

    #[test]
    fn page_one_again_is_caught_however_late() {
        let mut seen = RepeatCheck::default();
        for page in 0..500 {
            assert_eq!(check(&mut seen, &ids(page)), None);
        }
        assert_eq!(check(&mut seen, &ids(0)).as_deref(), Some("row-0"));
        // One row of page 1 mixed into a new page is caught too.
        let mut seen = RepeatCheck::default();
        for page in 0..500 {
            assert_eq!(check(&mut seen, &ids(page)), None);
        }
        let mut mixed = ids(500);
        mixed[40] = "row-7".into();
        assert_eq!(check(&mut seen, &mixed).as_deref(), Some("row-7"));
    }

    #[test]
    fn a_row_repeated_within_a_page_or_the_window_is_caught() {
        let mut seen = RepeatCheck::default();
        let mut page = ids(0);
        page[99] = page[3].clone();
        assert_eq!(check(&mut seen, &page).as_deref(), Some("row-3"));
        let mut seen = RepeatCheck::default();
        for page in 0..10 {
            assert_eq!(check(&mut seen, &ids(page)), None);
        }
        // Rows that moved: the start of page 11 repeats the end of page 10.
        let mut shifted = ids(10);
        shifted[0] = "row-999".into();
        assert_eq!(check(&mut seen, &shifted).as_deref(), Some("row-999"));
    }

    #[test]
    fn rows_held_by_two_pages_of_the_window_are_forgotten_when_both_leave_it() {
        // A caller may go on after a repeat: a row on two of the window's pages must be
        // forgotten once both have left it, or the memory grows.
        let mut seen = RepeatCheck::default();
        assert_eq!(check(&mut seen, &ids(0)), None);
        assert_eq!(check(&mut seen, &ids(1)), None);
        let mut again = ids(2);
        again[5] = "row-150".into();
        assert_eq!(check(&mut seen, &again).as_deref(), Some("row-150"));
        assert_eq!(
            seen.held(hash_id("row-150")),
            Some(3),
            "held by the third page read"
        );
        for page in 3..3 + 2 * WINDOW as u64 {
            assert_eq!(check(&mut seen, &ids(page)), None, "page {page}");
        }
        assert_eq!(seen.held(hash_id("row-150")), None);
        assert!(
            seen.window_len() <= 2 * WINDOW * 100 + 2 * 100,
            "{}",
            seen.window_len()
        );
    }

    #[test]
    fn a_row_is_caught_up_to_the_window_s_last_page_and_not_past_it() {
        // Page `k`'s row again on page `k + WINDOW` is a repeat; on page `k + WINDOW + 1` it
        // is past what the check remembers (unless page 1's). Every start, so the pruning
        // every `WINDOW` pages cannot drop an id too soon.
        for start in 1..=2 * WINDOW as u64 {
            for (later, caught) in [(WINDOW as u64, true), (WINDOW as u64 + 1, false)] {
                let mut seen = RepeatCheck::default();
                for page in 0..start + later {
                    assert_eq!(check(&mut seen, &ids(page)), None);
                }
                let mut again = ids(start + later);
                again[50] = format!("row-{}", start * 100 + 7);
                let found = check(&mut seen, &again);
                assert_eq!(
                    found.is_some(),
                    caught,
                    "start {start}, {later} pages later"
                );
            }
        }
    }

    #[test]
    fn a_whole_page_served_again_far_back_is_caught() {
        let mut seen = RepeatCheck::default();
        for page in 0..1_000 {
            assert_eq!(check(&mut seen, &ids(page)), None);
        }
        assert_eq!(check(&mut seen, &ids(300)).as_deref(), Some("row-30000"));
    }

    #[test]
    fn rows_without_ids_and_empty_pages_are_not_repeats() {
        let mut seen = RepeatCheck::default();
        assert_eq!(check(&mut seen, &[]), None);
        assert_eq!(check(&mut seen, &[]), None);
        assert_eq!(check(&mut seen, &ids(1)), None);
    }

    proptest! {
        /// Any pages of distinct ids pass; serving any earlier page again is caught.
        #[test]
        fn distinct_pages_pass_and_any_page_again_fails(
            sizes in proptest::collection::vec(1usize..20, 1..60),
            again in any::<prop::sample::Index>(),
        ) {
            let mut seen = RepeatCheck::default();
            let mut next = 0u64;
            let mut pages = Vec::new();
            for size in sizes {
                let page: Vec<String> = (0..size).map(|_| { next += 1; format!("{next:x}") }).collect();
                prop_assert_eq!(check(&mut seen, &page), None);
                pages.push(page);
            }
            let page = &pages[again.index(pages.len())];
            prop_assert!(check(&mut seen, page).is_some());
        }

        /// Page by page, the check finds the first row that a model remembering every page
        /// finds: a row held by this page already or by one of the [`WINDOW`] pages before
        /// it, or by page 1; or the first row of a page whose ids come again in order.
        #[test]
        fn the_check_is_a_model_that_remembers_every_page(
            pages in proptest::collection::vec(proptest::collection::vec(0u64..400, 0..12), 1..80),
        ) {
            let mut seen = RepeatCheck::default();
            let mut last_held: HashMap<u64, u64> = HashMap::new();
            let mut first: HashSet<u64> = HashSet::new();
            let mut whole: HashSet<Vec<u64>> = HashSet::new();
            for (read, ids) in pages.iter().enumerate() {
                let page = read as u64 + 1;
                let mut expected = None;
                for (index, &id) in ids.iter().enumerate() {
                    let in_window = last_held
                        .insert(id, page)
                        .is_some_and(|held| held + WINDOW as u64 >= page);
                    let repeat = if page == 1 { !first.insert(id) } else { in_window || first.contains(&id) };
                    if repeat && expected.is_none() {
                        expected = Some(index);
                    }
                }
                if !ids.is_empty() && !whole.insert(ids.clone()) {
                    expected = expected.or(Some(0));
                }
                let hashes = ids.iter().enumerate().map(|(i, &id)| (i, hash_id(&id.to_string())));
                prop_assert_eq!(seen.page(hashes), expected, "page {}", page);
                prop_assert!(seen.window_len() <= 2 * WINDOW * 12 + 2 * 12);
            }
        }
    }
}
