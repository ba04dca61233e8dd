//! The one end-to-end test binary (one binary links and runs faster than many).
//! Each module is an area: smoke, config and CLI, outbound, inbound, the agent.

mod cli;
mod faults;
mod inbound;
mod outbound;
mod run;
mod smoke;
mod support;
