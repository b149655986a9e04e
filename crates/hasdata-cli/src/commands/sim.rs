//! `hasdata sim`: the simulator, in this binary.

use hasdata_sim::Simulator;
use hasdata_sim::cli::SimArgs;

use super::Signals;
use crate::fail::Failure;

pub async fn run(args: &SimArgs) -> Result<(), Failure> {
    let config = args.config().map_err(Failure::usage)?;
    let sim = Simulator::start(config).await?;
    hasdata_sim::cli::print_banner(&sim);
    Signals::listen().wait().await;
    Ok(())
}
