//! The server family: INFO, CONFIG, DBSIZE, FLUSHDB/FLUSHALL, SWAPDB, TIME, LASTSAVE, WAIT,
//! MONITOR, SLOWLOG, DEBUG and SHUTDOWN, compared with the real Redis 7.0 where replies are
//! deterministic, and checked field by field where they are not.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{assert_same, encode, pair, Raw, Server};

/// The text of a bulk (`$`) or verbatim (`=`) reply.
fn bulk_text(reply: &[u8]) -> String {
    let s = String::from_utf8_lossy(reply).into_owned();
    assert!(s.starts_with('$') || s.starts_with('='), "not a bulk reply: {s:?}");
    let body = &s[s.find("\r\n").expect("header") + 2..s.len() - 2];
    match body.strip_prefix("txt:") {
        Some(rest) if s.starts_with('=') => rest.to_string(),
        _ => body.to_string(),
    }
}

/// INFO text split into sections: (header, [(field, value)]) in order.
fn parse_info(text: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for line in text.split("\r\n") {
        if let Some(h) = line.strip_prefix("# ") {
            out.push((h.to_string(), Vec::new()));
        } else if !line.is_empty() {
            let (k, v) = line.split_once(':').expect("field:value");
            out.last_mut().expect("field before any section").1.push((k.to_string(), v.to_string()));
        }
    }
    out
}

fn info(raw: &mut Raw, args: &[&str]) -> Vec<(String, Vec<(String, String)>)> {
    let mut cmd = vec!["INFO"];
    cmd.extend_from_slice(args);
    parse_info(&bulk_text(&raw.cmd(&cmd)))
}

fn info_fields(raw: &mut Raw, section: &str) -> BTreeMap<String, String> {
    info(raw, &[section]).into_iter().flat_map(|(_, f)| f).collect()
}

fn headers(sections: &[(String, Vec<(String, String)>)]) -> Vec<&str> {
    sections.iter().map(|(h, _)| h.as_str()).collect()
}

/// `calls=3,usec=5,...` as a map.
fn kv_list(v: &str) -> BTreeMap<String, String> {
    v.split(',').filter_map(|p| p.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn unix_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// A RESP3 connection when the server supports HELLO 3.
fn resp3(server: &Server) -> Option<Raw> {
    let mut r = server.raw();
    let reply = r.cmd(&["HELLO", "3"]);
    (reply.first() == Some(&b'%')).then_some(r)
}

#[test]
fn info_has_every_section_and_the_fields_redis_prints() {
    let (brim, redis, mut b, mut r) = pair(&[]);
    for c in [&mut b, &mut r] {
        c.cmd(&["SET", "k", "v"]);
        c.cmd(&["GET", "k"]);
    }
    let all = info(&mut b, &["everything"]);
    assert_eq!(
        headers(&all),
        [
            "Server",
            "Clients",
            "Memory",
            "Persistence",
            "Stats",
            "Replication",
            "CPU",
            "Modules",
            "Commandstats",
            "Errorstats",
            "Latencystats",
            "Cluster",
            "Keyspace"
        ]
    );
    assert_eq!(headers(&info(&mut b, &["all"])), headers(&all));
    let default = [
        "Server",
        "Clients",
        "Memory",
        "Persistence",
        "Stats",
        "Replication",
        "CPU",
        "Modules",
        "Errorstats",
        "Cluster",
        "Keyspace",
    ];
    assert_eq!(headers(&info(&mut b, &[])), default);
    assert_eq!(headers(&info(&mut b, &["default"])), default);
    // Sections come in Redis's order whatever the order asked, each once.
    assert_eq!(headers(&info(&mut b, &["keyspace", "SERVER", "server", "nosuch"])), ["Server", "Keyspace"]);

    // Every field Redis prints in the fixed sections, in Redis's order (Brim adds its own).
    let theirs = info(&mut r, &["everything"]);
    for (section, fields) in &theirs {
        if matches!(section.as_str(), "Commandstats" | "Errorstats" | "Latencystats" | "Keyspace") {
            continue;
        }
        let ours: Vec<&str> = all
            .iter()
            .find(|(h, _)| h == section)
            // Brim's additions: its version, the peak's time (Redis 8's field), connections
            // moved to a hot key's worker or to even out the load, and each worker's
            // connections.
            .map(|(_, f)| {
                f.iter()
                    .map(|(k, _)| k.as_str())
                    .filter(|k| {
                        ![
                            "brim_version",
                            "used_memory_peak_time",
                            "hot_key_client_moves",
                            "balance_client_moves",
                            "worker_connections",
                        ]
                        .contains(k)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let want: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(ours, want, "fields of section {section}");
    }

    let fields: BTreeMap<String, String> = all.iter().flat_map(|(_, f)| f.clone()).collect();
    let num = |k: &str| -> u64 { fields[k].parse().unwrap_or_else(|_| panic!("{k}={}", fields[k])) };
    assert_eq!(fields["redis_version"], "7.0.15");
    assert!(!fields["brim_version"].is_empty());
    assert_eq!(fields["redis_mode"], "standalone");
    assert_eq!(num("tcp_port"), brim.port as u64);
    assert_eq!(num("process_id"), brim.child.id() as u64);
    assert_eq!(fields["run_id"].len(), 40);
    assert!(num("server_time_usec") / 1_000_000 >= unix_secs() as u64 - 5);
    assert!(num("connected_clients") >= 1);
    assert_eq!(num("maxclients"), 10000);
    assert!(num("used_memory") > 0);
    assert!(num("used_memory_rss") > 0);
    assert!(num("used_memory_peak") >= num("used_memory") / 2);
    assert!(fields["used_memory_human"].ends_with(['B', 'K', 'M', 'G']));
    assert_eq!(fields["mem_allocator"], "jemalloc-5.3.0");
    assert_eq!(fields["maxmemory"], "0");
    assert_eq!(fields["maxmemory_human"], "0B");
    assert_eq!(fields["maxmemory_policy"], "noeviction");
    assert!(num("total_system_memory") > 0);
    assert_eq!(fields["role"], "master");
    assert_eq!(fields["master_replid"].len(), 40);
    assert_eq!(fields["cluster_enabled"], "0");
    assert_eq!(fields["aof_enabled"], "0");
    assert!(num("rdb_changes_since_last_save") >= 1);
    assert!(num("total_commands_processed") >= 2);
    assert!(num("total_connections_received") >= 1);
    assert!(num("total_net_input_bytes") > 0);
    assert_eq!(num("keyspace_hits"), 1);
    assert_eq!(num("keyspace_misses"), 0);
    assert!(fields["used_cpu_user"].contains('.'));
    assert_eq!(fields["db0"], "keys=1,expires=0,avg_ttl=0");
    let config = info_fields(&mut b, "server")["config_file"].clone();
    assert_eq!(config, "");

    // A miss, and keys with an expire in another database.
    b.cmd(&["GET", "nokey"]);
    assert_eq!(info_fields(&mut b, "stats")["keyspace_misses"], "1");

    // Deterministic sections match byte for byte.
    let (mut b, mut r) = (brim.raw(), redis.raw());
    assert_same(
        &mut b,
        &mut r,
        &[
            &["INFO", "cluster"],
            &["INFO", "CLUSTER", "cluster"],
            &["INFO", "modules"],
            &["INFO", "nosuch"],
            &["INFO", "nosuch", "other"],
            &["INFO", "modules", "cluster"],
        ],
    );
    if let (Some(mut b3), Some(mut r3)) = (resp3(&brim), resp3(&redis)) {
        assert_same(&mut b3, &mut r3, &[&["INFO", "cluster"], &["INFO", "nosuch"]]);
    }
}

#[test]
fn info_keyspace_lists_databases_with_keys() {
    let brim = Server::start(&[]);
    let mut b = brim.raw();
    assert_eq!(info(&mut b, &["keyspace"]), vec![("Keyspace".to_string(), vec![])]);
    b.cmd(&["SET", "a", "1"]);
    b.cmd(&["SET", "b", "1"]);
    let ks = info_fields(&mut b, "keyspace");
    assert_eq!(ks.len(), 1);
    assert_eq!(ks["db0"], "keys=2,expires=0,avg_ttl=0");
    b.cmd(&["SWAPDB", "0", "3"]);
    let ks = info_fields(&mut b, "keyspace");
    assert_eq!(ks.keys().collect::<Vec<_>>(), ["db3"]);
    b.cmd(&["FLUSHALL"]);
    assert!(info_fields(&mut b, "keyspace").is_empty());
}

/// The commandstats lines of `raw` with the timing fields removed.
fn call_counts(raw: &mut Raw) -> BTreeMap<String, String> {
    info_fields(raw, "commandstats")
        .into_iter()
        .map(|(k, v)| {
            let m = kv_list(&v);
            (
                k,
                format!(
                    "calls={},rejected_calls={},failed_calls={}",
                    m["calls"], m["rejected_calls"], m["failed_calls"]
                ),
            )
        })
        .collect()
}

#[test]
fn info_commandstats_counts_calls_failures_and_rejections() {
    let (_brim, _redis, mut b, mut r) = pair(&[]);
    let script: &[&[&str]] = &[
        &["SET", "k", "v"],
        &["SET", "k", "w"],
        &["SET", "n", "1"],
        &["GET", "k"],
        &["GET", "nokey"],
        &["DBSIZE"],
        &["CONFIG", "SET", "nosuch", "1"],
        &["CONFIG", "GET", "maxmemory"],
        &["SWAPDB", "0", "x"],
        &["FLUSHDB", "bogus"],
    ];
    for c in script {
        b.cmd(c);
        r.cmd(c);
    }
    let ours = call_counts(&mut b);
    assert_eq!(ours, call_counts(&mut r));
    assert_eq!(ours["cmdstat_set"], "calls=3,rejected_calls=0,failed_calls=0");
    assert_eq!(ours["cmdstat_config|set"], "calls=1,rejected_calls=0,failed_calls=1");
    assert_eq!(ours["cmdstat_get"], "calls=2,rejected_calls=0,failed_calls=0");

    let line = info_fields(&mut b, "commandstats")["cmdstat_set"].clone();
    let m = kv_list(&line);
    let (calls, usec): (f64, f64) = (m["calls"].parse().unwrap(), m["usec"].parse().unwrap());
    assert_eq!(m["usec_per_call"], format!("{:.2}", usec / calls));

    // CONFIG RESETSTAT zeroes everything; the RESETSTAT call itself is then counted.
    assert_eq!(b.cmd_str(&["CONFIG", "RESETSTAT"]), "+OK\r\n");
    r.cmd(&["CONFIG", "RESETSTAT"]);
    let ours = call_counts(&mut b);
    assert_eq!(ours, call_counts(&mut r));
    assert_eq!(ours.keys().collect::<Vec<_>>(), ["cmdstat_config|resetstat"]);
    let stats = info_fields(&mut b, "stats");
    assert_eq!(stats["keyspace_hits"], "0");
    assert_eq!(stats["total_error_replies"], "0");
    assert_eq!(stats["total_connections_received"], "0");
}

#[test]
fn arity_errors_count_as_rejected_calls() {
    let (_brim, _redis, mut b, mut r) = pair(&[]);
    for c in [&["GET"][..], &["DBSIZE", "extra"], &["CONFIG", "GET"], &["GET", "k"]] {
        b.cmd(c);
        r.cmd(c);
    }
    let ours = call_counts(&mut b);
    assert_eq!(ours, call_counts(&mut r));
    assert_eq!(ours["cmdstat_get"], "calls=1,rejected_calls=1,failed_calls=0");
}

#[test]
fn info_errorstats_counts_errors_by_code() {
    let (_brim, _redis, mut b, mut r) = pair(&[]);
    assert_same(&mut b, &mut r, &[&["INFO", "errorstats"]]);
    let script: &[&[&str]] = &[
        &["NOSUCHCOMMAND"],
        &["GET"],
        &["FLUSHDB", "bogus"],
        &["SWAPDB", "a", "0"],
        &["CONFIG", "SET", "maxmemory", "lots"],
        &["CONFIG", "NOPE"],
        &["DEBUG", "SLEEP", "0"],
        &["SET", "k", "v"],
    ];
    for c in script {
        b.cmd(c);
        r.cmd(c);
    }
    assert_same(&mut b, &mut r, &[&["INFO", "errorstats"]]);
    let errs = info_fields(&mut b, "errorstats");
    assert_eq!(errs["errorstat_ERR"], "count=7");
    let stats = info_fields(&mut b, "stats");
    assert_eq!(stats["total_error_replies"], "7");
    assert_eq!(b.cmd_str(&["CONFIG", "RESETSTAT"]), "+OK\r\n");
    r.cmd(&["CONFIG", "RESETSTAT"]);
    assert_same(&mut b, &mut r, &[&["INFO", "errorstats"]]);
}

#[test]
fn config_get_set_round_trips_and_errors_match_redis() {
    let (brim, redis, mut b, mut r) = pair(&[]);
    assert_same(
        &mut b,
        &mut r,
        &[
            &["CONFIG"],
            &["CONFIG", "GET"],
            &["CONFIG", "GET", "maxmemory"],
            &["CONFIG", "GET", "MAXMEMORY"],
            &["CONFIG", "GET", "nosuch"],
            &["CONFIG", "GET", "nosuch*"],
            &["CONFIG", "SET"],
            &["CONFIG", "SET", "maxmemory"],
            &["CONFIG", "SET", "maxmemory", "10mb"],
            &["CONFIG", "GET", "maxmemory"],
            &["CONFIG", "SET", "maxmemory", "10mb", "hz"],
            &["CONFIG", "SET", "maxmemory", "20mb", "hz", "11"],
            &["CONFIG", "GET", "hz"],
            &["CONFIG", "GET", "maxmemory"],
            &["CONFIG", "SET", "maxmemory", "foo"],
            &["CONFIG", "SET", "nosuch", "1"],
            &["CONFIG", "SET", "maxmemory", "1", "nosuch", "2"],
            &["CONFIG", "SET", "maxmemory", "1", "maxmemory", "2"],
            &["CONFIG", "SET", "maxmemory", "1", "MAXMEMORY", "2"],
            &["CONFIG", "SET", "daemonize", "yes"],
            &["CONFIG", "SET", "dir", "/tmp"],
            &["CONFIG", "SET", "hz", "10", "dir", "/tmp"],
            &["CONFIG", "SET", "maxmemory", "5mb", "daemonize", "yes"],
            &["CONFIG", "GET", "maxmemory"],
            &["CONFIG", "SET", "hz", "12", "maxmemory", "bad"],
            &["CONFIG", "GET", "hz"],
            &["CONFIG", "SET", "maxmemory", "0"],
            &["CONFIG", "SET", "loglevel", "verbose"],
            &["CONFIG", "GET", "loglevel"],
            &["CONFIG", "SET", "loglevel", "bogus"],
            &["CONFIG", "SET", "loglevel", "notice"],
            &["CONFIG", "SET", "slowlog-max-len", "64"],
            &["CONFIG", "GET", "slowlog-max-len"],
            &["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"],
            &["CONFIG", "GET", "maxmemory-policy"],
            &["CONFIG", "SET", "maxmemory-policy", "nope"],
            &["CONFIG", "RESETSTAT", "x"],
            &["CONFIG", "RESETSTAT"],
            &["CONFIG", "REWRITE"],
            &["CONFIG", "REWRITE", "x"],
            &["CONFIG", "HELP"],
            &["CONFIG", "HELP", "x"],
            &["CONFIG", "FOO"],
        ],
    );
    // Several patterns: the same pairs (Redis's order is its hash table's).
    let pairs = |raw: &mut Raw, args: &[&str]| -> BTreeMap<String, String> {
        let mut c = vec!["CONFIG", "GET"];
        c.extend_from_slice(args);
        let reply = raw.cmd_str(&c);
        // `*n`, then `$len` / text line pairs.
        let items: Vec<&str> = reply.split("\r\n").skip(2).step_by(2).collect();
        items.chunks(2).map(|p| (p[0].to_string(), p.get(1).unwrap_or(&"").to_string())).collect()
    };
    for args in [
        &["maxmemory", "maxmemory-policy", "MAXMEMORY", "nosuch"][..],
        &["*max*entries*"],
        &["hz", "*memory*", "timeout"],
        &["slowlog*", "slowlog-max-len"],
    ] {
        assert_eq!(pairs(&mut b, args), pairs(&mut r, args), "CONFIG GET {args:?}");
    }
    assert_eq!(pairs(&mut b, &["port"])["port"], brim.port.to_string());
    if let (Some(mut b3), Some(mut r3)) = (resp3(&brim), resp3(&redis)) {
        assert_same(
            &mut b3,
            &mut r3,
            &[&["CONFIG", "GET", "maxmemory"], &["CONFIG", "GET", "nosuch"], &["CONFIG", "HELP"]],
        );
    }
}

#[test]
fn config_rewrite_updates_the_config_file() {
    let dir = std::env::temp_dir().join(format!("brim-server-rewrite-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("brim.conf");
    std::fs::write(&file, "# my config\nmaxmemory 1mb\nhz 10\n").unwrap();
    let brim = Server::start_with(file.to_str(), &[]);
    let mut b = brim.raw();
    assert_eq!(b.cmd_str(&["CONFIG", "GET", "maxmemory"]), "*2\r\n$9\r\nmaxmemory\r\n$7\r\n1048576\r\n");
    assert_eq!(b.cmd_str(&["CONFIG", "SET", "maxmemory", "2mb", "hz", "15"]), "+OK\r\n");
    assert_eq!(b.cmd_str(&["CONFIG", "REWRITE"]), "+OK\r\n");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with("# my config\n"), "{text}");
    assert!(text.contains("maxmemory 2mb"), "{text}");
    assert!(text.contains("hz 15"), "{text}");
    let cfg = info_fields(&mut b, "server")["config_file"].clone();
    assert_eq!(std::path::Path::new(&cfg), std::fs::canonicalize(&file).unwrap_or(file.clone()));
    drop(brim);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn dbsize_flush_and_swapdb_across_databases() {
    let (_brim, _redis, mut b, mut r) = pair(&[]);
    assert_same(
        &mut b,
        &mut r,
        &[
            &["DBSIZE"],
            &["DBSIZE", "x"],
            &["SET", "a", "0"],
            &["SET", "b", "0"],
            &["SELECT", "1"],
            &["SET", "a", "1"],
            &["SELECT", "2"],
            &["SET", "a", "2"],
            &["SET", "b", "2"],
            &["SET", "c", "2"],
            &["DBSIZE"],
            &["SWAPDB", "2", "0"],
            &["DBSIZE"],
            &["GET", "a"],
            &["SELECT", "0"],
            &["DBSIZE"],
            &["GET", "a"],
            &["SWAPDB", "0", "0"],
            &["DBSIZE"],
            &["SWAPDB"],
            &["SWAPDB", "0"],
            &["SWAPDB", "0", "1", "2"],
            &["SWAPDB", "a", "1"],
            &["SWAPDB", "0", "b"],
            &["SWAPDB", "a", "b"],
            &["SWAPDB", "0", "16"],
            &["SWAPDB", "16", "0"],
            &["SWAPDB", "-1", "0"],
            &["SWAPDB", "0", "-1"],
            &["SWAPDB", "99999999999999999999", "0"],
            &["SWAPDB", "4294967296", "0"],
            &["SWAPDB", "1.5", "0"],
            &["SWAPDB", "15", "1"],
            &["SELECT", "15"],
            &["GET", "a"],
            &["DBSIZE"],
            &["FLUSHDB", "foo"],
            &["FLUSHDB", "async", "sync"],
            &["FLUSHDB", "SYNC"],
            &["DBSIZE"],
            &["SELECT", "0"],
            &["DBSIZE"],
            &["FLUSHDB", "ASYNC"],
            &["DBSIZE"],
            &["SELECT", "2"],
            &["DBSIZE"],
            &["FLUSHALL", "x"],
            &["FLUSHALL", "async", "x"],
            &["FLUSHALL"],
            &["DBSIZE"],
            &["SET", "z", "1"],
            &["FLUSHALL", "async"],
            &["DBSIZE"],
            &["FLUSHALL", "SYNC"],
            &["FLUSHDB"],
        ],
    );
}

#[test]
fn flush_and_swapdb_abort_transactions_watching_the_keys() {
    let brim = Server::start(&[]);
    let redis = Server::redis(&[]);
    for server in [&brim, &redis] {
        let mut w = server.raw();
        let mut other = server.raw();
        w.cmd(&["SET", "k", "1"]);
        w.cmd(&["WATCH", "k"]);
        other.cmd(&["FLUSHDB"]);
        w.cmd(&["MULTI"]);
        w.cmd(&["SET", "k", "2"]);
        assert_eq!(w.cmd_str(&["EXEC"]), "*-1\r\n", "FLUSHDB touches watched keys ({})", server.port);
        w.cmd(&["SELECT", "1"]);
        w.cmd(&["SET", "k", "1"]);
        w.cmd(&["WATCH", "k"]);
        other.cmd(&["SWAPDB", "0", "1"]);
        w.cmd(&["MULTI"]);
        w.cmd(&["SET", "k", "2"]);
        assert_eq!(w.cmd_str(&["EXEC"]), "*-1\r\n", "SWAPDB touches watched keys ({})", server.port);
    }
}

#[test]
fn time_lastsave_and_wait() {
    let (_brim, _redis, mut b, mut r) = pair(&[]);
    let reply = b.cmd_str(&["TIME"]);
    let parts: Vec<&str> = reply.split("\r\n").collect();
    assert_eq!(parts[0], "*2", "{reply}");
    let secs: i64 = parts[2].parse().unwrap();
    let micros: i64 = parts[4].parse().unwrap();
    assert!((secs - unix_secs()).abs() <= 2, "{reply}");
    assert!((0..1_000_000).contains(&micros), "{reply}");
    assert_eq!(parts[1], format!("${}", parts[2].len()));

    let lastsave = b.cmd_str(&["LASTSAVE"]);
    let t: i64 = lastsave.trim_start_matches(':').trim_end().parse().unwrap();
    assert!((t - unix_secs()).abs() <= 60, "{lastsave}");

    assert_same(
        &mut b,
        &mut r,
        &[
            &["TIME", "x"],
            &["LASTSAVE", "x"],
            &["WAIT"],
            &["WAIT", "0"],
            &["WAIT", "0", "0"],
            &["WAIT", "0", "100"],
            &["WAIT", "-1", "0"],
            &["WAIT", "a", "0"],
            &["WAIT", "0", "a"],
            &["WAIT", "0", "-1"],
            &["WAIT", "0", "1.5"],
            &["WAIT", "a", "-1"],
            &["WAIT", "0", "9223372036854775807"],
            &["WAIT", "0", "9223372036854775808"],
        ],
    );
}

/// A plain connection whose local port we know (for MONITOR lines).
struct Peer {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
    port: u16,
}

impl Peer {
    fn connect(port: u16) -> Peer {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let local = stream.local_addr().unwrap().port();
        Peer { reader: BufReader::new(stream.try_clone().unwrap()), stream, port: local }
    }

    fn send(&mut self, args: &[&str]) {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        self.stream.write_all(&encode(&a)).unwrap();
    }

    fn line(&mut self) -> String {
        let mut l = String::new();
        self.reader.read_line(&mut l).unwrap();
        l
    }
}

/// Check a MONITOR line: `+<secs>.<micros> [<db> 127.0.0.1:<port>] <args>`.
fn assert_monitor_line(line: &str, db: usize, port: u16, args: &str) {
    let rest = line.strip_prefix('+').unwrap_or_else(|| panic!("{line:?}"));
    let (ts, rest) = rest.split_once(' ').unwrap();
    let (s, us) = ts.split_once('.').unwrap();
    assert!((s.parse::<i64>().unwrap() - unix_secs()).abs() <= 5, "{line:?}");
    assert_eq!(us.len(), 6, "{line:?}");
    assert_eq!(rest, format!("[{db} 127.0.0.1:{port}] {args}\r\n"));
}

#[test]
fn monitor_sees_commands_from_other_clients() {
    let brim = Server::start(&[]);
    let mut mon = Peer::connect(brim.port);
    mon.send(&["MONITOR"]);
    assert_eq!(mon.line(), "+OK\r\n");
    let mut c = Peer::connect(brim.port);
    c.send(&["set", "k", "v"]);
    assert_eq!(c.line(), "+OK\r\n");
    assert_monitor_line(&mon.line(), 0, c.port, "\"set\" \"k\" \"v\"");
    c.send(&["GET", "a \"quoted\"\n\u{1}"]);
    c.line();
    assert_monitor_line(&mon.line(), 0, c.port, "\"GET\" \"a \\\"quoted\\\"\\n\\x01\"");
    // Admin commands are not shown; a second MONITOR gets no reply.
    c.send(&["CONFIG", "GET", "hz"]);
    for _ in 0..5 {
        c.line();
    }
    c.send(&["PING"]);
    c.line();
    assert_monitor_line(&mon.line(), 0, c.port, "\"PING\"");
    mon.send(&["MONITOR"]);
    mon.send(&["PING"]);
    assert_eq!(mon.line(), "+PONG\r\n");
    assert_monitor_line(&mon.line(), 0, mon.port, "\"PING\"");
    // Once the monitor disconnects the others keep working.
    drop(mon);
    c.send(&["PING"]);
    assert_eq!(c.line(), "+PONG\r\n");

    let redis = Server::redis(&[]);
    let (mut b, mut r) = (brim.raw(), redis.raw());
    assert_same(&mut b, &mut r, &[&["MONITOR", "x"], &["MULTI"], &["MONITOR"], &["EXEC"]]);
}

#[test]
fn monitor_shows_the_database_after_the_command() {
    // Redis feeds monitors once the command ran: SELECT shows the database it selected.
    let brim = Server::start(&[]);
    let mut mon = Peer::connect(brim.port);
    mon.send(&["MONITOR"]);
    assert_eq!(mon.line(), "+OK\r\n");
    let mut c = Peer::connect(brim.port);
    c.send(&["SELECT", "3"]);
    assert_eq!(c.line(), "+OK\r\n");
    assert_monitor_line(&mon.line(), 3, c.port, "\"SELECT\" \"3\"");
    c.send(&["GET", "k"]);
    c.line();
    assert_monitor_line(&mon.line(), 3, c.port, "\"GET\" \"k\"");
}

/// SLOWLOG GET's entries as (id, args, peer, name), with times checked for shape.
fn slow_entries(raw: &mut Raw, count: &str) -> Vec<(i64, Vec<String>, String, String)> {
    let reply = raw.cmd_str(&["SLOWLOG", "GET", count]);
    let lines: Vec<&str> = reply.split("\r\n").collect();
    let mut i = 0;
    let mut next = || {
        i += 1;
        lines[i - 1]
    };
    let n: usize = next()[1..].parse().unwrap();
    let mut out = Vec::new();
    for _ in 0..n {
        assert_eq!(next(), "*6", "{reply}");
        let id: i64 = next()[1..].parse().unwrap();
        let ts: i64 = next()[1..].parse().unwrap();
        assert!((ts - unix_secs()).abs() <= 5);
        let dur: i64 = next()[1..].parse().unwrap();
        assert!(dur >= 0);
        let argc: usize = next()[1..].parse().unwrap();
        let args = (0..argc)
            .map(|_| {
                next();
                next().to_string()
            })
            .collect();
        next();
        let peer = next().to_string();
        next();
        let name = next().to_string();
        out.push((id, args, peer, name));
    }
    out
}

#[test]
fn slowlog_records_commands_over_the_threshold() {
    let brim = Server::start(&["--slowlog-log-slower-than", "0"]);
    let redis = Server::redis(&["--slowlog-log-slower-than", "0"]);
    let (mut b, mut r) = (brim.raw(), redis.raw());
    let mut p = Peer::connect(brim.port);
    p.send(&["SLOWLOG", "RESET"]);
    p.line();
    p.send(&["SET", "a", "b"]);
    p.line();
    let peer = format!("127.0.0.1:{}", p.port);
    let e = slow_entries(&mut b, "1");
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].1, ["SET", "a", "b"]);
    assert_eq!(e[0].2, peer);
    assert_eq!(e[0].3, "");
    let all = slow_entries(&mut b, "-1");
    assert_eq!(all.len(), 3, "{all:?}");
    assert_eq!(all[2].1, ["SLOWLOG", "RESET"]);
    assert!(all[0].0 > all[1].0 && all[1].0 > all[2].0, "newest first with growing ids");
    let default = slow_entries(&mut b, "10");
    assert_eq!(default.len(), 4);

    // Argument trimming: at most 32 arguments, each at most 128 bytes.
    let long = "x".repeat(200);
    let mut many: Vec<String> = vec!["CONFIG".into(), "GET".into()];
    many.extend((0..40).map(|i| format!("p{i}")));
    many.push(long.clone());
    let many: Vec<&str> = many.iter().map(|s| s.as_str()).collect();
    for c in [&mut b, &mut r] {
        c.cmd(&many);
        c.cmd(&["CONFIG", "GET", &long]);
    }
    let ours = slow_entries(&mut b, "2");
    let theirs = slow_entries(&mut r, "2");
    assert_eq!(
        ours.iter().map(|e| &e.1).collect::<Vec<_>>(),
        theirs.iter().map(|e| &e.1).collect::<Vec<_>>()
    );
    assert_eq!(ours[1].1.len(), 32);
    assert_eq!(ours[1].1[31], "... (12 more arguments)");
    assert_eq!(ours[0].1[2], format!("{}... (72 more bytes)", "x".repeat(128)));

    assert_same(
        &mut b,
        &mut r,
        &[
            &["SLOWLOG", "RESET"],
            &["SLOWLOG", "LEN"],
            &["SLOWLOG", "LEN"],
            &["SLOWLOG", "GET", "0"],
            &["SLOWLOG", "GET", "-2"],
            &["SLOWLOG", "GET", "a"],
            &["SLOWLOG", "GET", "1", "2"],
            &["SLOWLOG", "LEN", "x"],
            &["SLOWLOG", "RESET", "x"],
            &["SLOWLOG", "HELP"],
            &["SLOWLOG", "HELP", "x"],
            &["SLOWLOG", "FOO"],
            &["SLOWLOG"],
        ],
    );
    // slowlog-max-len bounds the log; SLOWLOG RESET keeps the ids growing.
    b.cmd(&["CONFIG", "SET", "slowlog-max-len", "2"]);
    for _ in 0..5 {
        b.cmd(&["PING"]);
    }
    assert_eq!(b.cmd_str(&["SLOWLOG", "LEN"]), ":2\r\n");
}

#[test]
fn slowlog_is_off_with_a_negative_threshold() {
    let brim = Server::start(&["--slowlog-log-slower-than", "-1"]);
    let mut b = brim.raw();
    b.cmd(&["SET", "a", "b"]);
    assert_eq!(b.cmd_str(&["SLOWLOG", "LEN"]), ":0\r\n");
    assert_eq!(b.cmd_str(&["SLOWLOG", "GET"]), "*0\r\n");
}

/// DEBUG OBJECT's line without the address and LRU fields.
fn debug_object_shape(raw: &mut Raw, key: &str) -> String {
    let line = raw.cmd_str(&["DEBUG", "OBJECT", key]);
    line.split(' ').filter(|p| !p.starts_with("at:") && !p.starts_with("lru")).collect::<Vec<_>>().join(" ")
}

#[test]
fn debug_sleep_object_and_set_active_expire() {
    let brim = Server::start(&["--enable-debug-command", "yes"]);
    let redis = Server::redis(&["--enable-debug-command", "yes"]);
    let (mut b, mut r) = (brim.raw(), redis.raw());
    assert_same(
        &mut b,
        &mut r,
        &[
            &["DEBUG"],
            &["DEBUG", "HELP"],
            &["DEBUG", "HELP", "x"],
            &["DEBUG", "SLEEP", "0"],
            &["DEBUG", "SLEEP", "a"],
            &["DEBUG", "SLEEP", "-1"],
            &["DEBUG", "SLEEP"],
            &["DEBUG", "SLEEP", "1", "2"],
            &["DEBUG", "OBJECT", "nokey"],
            &["DEBUG", "OBJECT"],
            &["DEBUG", "OBJECT", "a", "b"],
            &["DEBUG", "FOO"],
            &["DEBUG", "foo", "bar"],
            &["DEBUG", "SET-ACTIVE-EXPIRE", "0"],
            &["DEBUG", "SET-ACTIVE-EXPIRE", "1"],
            &["DEBUG", "SET-ACTIVE-EXPIRE", "a"],
            &["DEBUG", "SET-ACTIVE-EXPIRE"],
            &["DEBUG", "SET-ACTIVE-EXPIRE", "1", "2"],
        ],
    );

    // refcount, encoding and the RDB serialized length match Redis (LZF included).
    let mut values: Vec<String> = vec![
        "hello".into(),
        "123".into(),
        "9999".into(),
        "10000".into(),
        "-5".into(),
        "2147483648".into(),
        "9223372036854775807".into(),
        "007".into(),
        "a".repeat(61),
        "abc".repeat(100),
        "The quick brown fox jumps over the lazy dog".into(),
    ];
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for len in [21, 30, 45, 100, 300, 1000, 5000, 20000] {
        for alphabet in [&b"ab"[..], b"abcdefgh", b"0123456789abcdefghijklmnopqrstuvwxyz"] {
            let s: String = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    alphabet[(seed % alphabet.len() as u64) as usize] as char
                })
                .collect();
            values.push(s);
        }
    }
    for (i, v) in values.iter().enumerate() {
        let key = format!("k{i}");
        b.cmd(&["SET", &key, v]);
        r.cmd(&["SET", &key, v]);
        assert_eq!(debug_object_shape(&mut b, &key), debug_object_shape(&mut r, &key), "value {v:?}");
    }
    let line = b.cmd_str(&["DEBUG", "OBJECT", "k0"]);
    assert!(line.starts_with("+Value at:0x"), "{line}");
    let idle: u64 = line.trim_end().rsplit_once("lru_seconds_idle:").unwrap().1.parse().unwrap();
    assert!(idle <= 5, "{line}");
    b.cmd(&["CONFIG", "SET", "rdbcompression", "no"]);
    r.cmd(&["CONFIG", "SET", "rdbcompression", "no"]);
    assert_eq!(debug_object_shape(&mut b, "k8"), debug_object_shape(&mut r, "k8"));

    // DEBUG SLEEP stalls every client, not just the caller.
    let mut sleeper = Peer::connect(brim.port);
    let mut other = brim.raw();
    let start = Instant::now();
    sleeper.send(&["DEBUG", "SLEEP", "0.5"]);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(other.cmd_str(&["PING"]), "+PONG\r\n");
    assert!(start.elapsed() >= Duration::from_millis(450), "PING answered during DEBUG SLEEP");
    assert_eq!(sleeper.line(), "+OK\r\n");
}

#[test]
fn debug_is_refused_unless_enabled() {
    let (_brim, _redis, mut b, mut r) = pair(&[]);
    assert_same(
        &mut b,
        &mut r,
        &[&["DEBUG"], &["DEBUG", "SLEEP", "0"], &["DEBUG", "HELP"], &["DEBUG", "OBJECT", "k"]],
    );
    let local = Server::start(&["--enable-debug-command", "local"]);
    assert_eq!(local.raw().cmd_str(&["DEBUG", "SLEEP", "0"]), "+OK\r\n");
}

#[test]
fn shutdown_errors_match_redis() {
    let (_brim, _redis, mut b, mut r) = pair(&[]);
    assert_same(
        &mut b,
        &mut r,
        &[
            &["SHUTDOWN", "foo"],
            &["SHUTDOWN", "NOSAVE", "SAVE"],
            &["SHUTDOWN", "save", "nosave", "now"],
            &["SHUTDOWN", "ABORT"],
            &["SHUTDOWN", "ABORT", "NOW"],
            &["SHUTDOWN", "NOSAVE", "ABORT"],
            &["SHUTDOWN", "FORCE", "ABORT"],
            &["MULTI"],
            &["SHUTDOWN"],
            &["EXEC"],
            &["PING"],
        ],
    );
}

#[test]
fn shutdown_nosave_stops_the_server() {
    let mut brim = Server::start(&[]);
    let mut b = brim.raw();
    b.cmd(&["SET", "k", "v"]);
    b.send(&encode(&[b"SHUTDOWN", b"NOSAVE"]));
    assert!(brim.wait_exit(), "server still running after SHUTDOWN NOSAVE");
    assert!(b.is_closed());
}

#[test]
fn shutdown_variants_stop_the_server() {
    for args in [&["shutdown", "nosave", "now", "force"][..], &["SHUTDOWN", "NOW"]] {
        let mut brim = Server::start(&["--save", ""]);
        let mut b = brim.raw();
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        b.send(&encode(&a));
        assert!(brim.wait_exit(), "server still running after {args:?}");
    }
}

#[test]
fn sigterm_stops_the_server() {
    let mut brim = Server::start(&["--save", ""]);
    let mut b = brim.raw();
    assert_eq!(b.cmd_str(&["PING"]), "+PONG\r\n");
    // SAFETY: sending a signal to our own child process.
    let rc = unsafe { libc::kill(brim.child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(rc, 0);
    assert!(brim.wait_exit(), "server still running after SIGTERM");
}
