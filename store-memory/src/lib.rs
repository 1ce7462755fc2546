//! store-memory (work in progress).
