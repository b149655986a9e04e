use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::stream::{BoxStream, StreamExt};
use hasdata_model::{JobId, WebhookEvent};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use super::receiver::WebhookReceiver;

/// Events held for a job nobody has subscribed to yet (a webhook can beat the submit's
/// answer to the caller). Past this many in all, the oldest job's are let go, with a warning.
const MAX_UNCLAIMED: usize = 100_000;

#[derive(Default)]
struct Routes {
    subscribers: HashMap<JobId, mpsc::UnboundedSender<WebhookEvent>>,
    unclaimed: HashMap<JobId, Vec<WebhookEvent>>,
    unclaimed_order: Vec<JobId>,
    unclaimed_count: usize,
}

impl Routes {
    fn deliver(&mut self, event: WebhookEvent) {
        let job = event.job_id;
        if let Some(sender) = self.subscribers.get(&job) {
            if sender.send(event).is_ok() {
                return;
            }
            self.subscribers.remove(&job);
            return;
        }
        if !self.unclaimed.contains_key(&job) {
            self.unclaimed_order.push(job);
        }
        self.unclaimed.entry(job).or_default().push(event);
        self.unclaimed_count += 1;
        while self.unclaimed_count > MAX_UNCLAIMED && !self.unclaimed_order.is_empty() {
            let oldest = self.unclaimed_order.remove(0);
            let dropped = self
                .unclaimed
                .remove(&oldest)
                .map_or(0, |events| events.len());
            self.unclaimed_count -= dropped;
            tracing::warn!(job_id = %oldest, dropped, "no subscriber claimed these webhook events");
        }
    }
}

/// Splits one receiver's events by job, so many jobs can share one webhook URL.
pub struct WebhookRouter {
    routes: Arc<Mutex<Routes>>,
    task: AbortHandle,
}

impl std::fmt::Debug for WebhookRouter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookRouter")
    }
}

impl WebhookRouter {
    /// Starts routing the receiver's events.
    pub fn new(mut receiver: WebhookReceiver) -> Self {
        let routes = Arc::new(Mutex::new(Routes::default()));
        let routing = routes.clone();
        let task = tokio::spawn(async move {
            while let Some(received) = receiver.next().await {
                routing
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .deliver(received.event);
            }
        });
        WebhookRouter {
            routes,
            task: task.abort_handle(),
        }
    }

    /// The events of one job, those that arrived before this call first.
    pub fn subscribe(&self, job: JobId) -> BoxStream<'static, WebhookEvent> {
        let (sender, receiver) = mpsc::unbounded_channel();
        let mut routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(earlier) = routes.unclaimed.remove(&job) {
            routes.unclaimed_count -= earlier.len();
            routes.unclaimed_order.retain(|j| *j != job);
            for event in earlier {
                let _ = sender.send(event);
            }
        }
        routes.subscribers.insert(job, sender);
        futures::stream::unfold(receiver, |mut receiver| async move {
            receiver.recv().await.map(|event| (event, receiver))
        })
        .boxed()
    }
}

impl Drop for WebhookRouter {
    fn drop(&mut self) {
        self.task.abort();
    }
}
