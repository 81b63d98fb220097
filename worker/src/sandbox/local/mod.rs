//! Local sandboxes (being written).
