//! COMMAND and its subcommands: COUNT, INFO, DOCS, LIST, GETKEYS, GETKEYSANDFLAGS, HELP.
//! Everything comes from the command table, so only commands Brim implements are listed.

use brim_glob::glob_match;

use crate::args::{is, SYNTAX};
use crate::ctx::Ctx;
use crate::spec::reply::{get_keys, write_docs, write_info, ERR_INVALID_COMMAND};
use crate::spec::{lookup, CommandSpec, ACL_CATEGORIES};
use crate::table::{cmd, Command, Registration};

/// The COMMAND family.
pub const COMMANDS: &[Registration] = &[
    cmd("command", command_all),
    cmd("command|count", count),
    cmd("command|info", info),
    cmd("command|docs", docs),
    cmd("command|list", list),
    cmd("command|getkeys", getkeys),
    cmd("command|getkeysandflags", getkeys),
    cmd("command|help", help),
];

fn command_all(ctx: &mut Ctx, _args: &[&[u8]]) {
    let table = &ctx.shared.table;
    ctx.out.array(table.iter().count());
    for c in table.iter() {
        write_info(ctx.out, c.spec);
    }
}

fn count(ctx: &mut Ctx, _args: &[&[u8]]) {
    ctx.out.int(ctx.shared.table.iter().count() as i64);
}

/// The implemented command `args` names (`config get` names the subcommand).
fn implemented<'t>(ctx: &Ctx<'t>, name: &[u8]) -> Option<&'t Command> {
    let table = &ctx.shared.table;
    match name.iter().position(|&b| b == b'|') {
        Some(i) => table.get(&name[..i])?.subcommands.get(&name[i + 1..].to_ascii_lowercase()),
        None => table.get(name),
    }
}

fn info(ctx: &mut Ctx, args: &[&[u8]]) {
    if args.len() == 2 {
        return command_all(ctx, args);
    }
    ctx.out.array(args.len() - 2);
    for name in &args[2..] {
        match implemented(ctx, name) {
            Some(c) => write_info(ctx.out, c.spec),
            None => ctx.out.null(),
        }
    }
}

fn docs(ctx: &mut Ctx, args: &[&[u8]]) {
    let found: Vec<&Command> = if args.len() == 2 {
        ctx.shared.table.iter().collect()
    } else {
        args[2..].iter().filter_map(|n| implemented(ctx, n)).collect()
    };
    ctx.out.map(found.len());
    for c in found {
        ctx.out.bulk(c.full_name().as_bytes());
        write_docs(ctx.out, c.spec);
    }
}

fn list(ctx: &mut Ctx, args: &[&[u8]]) {
    enum Filter<'a> {
        All,
        Module,
        AclCat(Option<u64>),
        Pattern(&'a [u8]),
    }
    let filter = match args.len() {
        2 => Filter::All,
        5 if is(args[2], "filterby") => {
            if is(args[3], "module") {
                Filter::Module
            } else if is(args[3], "aclcat") {
                let bit = ACL_CATEGORIES.iter().position(|c| c.as_bytes().eq_ignore_ascii_case(args[4]));
                Filter::AclCat(bit.map(|b| 1u64 << b))
            } else if is(args[3], "pattern") {
                Filter::Pattern(args[4])
            } else {
                return ctx.error(SYNTAX);
            }
        }
        _ => return ctx.error(SYNTAX),
    };
    let names: Vec<String> = ctx
        .shared
        .table
        .iter_all()
        .filter(|c| match &filter {
            Filter::All => true,
            Filter::Module => false,
            Filter::AclCat(None) => false,
            Filter::AclCat(Some(bit)) => c.spec.acl_categories & bit != 0,
            Filter::Pattern(p) => glob_match(p, c.full_name().as_bytes(), true),
        })
        .map(|c| c.full_name())
        .collect();
    ctx.out.array(names.len());
    for n in names {
        ctx.out.bulk(n.as_bytes());
    }
}

fn getkeys(ctx: &mut Ctx, args: &[&[u8]]) {
    let with_flags = is(args[1], "getkeysandflags");
    let target = &args[2..];
    let Some(spec) = lookup(target) else {
        return ctx.error(&format!("ERR {ERR_INVALID_COMMAND}"));
    };
    match get_keys(spec, target) {
        Err(e) => ctx.error(&format!("ERR {e}")),
        Ok(keys) => {
            ctx.out.array(keys.len());
            for &k in &keys {
                if with_flags {
                    ctx.out.array(2);
                    ctx.out.bulk(target[k]);
                    let flags = key_flags(spec, target, k);
                    ctx.out.set(flags.len());
                    for f in flags {
                        ctx.out.simple(f);
                    }
                } else {
                    ctx.out.bulk(target[k]);
                }
            }
        }
    }
}

/// The flags of the key spec that found the key at `pos`; the commands whose key spec has
/// `variable_flags` decide them from their arguments, as Redis's setGetKeys and
/// bitfieldGetKeys do.
fn key_flags(spec: &'static CommandSpec, args: &[&[u8]], pos: usize) -> &'static [&'static str] {
    match spec.name {
        "set" if args.iter().skip(3).any(|a| is(a, "get")) => &["RW", "access", "update"],
        "set" => &["OW", "update"],
        "bitfield" => {
            let read_only =
                args.iter().skip(2).all(|a| !["set", "incrby", "overflow"].iter().any(|w| is(a, w)));
            if read_only {
                &["RO", "access"]
            } else {
                &["RW", "access", "update"]
            }
        }
        _ => crate::spec::reply::key_spec_of(spec, args, pos).map(|ks| ks.flags).unwrap_or(&[]),
    }
}

fn help(ctx: &mut Ctx, _args: &[&[u8]]) {
    ctx.help(
        "COMMAND",
        &[
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
            "GETKEYSANDFLAGS <full-command>",
            "    Return the keys and the access flags from a full Redis command.",
        ],
    );
}
