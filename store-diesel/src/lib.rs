//! store-diesel (work in progress).
