//! Redaction of secret values and tokens (being written).
