//! Integration tests of the simulator over loopback HTTP: tokens, paging,
//! filters, validation, memberships, notifications, faults and control.

mod common;
mod control;
mod faults;
mod fidelity;
mod filters;
mod memberships;
mod notifications;
mod paging;
mod tokens;
mod users;
