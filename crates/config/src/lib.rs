//! Brim's configuration (placeholder; see the config helper's work).
