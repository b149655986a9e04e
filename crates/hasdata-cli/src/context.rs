//! What every command needs: output mode, the client, the ledger, the progress display.

use std::sync::Arc;

use hasdata_jobs::{Client, JobLedger};
use serde_json::Value;

use crate::args::Global;
use crate::fail::{Failure, code};
use crate::ledger::{self, SqliteLedger};
use crate::progress::Display;

/// The command's environment.
pub struct Ctx {
    pub global: Global,
    pub display: Display,
}

impl Ctx {
    pub fn new(global: Global) -> Self {
        let wanted = !(global.no_progress || global.quiet || global.json);
        Ctx {
            display: Display::new(wanted),
            global,
        }
    }

    /// Prints a result: the human line, or the JSON object with `--json`.
    pub fn emit(&self, human: impl FnOnce() -> String, json: Value) {
        if self.global.json {
            println!("{json}");
        } else if !self.global.quiet {
            println!("{}", human());
        }
    }

    /// A note on stderr (not with `--json` or `-q`).
    pub fn note(&self, text: impl AsRef<str>) {
        if !self.global.json && !self.global.quiet {
            eprintln!("{}", text.as_ref());
        }
    }

    /// The ledger of the base URL in use.
    pub fn ledger(&self) -> Result<Arc<SqliteLedger>, Failure> {
        let path = self
            .global
            .ledger
            .clone()
            .unwrap_or_else(ledger::default_path);
        let ledger = SqliteLedger::open(&path, &self.global.base_url).map_err(|e| {
            Failure::new(
                code::OTHER,
                format!("cannot open the ledger at {}: {e}", path.display()),
            )
        })?;
        Ok(Arc::new(ledger))
    }

    /// A client recording submits in `ledger`.
    pub fn client(
        &self,
        ledger: Arc<dyn JobLedger>,
        page_concurrency: usize,
    ) -> Result<Client, Failure> {
        let Some(key) = self
            .global
            .api_key
            .as_deref()
            .filter(|k| !k.trim().is_empty())
        else {
            return Err(Failure::usage(
                "no API key: set HASDATA_API_KEY or pass --api-key (`hasdata demo` needs none)",
            ));
        };
        let local = !self.global.base_url.contains(hasdata_jobs::HASDATA_HOST);
        Client::builder()
            .api_key(key)
            .base_url(&self.global.base_url)
            .ledger(ledger)
            .page_concurrency(page_concurrency)
            .allow_http_webhooks(local)
            .build()
            .map_err(Failure::from)
    }
}
