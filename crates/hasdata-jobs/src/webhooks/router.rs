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
        let Some(job) = event.job() else {
            tracing::warn!(
                job_id = ?event.job_id,
                event = %event.event,
                "a webhook event without a usable job id; it cannot be routed to a job"
            );
            return;
        };
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

impl Routes {
    /// Takes the events held for `job` (oldest first), for its new subscriber.
    fn claim(&mut self, job: JobId) -> Vec<WebhookEvent> {
        let Some(earlier) = self.unclaimed.remove(&job) else {
            return Vec::new();
        };
        self.unclaimed_count -= earlier.len();
        self.unclaimed_order.retain(|j| *j != job);
        earlier
    }
}

/// Splits one receiver's events by job, so many jobs can share one webhook URL.
///
/// ```
/// # async fn post(url: &str, secret: &str, body: &str) -> Result<u16, Box<dyn std::error::Error>> {
/// #     use hasdata_transport::Transport;
/// #     let http = hasdata_transport::ReqwestTransport::builder().build()?;
/// #     let request = http::Request::post(url).header("x-hook-secret", secret).body(bytes::Bytes::from(body.to_owned()))?;
/// #     Ok(http.send(request).await?.status().as_u16())
/// # }
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # use hasdata_jobs::webhooks::{ReceiverConfig, WebhookReceiver};
/// # let config = ReceiverConfig::new("127.0.0.1:0".parse()?, "x-hook-secret".parse()?, "s3cret");
/// # let mut receiver = WebhookReceiver::bind(config).await?;
/// use hasdata_jobs::prelude::*;
/// use hasdata_jobs::webhooks::WebhookRouter;
///
/// let url = receiver.url();
/// let router = WebhookRouter::new(receiver);
/// let mut job_8 = router.subscribe(JobId::from(8));
/// post(&url, "s3cret", r#"{"event": "scraper.job.started", "jobId": 7}"#).await?;
/// post(&url, "s3cret", r#"{"event": "scraper.job.started", "jobId": 8}"#).await?;
/// assert_eq!(job_8.next().await.and_then(|event| event.job()), Some(JobId::from(8)));
/// # Ok(())
/// # }
/// ```
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
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use hasdata_jobs::webhooks::{ReceiverConfig, WebhookReceiver};
    ///
    /// let config = ReceiverConfig::new("127.0.0.1:0".parse()?, "x-hook-secret".parse()?, "s3cret");
    /// let mut receiver = WebhookReceiver::bind(config).await?;
    /// // One receiver, one URL, for every job; the router splits the events by job.
    /// let router = hasdata_jobs::webhooks::WebhookRouter::new(receiver);
    /// # drop(router);
    /// # Ok(())
    /// # }
    /// ```
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
    ///
    /// ```
    /// # async fn post(url: &str, secret: &str, body: &str) -> Result<u16, Box<dyn std::error::Error>> {
    /// #     use hasdata_transport::Transport;
    /// #     let http = hasdata_transport::ReqwestTransport::builder().build()?;
    /// #     let request = http::Request::post(url).header("x-hook-secret", secret).body(bytes::Bytes::from(body.to_owned()))?;
    /// #     Ok(http.send(request).await?.status().as_u16())
    /// # }
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use hasdata_jobs::webhooks::{ReceiverConfig, WebhookReceiver};
    /// # let config = ReceiverConfig::new("127.0.0.1:0".parse()?, "x-hook-secret".parse()?, "s3cret");
    /// # let mut receiver = WebhookReceiver::bind(config).await?;
    /// use hasdata_jobs::prelude::*;
    /// use hasdata_jobs::webhooks::WebhookRouter;
    ///
    /// let url = receiver.url();
    /// let router = WebhookRouter::new(receiver);
    /// // An event that comes before the subscription is held for it.
    /// post(&url, "s3cret", r#"{"event": "scraper.job.started", "jobId": 9}"#).await?;
    /// # tokio::time::sleep(std::time::Duration::from_millis(100)).await; // let the router take it
    /// let mut events = router.subscribe(JobId::from(9));
    /// assert_eq!(events.next().await.map(|event| event.event), Some(WebhookEventName::JobStarted));
    /// # Ok(())
    /// # }
    /// ```
    pub fn subscribe(&self, job: JobId) -> BoxStream<'static, WebhookEvent> {
        let (sender, receiver) = mpsc::unbounded_channel();
        let mut routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        for event in routes.claim(job) {
            let _ = sender.send(event);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn event(job: u64) -> WebhookEvent {
        serde_json::from_value(serde_json::json!({"event": "scraper.job.started", "jobId": job}))
            .expect("an event")
    }

    #[test]
    fn unclaimed_events_are_held_up_to_the_limit_then_the_oldest_jobs_let_go() {
        let mut routes = Routes::default();
        routes.deliver(event(1));
        routes.deliver(event(2));
        for _ in 0..MAX_UNCLAIMED - 1 {
            routes.deliver(event(3));
        }
        // 1 + 1 + 99,999: one over the limit, so job 1 (the oldest) goes.
        assert!(!routes.unclaimed.contains_key(&JobId::from(1)));
        assert_eq!(routes.unclaimed[&JobId::from(2)].len(), 1);
        assert_eq!(routes.unclaimed_count, MAX_UNCLAIMED);
        assert_eq!(routes.unclaimed_order, [JobId::from(2), JobId::from(3)]);
        routes.deliver(event(3));
        assert!(
            !routes.unclaimed.contains_key(&JobId::from(2)),
            "then job 2"
        );
        assert_eq!(routes.unclaimed_count, MAX_UNCLAIMED);
    }

    #[test]
    fn a_subscriber_gets_its_jobs_events_and_a_gone_one_is_forgotten() {
        let mut routes = Routes::default();
        let (sender, mut receiver) = mpsc::unbounded_channel();
        routes.subscribers.insert(JobId::from(5), sender);
        routes.deliver(event(5));
        routes.deliver(event(6));
        assert_eq!(
            receiver.try_recv().expect("delivered").job(),
            Some(JobId::from(5))
        );
        assert!(receiver.try_recv().is_err(), "another job's event is not");
        assert_eq!(routes.unclaimed_count, 1, "job 6's is held");
        drop(receiver);
        routes.deliver(event(5));
        assert!(!routes.subscribers.contains_key(&JobId::from(5)));
        assert!(
            !routes.unclaimed.contains_key(&JobId::from(5)),
            "an event for a dropped subscriber is not held"
        );
    }

    #[test]
    fn claiming_a_jobs_events_takes_them_out_of_the_count_and_the_order() {
        let mut routes = Routes::default();
        routes.deliver(event(1));
        routes.deliver(event(2));
        routes.deliver(event(2));
        let claimed = routes.claim(JobId::from(1));
        assert_eq!(claimed.len(), 1);
        assert_eq!(routes.unclaimed_count, 2);
        assert_eq!(routes.unclaimed_order, [JobId::from(2)]);
        assert!(routes.claim(JobId::from(7)).is_empty());
        assert_eq!(routes.claim(JobId::from(2)).len(), 2);
        assert_eq!(routes.unclaimed_count, 0);
        assert!(routes.unclaimed_order.is_empty());
    }
}
