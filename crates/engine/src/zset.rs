//! The sorted set type in its big encoding (small ones are packed inline in their entry; see
//! `crate::packed`).

/// A sorted set too big to be packed.
#[derive(Debug, Clone, Default)]
pub struct ZSet {}

impl ZSet {
    /// The name OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        "hashtable"
    }

    /// Bytes allocated for the value (MEMORY USAGE).
    pub fn memory_usage(&self) -> usize {
        0
    }
}
