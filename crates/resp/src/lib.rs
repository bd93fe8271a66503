//! RESP2/RESP3 codec: a zero-copy request parser (multibulk and inline) and a reply writer.
//! No I/O and no keyspace: bytes in, bytes out.

pub mod number;
pub mod parse;
pub mod reply;

pub use parse::{Args, ParseLimits, Parser, ProtoError};
pub use reply::{Aggregate, Deferred, Reply};
