//! The bitmap family: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD

use crate::table::Registration;

/// The bitmap family.
pub const COMMANDS: &[Registration] = &[];
