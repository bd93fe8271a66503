//! The HyperLogLog family: PFADD, PFCOUNT, PFMERGE

use crate::table::Registration;

/// The HyperLogLog family.
pub const COMMANDS: &[Registration] = &[];
