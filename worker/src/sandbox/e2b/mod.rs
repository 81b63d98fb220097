//! E2B's cloud sandboxes (being written).
