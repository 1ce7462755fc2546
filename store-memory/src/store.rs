//! MemoryStore (in progress).
