//! The geo family: GEOADD, GEOSEARCH, GEORADIUS, ...

use crate::table::Registration;

/// The geo family.
pub const COMMANDS: &[Registration] = &[];
