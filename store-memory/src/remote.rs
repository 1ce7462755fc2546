//! MemoryRemote (in progress).
