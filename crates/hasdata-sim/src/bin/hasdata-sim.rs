//! `hasdata-sim`: run the Scraper Jobs API simulator on 127.0.0.1.

use std::process::ExitCode;

use clap::Parser;
use hasdata_sim::Simulator;
use hasdata_sim::cli::SimArgs;

/// A local, faithful simulator of HasData's Scraper Jobs API. Point any HasData client at the
/// base URL it prints; no credits are spent and nothing leaves this machine.
#[derive(Debug, Parser)]
#[command(name = "hasdata-sim", version)]
struct Args {
    #[command(flatten)]
    sim: SimArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let config = match Args::parse().sim.config() {
        Ok(config) => config,
        Err(message) => {
            eprintln!("hasdata-sim: {message}");
            return ExitCode::from(2);
        }
    };
    let sim = match Simulator::start(config).await {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("hasdata-sim: could not start: {e}");
            return ExitCode::FAILURE;
        }
    };
    hasdata_sim::cli::print_banner(&sim);
    let _ = tokio::signal::ctrl_c().await;
    sim.shutdown();
    ExitCode::SUCCESS
}
