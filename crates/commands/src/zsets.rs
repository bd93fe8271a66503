//! The sorted set family: ZADD, ZRANGE, ZUNIONSTORE, ...

use crate::table::Registration;

/// The sorted set family.
pub const COMMANDS: &[Registration] = &[];
