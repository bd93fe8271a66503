//! COMMAND and its subcommands: COUNT, INFO, DOCS, LIST, GETKEYS.

use crate::table::Registration;

/// The COMMAND family.
pub const COMMANDS: &[Registration] = &[];
