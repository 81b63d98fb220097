//! The command guard (being written).
