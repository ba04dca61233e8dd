//! `p1duo`: the command line over the `agent` library. Nothing else lives here.

use clap::Parser;

/// Keep Duo Security in step with PingOne.
#[derive(Parser)]
#[command(name = "p1duo", version, about)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
}
