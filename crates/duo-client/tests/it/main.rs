//! duo-client integration tests: one binary (links once) with a module per
//! area. Scripted-transport tests run under tokio's paused time; simulator
//! tests talk to an in-process duo-sim on 127.0.0.1.

mod bulk;
mod errors;
mod fidelity;
mod mock;
mod paging;
mod props;
mod retry;
mod sim;
