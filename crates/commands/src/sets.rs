//! The set family: SADD, SMEMBERS, SINTER, ...

use crate::table::Registration;

/// The set family.
pub const COMMANDS: &[Registration] = &[];
