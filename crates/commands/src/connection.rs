//! Connection commands: PING, ECHO, HELLO, AUTH, SELECT, QUIT, RESET, CLIENT *.

use crate::ctx::Ctx;
use crate::table::{cmd, Registration};

/// The connection family.
pub const COMMANDS: &[Registration] = &[cmd("ping", ping)];

fn ping(ctx: &mut Ctx, args: &[&[u8]]) {
    match args.len() {
        1 => ctx.out.simple("PONG"),
        2 => ctx.out.bulk(args[1]),
        _ => ctx.error("ERR wrong number of arguments for 'ping' command"),
    }
}
