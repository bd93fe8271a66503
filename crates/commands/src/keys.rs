//! Generic key commands: DEL, EXISTS, EXPIRE, TTL, SCAN, RENAME, OBJECT, ...

use crate::table::Registration;

/// The keys family.
pub const COMMANDS: &[Registration] = &[];
