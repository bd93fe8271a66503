//! Server commands: INFO, CONFIG, DBSIZE, FLUSHDB/FLUSHALL, SWAPDB, TIME, SLOWLOG, DEBUG,
//! SHUTDOWN, MONITOR, LASTSAVE, WAIT.

use crate::table::Registration;

/// The server family.
pub const COMMANDS: &[Registration] = &[];
