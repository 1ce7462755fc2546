//! Conformance suites every implementation runs (feature `conformance`): one for [`Store`]s
//! ([`store`]), one for [`Remote`]s ([`remote`]), and the engine's end-to-end scenarios
//! ([`scenarios`]) for any pair of them.
//!
//! [`Store`]: crate::Store
//! [`Remote`]: crate::Remote

pub mod history;
pub mod remote;
pub mod scenarios;
pub mod store;

/// Runs a future to completion on a fresh multi-threaded runtime (used by the generated tests,
/// so implementers need no test macro of their own).
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt.block_on(future),
        Err(e) => panic!("cannot start a tokio runtime for the conformance suite: {e}"),
    }
}
