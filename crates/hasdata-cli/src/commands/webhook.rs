//! `hasdata webhook listen`: print received events as JSON lines.
//!
//! An event is acknowledged (200) only once its line is written and flushed: the receiver runs
//! with confirmation on. When stdout breaks (its reader went away), the listener stops
//! accepting (503, so HasData keeps the events for a retry) and exits 1 with a clear message.

use std::io::Write;
use std::net::SocketAddr;

use hasdata_jobs::webhooks::{ReceiverConfig, WebhookReceiver};
use http::HeaderName;

use super::Interrupt;
use crate::args::ListenArgs;
use crate::context::Ctx;
use crate::fail::{Failure, code};

pub async fn listen(ctx: &Ctx, args: &ListenArgs) -> Result<(), Failure> {
    let mut interrupt = Interrupt::listen();
    let (name, value) = args
        .secret_header
        .split_once(':')
        .filter(|(name, value)| !name.trim().is_empty() && !value.is_empty())
        .ok_or_else(|| {
            Failure::usage("--secret-header takes NAME:VALUE, e.g. x-hook-secret:s3cret")
        })?;
    let header = HeaderName::try_from(name.trim())
        .map_err(|_| Failure::usage(format!("{name:?} is not a header name")))?;
    let config = ReceiverConfig {
        path: args.path.clone(),
        confirm: true,
        ..ReceiverConfig::new(
            SocketAddr::from(([127, 0, 0, 1], args.port)),
            header,
            value.trim(),
        )
    };
    let mut receiver = WebhookReceiver::bind(config).await?;
    ctx.note(format!(
        "listening on {} (put an HTTPS proxy in front for HasData)",
        receiver.url()
    ));
    loop {
        tokio::select! {
            received = receiver.next() => match received {
                Some(received) => {
                    let line = serde_json::to_string(&received.event).unwrap_or_default();
                    let mut out = std::io::stdout().lock();
                    match writeln!(out, "{line}").and_then(|()| out.flush()) {
                        Ok(()) => received.delivered(),
                        Err(error) => {
                            receiver.close();
                            drop(received);
                            return Err(Failure::new(
                                code::OTHER,
                                format!("cannot write events to stdout ({error}): stopped accepting; undelivered events were answered 503, so HasData sends them again"),
                            ));
                        }
                    }
                }
                None => return Ok(()),
            },
            () = interrupt.wait() => return Ok(()),
        }
    }
}
