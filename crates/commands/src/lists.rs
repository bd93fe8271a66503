//! The list family: LPUSH, LRANGE, BLPOP, ...

use crate::table::Registration;

/// The list family.
pub const COMMANDS: &[Registration] = &[];
