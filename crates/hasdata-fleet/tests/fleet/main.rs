//! hasdata-fleet against a real PostgreSQL (hasdata-testpg's throwaway cluster) and
//! hasdata-sim. Without PostgreSQL installed these tests say so and pass (they fail under CI).

#![allow(clippy::unwrap_used, missing_docs)]

mod events;
mod measure;
mod outage;
mod pg_sink;
mod queue;
mod worker;

use hasdata_fleet::{NewItem, Queue};
use hasdata_testpg::TestPg;
use serde_json::json;

/// A fresh queue in a fresh database, or `None` without PostgreSQL.
async fn fresh_queue() -> Option<(Queue, String)> {
    let pg = TestPg::shared().await?;
    let url = pg.fresh_database().await;
    let queue = Queue::connect(&url, 4).await.expect("queue");
    Some((queue, url))
}

/// `n` distinct contacts bodies, item `i` with `i % 3 + 1` urls.
fn contacts_items(n: usize) -> Vec<NewItem> {
    (0..n)
        .map(|i| NewItem {
            slug: "contacts".into(),
            body: json!({"urls": (0..i % 3 + 1).map(|u| format!("https://site{i}.example/{u}")).collect::<Vec<_>>()}),
            origin: Some(format!("bodies.jsonl:{}", i + 1)),
        })
        .collect()
}
