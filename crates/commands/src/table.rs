//! The command table: Redis 7.0's metadata for each command (`crate::spec`) bound to the
//! handler of the family module that implements it. COMMAND, arity checks, the OOM check
//! and key locking all read it. Only implemented commands are in the table.

use ahash::AHashMap;

use crate::ctx::Ctx;
use crate::spec::{CommandSpec, EXTRA_SUBCOMMANDS, SPECS};

/// A command implementation: writes its reply through `ctx.out`. `args[0]` is the command
/// name (and `args[1]` the subcommand name for subcommands).
pub type Handler = fn(&mut Ctx, &[&[u8]]);

/// A family module's binding of a command name to its handler.
pub struct Registration {
    /// `get`, or `container|sub` for a subcommand (`config|get`).
    pub name: &'static str,
    /// The implementation.
    pub handler: Handler,
    /// Runs with the whole keyspace to itself (no other worker executes meanwhile).
    pub exclusive: bool,
}

/// Bind `name` to `handler`.
pub const fn cmd(name: &'static str, handler: Handler) -> Registration {
    Registration { name, handler, exclusive: false }
}

/// Bind `name` to a handler that needs the whole keyspace to itself (FLUSHALL, SWAPDB, EXEC).
pub const fn exclusive(name: &'static str, handler: Handler) -> Registration {
    Registration { name, handler, exclusive: true }
}

/// A command as the dispatcher sees it.
pub struct Command {
    /// Index into per-worker statistics.
    pub id: usize,
    /// Redis's metadata.
    pub spec: &'static CommandSpec,
    /// `None` for a container whose subcommands do the work.
    pub handler: Option<Handler>,
    /// See [`Registration::exclusive`].
    pub exclusive: bool,
    /// Implemented subcommands by lower-case name.
    pub subcommands: AHashMap<Vec<u8>, Command>,
}

impl Command {
    /// `get` or `config|get`.
    pub fn full_name(&self) -> String {
        self.spec.full_name()
    }
}

/// All implemented commands.
pub struct CommandTable {
    commands: AHashMap<Vec<u8>, Command>,
    count: usize,
}

fn registrations() -> impl Iterator<Item = &'static Registration> {
    [
        crate::connection::COMMANDS,
        crate::strings::COMMANDS,
        crate::keys::COMMANDS,
        crate::server::COMMANDS,
        crate::transactions::COMMANDS,
        crate::command::COMMANDS,
        crate::lists::COMMANDS,
        crate::blocking::COMMANDS,
        crate::hashes::COMMANDS,
        crate::sets::COMMANDS,
        crate::zsets::COMMANDS,
        crate::bitmaps::COMMANDS,
        crate::hyperloglog::COMMANDS,
        crate::geo::COMMANDS,
        crate::sort::COMMANDS,
        crate::persistence::COMMANDS,
        crate::memory::COMMANDS,
        crate::pubsub::COMMANDS,
    ]
    .into_iter()
    .flatten()
}

impl CommandTable {
    /// Bind every registration to its spec. A registration without a spec is a programming
    /// error and is reported on stderr (and left out).
    pub fn build() -> Self {
        let mut commands: AHashMap<Vec<u8>, Command> = AHashMap::new();
        let mut count = 0;
        let mut next_id = || {
            count += 1;
            count - 1
        };
        for r in registrations() {
            let (top, sub) = match r.name.split_once('|') {
                Some((t, s)) => (t, Some(s)),
                None => (r.name, None),
            };
            let Some(spec) = SPECS.iter().find(|s| s.name == top) else {
                eprintln!("brim: no Redis spec for command '{}'", r.name);
                continue;
            };
            let entry = commands.entry(top.as_bytes().to_vec()).or_insert_with(|| Command {
                id: next_id(),
                spec,
                handler: None,
                exclusive: false,
                subcommands: AHashMap::new(),
            });
            match sub {
                None => {
                    entry.handler = Some(r.handler);
                    entry.exclusive = r.exclusive;
                }
                Some(sub) => {
                    let known = spec
                        .subcommands
                        .iter()
                        .chain(EXTRA_SUBCOMMANDS.iter().filter(|s| s.container == Some(top)));
                    let Some(sspec) = known.into_iter().find(|s| s.name == sub) else {
                        eprintln!("brim: no Redis spec for subcommand '{}'", r.name);
                        continue;
                    };
                    entry.subcommands.insert(
                        sub.as_bytes().to_vec(),
                        Command {
                            id: next_id(),
                            spec: sspec,
                            handler: Some(r.handler),
                            exclusive: r.exclusive,
                            subcommands: AHashMap::new(),
                        },
                    );
                }
            }
        }
        CommandTable { commands, count }
    }

    /// Number of commands and subcommands (for sizing statistics).
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Look a command up by name, case-insensitively.
    pub fn get(&self, name: &[u8]) -> Option<&Command> {
        let mut buf = [0u8; 32];
        if name.len() <= buf.len() {
            let lower = &mut buf[..name.len()];
            lower.copy_from_slice(name);
            lower.make_ascii_lowercase();
            self.commands.get(&lower[..])
        } else {
            None
        }
    }

    /// Every top-level command.
    pub fn iter(&self) -> impl Iterator<Item = &Command> {
        self.commands.values()
    }

    /// Every command and subcommand, with its full name.
    pub fn iter_all(&self) -> impl Iterator<Item = &Command> {
        self.commands.values().flat_map(|c| std::iter::once(c).chain(c.subcommands.values()))
    }
}
