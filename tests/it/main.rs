//! The one end-to-end test binary (one binary links and runs faster than many).
//! Each module is an area: smoke, config and CLI, outbound, inbound, the agent.

mod bad_config;
mod bad_input;
mod cli;
mod crash;
mod faults;
mod inbound;
mod outage;
mod outbound;
mod run;
mod secrets;
mod smoke;
mod support;
