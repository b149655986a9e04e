//! `hasdata webhook listen`: print received events as JSON lines.

use std::net::SocketAddr;

use hasdata_jobs::webhooks::{ReceiverConfig, WebhookReceiver};
use http::HeaderName;

use super::Interrupt;
use crate::args::ListenArgs;
use crate::context::Ctx;
use crate::fail::Failure;

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
                Some(received) => println!("{}", serde_json::to_string(&received.event).unwrap_or_default()),
                None => return Ok(()),
            },
            () = interrupt.wait() => return Ok(()),
        }
    }
}
