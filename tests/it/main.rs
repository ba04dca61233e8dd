//! The one end-to-end test binary (one binary links and runs faster than many).
//! Each module is an area: smoke, config and CLI, outbound, inbound, the agent,
//! safety (what a sync must never do).

mod bad_config;
mod bad_input;
mod browser;
mod bulk;
mod cli;
mod crash;
mod duo_fidelity;
mod enroll;
mod faults;
mod filter_agreement;
mod inbound;
mod live;
mod logs;
mod outage;
mod outbound;
mod output;
mod run;
mod safety;
mod scope;
mod secrets;
mod server;
mod smoke;
mod status;
mod support;
