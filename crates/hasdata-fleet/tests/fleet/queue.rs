//! The queue's rules: one item per body, counts, the cap, leases and their fences.

use std::time::Duration;

use hasdata_fleet::{ItemState, NewItem, Resolution};
use serde_json::json;

use crate::{contacts_items, fresh_queue};

#[tokio::test]
async fn the_same_body_twice_is_one_item() {
    let Some((queue, _)) = fresh_queue().await else {
        return;
    };
    let mut items = contacts_items(5);
    // The same body with other spacing and key order, and an exact repeat.
    items.push(NewItem {
        slug: "contacts".into(),
        body: serde_json::from_str(r#"{ "urls" : ["https://site0.example/0"] }"#).unwrap(),
        origin: Some("bodies.jsonl:6".into()),
    });
    items.push(items[1].clone());
    let report = queue.add(&items).await.unwrap();
    assert_eq!((report.added, report.duplicates), (5, 2));
    let again = queue.add(&contacts_items(6)).await.unwrap();
    assert_eq!((again.added, again.duplicates), (1, 5));
    let status = queue.status().await.unwrap();
    assert_eq!(status.total, 6);
    assert_eq!(status.counts[&ItemState::Queued], 6);
    assert_eq!(status.counts[&ItemState::Done], 0, "every state is counted");
}

#[tokio::test]
async fn claims_stop_at_the_cap_and_resume_when_a_slot_frees() {
    let Some((queue, _)) = fresh_queue().await else {
        return;
    };
    queue.add(&contacts_items(10)).await.unwrap();
    queue.set_max_running(3).await.unwrap();
    let lease = Duration::from_secs(60);
    let mut held = Vec::new();
    for n in 0..3 {
        let item = queue
            .claim("w1", lease, &format!("key-{n}"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(item.state, ItemState::Submitting);
        assert_eq!(
            item.intent_key.as_deref(),
            Some(format!("key-{n}").as_str())
        );
        held.push(item);
    }
    assert_eq!(
        queue.claim("w2", lease, "key-x").await.unwrap(),
        None,
        "the cap is full"
    );
    // A running job keeps its slot; one that finished (collecting) frees it.
    assert!(queue.set_running(held[0].id, "w1", "100").await.unwrap());
    assert_eq!(queue.claim("w2", lease, "key-x").await.unwrap(), None);
    assert!(queue.set_collecting(held[0].id, "w1").await.unwrap());
    let next = queue.claim("w2", lease, "key-4").await.unwrap().unwrap();
    assert_eq!(next.id, held[2].id + 1, "the oldest queued item");
    assert_eq!(queue.claim("w2", lease, "key-y").await.unwrap(), None);
}

#[tokio::test]
async fn many_concurrent_claimers_never_pass_the_cap() {
    let Some((queue, _)) = fresh_queue().await else {
        return;
    };
    queue.add(&contacts_items(40)).await.unwrap();
    queue.set_max_running(4).await.unwrap();
    let claimers = (0..12).map(|w| {
        let queue = queue.clone();
        async move {
            let mut got = Vec::new();
            for n in 0..5 {
                if let Some(item) = queue
                    .claim(
                        &format!("w{w}"),
                        Duration::from_secs(60),
                        &format!("k{w}-{n}"),
                    )
                    .await
                    .unwrap()
                {
                    got.push(item.id);
                }
            }
            got
        }
    });
    let claimed: Vec<i64> = futures::future::join_all(claimers).await.concat();
    assert_eq!(
        claimed.len(),
        4,
        "exactly the cap, however many claim at once"
    );
    let status = queue.status().await.unwrap();
    assert_eq!(status.counts[&ItemState::Submitting], 4);
}

#[tokio::test]
async fn an_expired_lease_is_taken_over_and_fences_the_old_holder() {
    let Some((queue, _)) = fresh_queue().await else {
        return;
    };
    queue.add(&contacts_items(1)).await.unwrap();
    let first = queue
        .claim("old", Duration::from_secs(1), "k1")
        .await
        .unwrap()
        .unwrap();
    assert!(queue.set_running(first.id, "old", "7").await.unwrap());
    // A heartbeat keeps it; without one it runs out.
    assert_eq!(
        queue
            .heartbeat("old", Duration::from_secs(1))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        queue
            .claim("new", Duration::from_secs(60), "k2")
            .await
            .unwrap(),
        None
    );
    let taken = loop {
        if let Some(item) = queue
            .claim("new", Duration::from_secs(60), "k2")
            .await
            .unwrap()
        {
            break item;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(taken.id, first.id);
    assert_eq!(taken.state, ItemState::Running, "taken over where it was");
    assert_eq!(taken.job_id.as_deref(), Some("7"), "with the same job id");
    assert_eq!(
        taken.intent_key.as_deref(),
        Some("k1"),
        "and the same intent key"
    );
    assert_eq!(taken.claims, 2);
    assert!(
        !queue.set_collecting(first.id, "old").await.unwrap(),
        "the old holder is fenced off"
    );
    assert_eq!(
        queue
            .heartbeat("old", Duration::from_secs(60))
            .await
            .unwrap(),
        0
    );
    assert!(queue.set_collecting(taken.id, "new").await.unwrap());
    assert!(
        queue
            .finish(taken.id, "new", 3, "/out/7.jsonl")
            .await
            .unwrap()
    );
    let listed = queue.list(Some(ItemState::Done), 10).await.unwrap();
    assert_eq!(listed[0].rows, Some(3));
}

#[tokio::test]
async fn a_handed_back_item_is_claimable_at_once_and_a_requeued_one_gets_a_new_key() {
    let Some((queue, _)) = fresh_queue().await else {
        return;
    };
    queue.add(&contacts_items(2)).await.unwrap();
    let a = queue
        .claim("w1", Duration::from_secs(60), "ka")
        .await
        .unwrap()
        .unwrap();
    assert!(queue.set_running(a.id, "w1", "9").await.unwrap());
    assert!(
        queue
            .hand_back(a.id, "w1", ItemState::Running, None, Duration::ZERO)
            .await
            .unwrap()
    );
    let again = queue
        .claim("w2", Duration::from_secs(60), "kz")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((again.id, again.state), (a.id, ItemState::Running));

    let b = queue
        .claim("w2", Duration::from_secs(60), "kb")
        .await
        .unwrap()
        .unwrap();
    assert!(
        queue
            .requeue(b.id, "w2", "HTTP 429: slow down", Duration::ZERO)
            .await
            .unwrap()
    );
    let b2 = queue
        .claim("w3", Duration::from_secs(60), "kb2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((b2.id, b2.intent_key.as_deref()), (b.id, Some("kb2")));
}

#[tokio::test]
async fn a_parked_item_waits_for_a_person() {
    let Some((queue, _)) = fresh_queue().await else {
        return;
    };
    queue
        .add(&[NewItem {
            slug: "contacts".into(),
            body: json!({"urls": ["https://a.example"]}),
            origin: None,
        }])
        .await
        .unwrap();
    let item = queue
        .claim("w", Duration::from_secs(1), "kp")
        .await
        .unwrap()
        .unwrap();
    assert!(
        queue
            .park(item.id, "w", ItemState::Submitting, "unsure")
            .await
            .unwrap()
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        queue
            .claim("w", Duration::from_secs(1), "kq")
            .await
            .unwrap(),
        None,
        "never claimed"
    );
    assert_eq!(
        queue
            .resolve(item.id, &Resolution::NotCreated)
            .await
            .unwrap(),
        Some(Some("kp".into())),
        "the key it was parked with, for the ledger"
    );
    assert_eq!(
        queue
            .resolve(item.id, &Resolution::NotCreated)
            .await
            .unwrap(),
        None,
        "not parked any more"
    );
    let again = queue
        .claim("w", Duration::from_secs(1), "kr")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.intent_key.as_deref(), Some("kr"));
    assert!(
        queue
            .park(item.id, "w", ItemState::Submitting, "unsure")
            .await
            .unwrap()
    );
    queue
        .resolve(item.id, &Resolution::Created("55".into()))
        .await
        .unwrap();
    let running = queue
        .claim("w", Duration::from_secs(1), "ks")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (running.state, running.job_id.as_deref()),
        (ItemState::Running, Some("55"))
    );
}

/// A job a person gives to one parked item cannot be given to a second one (both would
/// collect and write its rows); the refusal names the item that has it and changes nothing.
#[tokio::test]
async fn one_job_is_never_resolved_into_two_items() {
    let Some((queue, _)) = fresh_queue().await else {
        return;
    };
    queue.add(&contacts_items(2)).await.unwrap();
    let mut parked = Vec::new();
    for key in ["ka", "kb"] {
        let item = queue
            .claim("w", Duration::from_secs(60), key)
            .await
            .unwrap()
            .unwrap();
        assert!(
            queue
                .park(item.id, "w", ItemState::Submitting, "unsure")
                .await
                .unwrap()
        );
        parked.push(item.id);
    }
    let (a, b) = (parked[0], parked[1]);
    queue
        .resolve(a, &Resolution::Created("77".into()))
        .await
        .unwrap()
        .unwrap();
    match queue.resolve(b, &Resolution::Created("77".into())).await {
        Err(hasdata_fleet::FleetError::JobTaken { job_id, item }) => {
            assert_eq!((job_id.as_str(), item), ("77", a));
        }
        other => panic!("a second item took job 77: {other:?}"),
    }
    assert_eq!(queue.state_of(b).await.unwrap(), Some(ItemState::Parked));
    assert_eq!(queue.state_of(a).await.unwrap(), Some(ItemState::Running));
    assert_eq!(queue.state_of(i64::MAX).await.unwrap(), None);
    // Resolving the item that has the job again with its own job is not a conflict.
    assert_eq!(
        queue
            .resolve(a, &Resolution::Created("77".into()))
            .await
            .unwrap(),
        None,
        "not parked any more"
    );
}
