//! The hash family: HSET, HGET, HGETALL, ...

use crate::table::Registration;

/// The hash family.
pub const COMMANDS: &[Registration] = &[];
