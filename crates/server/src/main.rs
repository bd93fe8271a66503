//! `brim-server [path/to/brim.conf] [--name value ...]`: a Redis-compatible server.

mod conn;
mod listen;
mod log;
mod worker;

use std::sync::Arc;

use brim_commands::Shared;
use brim_config::Config;
use brim_engine::alloc::CountingAlloc;

use crate::log::{log, Level};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// A C string pointer jemalloc reads at start-up.
#[repr(transparent)]
struct ConfPtr(*const u8);
// SAFETY: it points at a static, immutable string.
unsafe impl Sync for ConfPtr {}

/// jemalloc options baked into the binary (`MALLOC_CONF` in the environment still adds to
/// them): one arena, so the worker threads' allocations share pages as a single-threaded
/// Redis's do, and 8-page slabs for the small classes, so slab metadata stays small. Under
/// `maxmemory` this keeps RSS within about 1% of the limit instead of about 6%.
#[used]
#[export_name = "malloc_conf"]
static MALLOC_CONF: ConfPtr = ConfPtr(c"narenas:1,slab_sizes:1-4096:8".as_ptr().cast());

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if argv.iter().skip(1).any(|a| a == "-v" || a == "--version") {
        println!("Brim server v={} (Redis 7.0 compatible) bits=64", env!("CARGO_PKG_VERSION"));
        return;
    }
    if argv.iter().skip(1).any(|a| a == "-h" || a == "--help") {
        println!(
            "Usage: brim-server [/path/to/brim.conf] [--name value ...]\n       brim-server -v | --version"
        );
        return;
    }
    let (file, rest) = match argv.get(1) {
        Some(f) if !f.starts_with("--") => (Some(std::path::Path::new(f.as_str())), &argv[2..]),
        _ => (None, argv.get(1..).unwrap_or(&[])),
    };
    let config = match Config::load(file, rest) {
        Ok(c) => Arc::new(c),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = log::configure(config.loglevel().as_str(), &config.logfile()) {
        eprintln!("Can't open the log file: {e}");
        std::process::exit(1);
    }
    let _ = brim_commands::server::LOGLEVEL_HOOK.set(log::set_level);
    log(Level::Notice, "oO0OoO0OoO0Oo Brim is starting oO0OoO0OoO0Oo");
    log(
        Level::Notice,
        &format!(
            "Brim version={}, bits=64, pid={}, just started",
            env!("CARGO_PKG_VERSION"),
            std::process::id()
        ),
    );
    let exe = std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default();
    let shared = Arc::new(Shared::new(config.clone(), exe));
    brim_engine::evict::allocator::set_background_thread(config.jemalloc_bg_thread());
    brim_commands::persistence::install(shared.clone());
    let _ = brim_commands::persistence::LOG_HOOK
        .set(|warning, msg| log(if warning { Level::Warning } else { Level::Notice }, msg));
    // Recorded before loading, as Redis does: a loaded dataset is dataset, not start-up cost.
    shared
        .startup_memory
        .store(brim_engine::alloc::used_memory() as u64, std::sync::atomic::Ordering::Relaxed);
    // Loading starts once the listeners are up (listen::run calls start_loading): until it
    // is over, commands without the `loading` flag get -LOADING.
    shared.loading.begin();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            log(Level::Warning, &format!("Can't start the runtime: {e}"));
            std::process::exit(1);
        }
    };
    let code = runtime.block_on(listen::run(shared));
    std::process::exit(code);
}

/// Load the dataset (RDB / AOF, `brim_commands::persistence::load_at_startup`) on a thread
/// of its own while clients connect, reporting progress to INFO; then end the loading
/// state. The receiver gets whether the load succeeded (on failure, already logged, the
/// server must exit).
pub fn start_loading(shared: Arc<Shared>) -> tokio::sync::oneshot::Receiver<bool> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    // The main thread's stack size: loading ran there before it had a thread of its own.
    let thread = std::thread::Builder::new().name("brim-load".into()).stack_size(8 << 20);
    let spawned = thread.spawn(move || {
        let loaded = shared.loading.track(|| brim_commands::persistence::load_at_startup(&shared));
        // A failed load keeps the loading state: nothing runs on a partial dataset before the
        // exit.
        if loaded.is_ok() {
            shared.loading.finish();
        }
        let _ = tx.send(loaded.is_ok());
    });
    if let Err(e) = spawned {
        // The sender went with the closure: the receiver sees the load as failed.
        log(Level::Warning, &format!("Can't start the loading thread: {e}"));
    }
    rx
}
