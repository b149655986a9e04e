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
use crate::secret;

pub async fn listen(ctx: &Ctx, args: &ListenArgs) -> Result<(), Failure> {
    let mut interrupt = Interrupt::listen();
    let (name, value) = secret_header(args)?;
    let header = HeaderName::try_from(name.trim())
        .map_err(|_| Failure::usage(format!("{name:?} is not a header name")))?;
    let config = ReceiverConfig {
        path: args.path.clone(),
        confirm: true,
        ..ReceiverConfig::new(
            SocketAddr::from(([127, 0, 0, 1], args.port)),
            header,
            value.trim().to_owned(),
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

/// The secret header's name and value: `--secret-header NAME:VALUE` (visible in process
/// listings), or `--secret-header-name NAME` with the value from `--secret-file` or
/// HASDATA_WEBHOOK_SECRET.
fn secret_header(args: &ListenArgs) -> Result<(String, String), Failure> {
    if let Some(pair) = &args.secret_header {
        return pair
            .split_once(':')
            .filter(|(name, value)| !name.trim().is_empty() && !value.trim().is_empty())
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .ok_or_else(|| {
                Failure::usage("--secret-header takes NAME:VALUE, e.g. x-hook-secret:s3cret")
            });
    }
    let name = args
        .secret_header_name
        .clone()
        .filter(|name| !name.trim().is_empty())
        .ok_or_else(|| {
            Failure::usage("--secret-header-name NAME (or --secret-header NAME:VALUE) is needed")
        })?;
    let value = match &args.secret_file {
        Some(path) => secret::read_file("--secret-file", path)?,
        None => secret::from_env("HASDATA_WEBHOOK_SECRET").ok_or_else(|| {
            Failure::usage(
                "--secret-header-name needs its value: set HASDATA_WEBHOOK_SECRET or pass --secret-file PATH",
            )
        })?,
    };
    Ok((name, value))
}
