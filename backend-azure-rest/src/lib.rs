//! backend-azure-rest (work in progress).
