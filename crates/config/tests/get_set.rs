//! CONFIG GET / CONFIG SET behaviour; expected texts were verified against Redis 7.0.15.

use brim_config::{
    notify, shutdown, ClientClass, Config, MaxmemoryClients, MaxmemoryPolicy, ObufLimit, SetContext,
};

fn set(cfg: &Config, pairs: &[(&str, &str)]) -> Result<Vec<&'static str>, String> {
    let p: Vec<(&[u8], &[u8])> = pairs.iter().map(|(k, v)| (k.as_bytes(), v.as_bytes())).collect();
    cfg.set(&p)
}

fn set_err(cfg: &Config, pairs: &[(&str, &str)]) -> String {
    set(cfg, pairs).unwrap_err()
}

fn get1(cfg: &Config, name: &str) -> String {
    cfg.get_value(name).unwrap()
}

fn get(cfg: &Config, pats: &[&str]) -> Vec<(String, String)> {
    let p: Vec<&[u8]> = pats.iter().map(|s| s.as_bytes()).collect();
    let mut v = cfg.get(&p);
    v.sort();
    v
}

fn kv(list: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<_> = list.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    v.sort();
    v
}

const FAILED: &str = "ERR CONFIG SET failed (possibly related to argument";

#[test]
fn config_is_send_sync() {
    fn check<T: Send + Sync>() {}
    check::<Config>();
}

#[test]
fn get_exact_names_aliases_and_patterns() {
    let cfg = Config::new();
    assert_eq!(get(&cfg, &["SLAVEOF"]), kv(&[("SLAVEOF", "")]));
    assert_eq!(get(&cfg, &["maxmemory", "maxmemory"]), kv(&[("maxmemory", "0")]));
    assert_eq!(
        get(&cfg, &["hash-max-*"]),
        kv(&[
            ("hash-max-listpack-entries", "512"),
            ("hash-max-listpack-value", "64"),
            ("hash-max-ziplist-entries", "512"),
            ("hash-max-ziplist-value", "64"),
        ])
    );
    assert_eq!(
        get(&cfg, &["hash-max-ziplist-entries", "hash-max-listpack-entries"]),
        kv(&[("hash-max-listpack-entries", "512"), ("hash-max-ziplist-entries", "512")])
    );
    // An exact name matched first is reported as typed and not repeated by a pattern.
    let v = get(&cfg, &["MAXMEMORY", "max*"]);
    assert!(v.contains(&("MAXMEMORY".into(), "0".into())));
    assert!(!v.iter().any(|(k, _)| k == "maxmemory"));
    assert_eq!(v.len(), 6);
    assert_eq!(get(&cfg, &["LOGLEVEL", "[l]oglevel"]), kv(&[("LOGLEVEL", "notice")]));
    assert_eq!(get(&cfg, &["?ort"]), kv(&[("port", "6379")]));
    assert_eq!(get(&cfg, &["nonexistent"]), vec![]);
    // Hidden configs need their exact name.
    assert_eq!(get(&cfg, &["*exit*"]), vec![]);
    assert_eq!(get(&cfg, &["Use-Exit-On-Panic"]), kv(&[("Use-Exit-On-Panic", "no")]));
    assert_eq!(get(&cfg, &["set-max-listpack-entries"]), kv(&[("set-max-listpack-entries", "128")]));
    let slaves = get(&cfg, &["slave-*"]);
    assert_eq!(slaves.len(), 7);
}

#[test]
fn set_error_texts() {
    let cfg = Config::new();
    assert_eq!(
        set_err(&cfg, &[("maxmemory", "1"), ("foo", "2"), ("daemonize", "no")]),
        "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"
    );
    assert_eq!(
        set_err(&cfg, &[("daemonize", "no"), ("foo", "2")]),
        format!("{FAILED} 'daemonize') - can't set immutable config")
    );
    assert_eq!(
        set_err(&cfg, &[("SLAVEOF", "no one")]),
        format!("{FAILED} 'SLAVEOF') - can't set immutable config")
    );
    assert_eq!(
        set_err(&cfg, &[("maxmemory", "x"), ("daemonize", "no")]),
        format!("{FAILED} 'daemonize') - can't set immutable config")
    );
    assert_eq!(
        set_err(&cfg, &[("maxmemory", "1"), ("MAXMEMORY", "2")]),
        format!("{FAILED} 'MAXMEMORY') - duplicate parameter")
    );
    assert_eq!(set_err(&cfg, &[("dir", "/tmp")]), format!("{FAILED} 'dir') - can't set protected config"));
    assert_eq!(
        set_err(&cfg, &[("dbfilename", "a/b")]),
        format!("{FAILED} 'dbfilename') - can't set protected config")
    );
    // Value errors name the registered spelling (alias if used), not the typed one.
    assert_eq!(
        set_err(&cfg, &[("MaxMemory", "x")]),
        format!("{FAILED} 'maxmemory') - argument must be a memory value")
    );
    assert_eq!(
        set_err(&cfg, &[("HASH-MAX-ZIPLIST-ENTRIES", "x")]),
        format!("{FAILED} 'hash-max-ziplist-entries') - argument couldn't be parsed into an integer")
    );
    let cases: &[(&str, &str, &str)] = &[
        ("timeout", "-1", "argument must be between 0 and 2147483647 inclusive"),
        ("timeout", "007", "argument couldn't be parsed into an integer"),
        ("timeout", "+7", "argument couldn't be parsed into an integer"),
        ("maxclients", "-1", "argument must be between 1 and 4294967295 inclusive"),
        ("acllog-max-len", "-1", "argument must be between 0 and 9223372036854775807 inclusive"),
        ("slowlog-log-slower-than", "-2", "argument must be between -1 and 9223372036854775807 inclusive"),
        ("proto-max-bulk-len", "1k", "argument must be between 1048576 and 9223372036854775807 inclusive"),
        ("hash-max-listpack-value", "99999999999999999999999", "argument must be between 0 and 9223372036854775807 inclusive"),
        ("maxmemory", "-1", "argument must be a memory value"),
        ("maxmemory-clients", "101%", "percentage argument must be less or equal to 100"),
        ("maxmemory-clients", "-5%", "argument must be a memory or percent value"),
        ("appendonly", "maybe", "argument must be 'yes' or 'no'"),
        ("loglevel", "debug verbose", "argument(s) must be one of the following: debug, verbose, notice, warning"),
        (
            "maxmemory-policy",
            "foo",
            "argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction",
        ),
        ("shutdown-on-sigint", "save nosave", "shutdown options SAVE and NOSAVE can't be used simultaneously"),
        ("shutdown-on-sigint", "", "argument(s) must be one of the following: default, save, nosave, now, force"),
        ("save", "3600 1 300", "Invalid save parameters"),
        ("save", "0 1", "Invalid save parameters"),
        ("save", "  60   5  ", "Invalid save parameters"),
        ("client-output-buffer-limit", "normal 1 2", "Wrong number of arguments in buffer limit configuration."),
        ("client-output-buffer-limit", "master 1 2 3", "Invalid client class specified in buffer limit configuration."),
        ("client-output-buffer-limit", "slave 1 2 -3", "Error in hard, soft or soft_seconds setting in buffer limit configuration."),
        ("oom-score-adj-values", "1 2", "wrong number of arguments"),
        ("oom-score-adj-values", "1 2 3000", "Invalid oom-score-adj-values, elements must be between -2000 and 2000."),
        ("notify-keyspace-events", "xyz", "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."),
        ("latency-tracking-info-percentiles", "abc", "Invalid latency-tracking-info-percentiles parameters"),
        ("latency-tracking-info-percentiles", "101", "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"),
        ("cluster-announce-hostname", "a_b", "Hostnames may only contain alphanumeric characters, hyphens or dots"),
        ("proc-title-template", "{title}", "template format is invalid or contains unknown variables"),
        ("bind", "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17", "Too many bind addresses specified."),
    ];
    for (name, value, err) in cases {
        assert_eq!(set_err(&cfg, &[(name, value)]), format!("{FAILED} '{name}') - {err}"), "{name} {value}");
    }
}

#[test]
fn set_is_atomic() {
    let cfg = Config::new();
    assert!(set(&cfg, &[("maxmemory", "10"), ("timeout", "x")]).is_err());
    assert_eq!(cfg.maxmemory(), 0);
    assert_eq!(set(&cfg, &[("maxmemory", "10"), ("timeout", "5")]).unwrap(), vec!["maxmemory", "timeout"]);
    assert_eq!((cfg.maxmemory(), cfg.timeout()), (10, 5));
    // Unchanged values are not reported; aliases report the primary name.
    assert_eq!(
        set(&cfg, &[("maxmemory", "10"), ("slave-read-only", "no")]).unwrap(),
        vec!["replica-read-only"]
    );
    // The alias and the primary name are distinct entries: not a duplicate, last one wins.
    assert_eq!(
        set(&cfg, &[("hash-max-ziplist-entries", "1"), ("hash-max-listpack-entries", "2")]).unwrap(),
        vec!["hash-max-listpack-entries"]
    );
    assert_eq!(cfg.hash_max_listpack_entries(), 2);
}

#[test]
fn protected_and_loading_contexts() {
    let cfg = Config::load(None, &["--enable-protected-configs".into(), "local".into()]).unwrap();
    assert!(set(&cfg, &[("dbfilename", "x.rdb")]).is_err());
    let local = SetContext { local_client: true, loading: false };
    cfg.set_with(&[(b"dbfilename", b"x.rdb")], local).unwrap();
    assert_eq!(cfg.dbfilename(), "x.rdb");
    assert_eq!(
        cfg.set_with(&[(b"dbfilename", b"a/b")], local).unwrap_err(),
        format!("{FAILED} 'dbfilename') - dbfilename can't be a path, just a filename")
    );
    let loading = SetContext { local_client: true, loading: true };
    assert_eq!(cfg.set_with(&[(b"appendonly", b"yes")], loading).unwrap_err(), brim_config::LOADING_ERROR);
    cfg.set_with(&[(b"maxmemory", b"1")], loading).unwrap();
}

#[test]
fn memory_units_and_formats() {
    let cfg = Config::new();
    for (v, want) in [
        ("1k", "1000"),
        ("1K", "1000"),
        ("1kb", "1024"),
        ("1mb", "1048576"),
        ("1Gb", "1073741824"),
        ("1g", "1000000000"),
        ("1b", "1"),
        ("", "0"),
        ("99999999999999999999999", "18446744073709551615"),
        ("20000000000000000000k", "18446744073709550616"),
    ] {
        set(&cfg, &[("maxmemory", v)]).unwrap();
        assert_eq!(get1(&cfg, "maxmemory"), want, "{v}");
    }
    set(&cfg, &[("maxmemory-clients", "10%")]).unwrap();
    assert_eq!(get1(&cfg, "maxmemory-clients"), "10%");
    assert_eq!(cfg.maxmemory_clients(), MaxmemoryClients::Percent(10));
    set(&cfg, &[("maxmemory-clients", "0%")]).unwrap();
    assert_eq!(get1(&cfg, "maxmemory-clients"), "0");
    set(&cfg, &[("maxmemory-clients", "1mb")]).unwrap();
    assert_eq!(cfg.maxmemory_clients(), MaxmemoryClients::Bytes(1 << 20));
    // Odd but faithful: u64::MAX wraps to -1, i.e. 1%.
    set(&cfg, &[("maxmemory-clients", "18446744073709551615")]).unwrap();
    assert_eq!(get1(&cfg, "maxmemory-clients"), "1%");
    set(&cfg, &[("repl-backlog-size", "1k")]).unwrap();
    assert_eq!(cfg.repl_backlog_size(), 16384);
    set(&cfg, &[("hz", "1000")]).unwrap();
    assert_eq!(cfg.hz(), 500);
    set(&cfg, &[("hz", "0")]).unwrap();
    assert_eq!(cfg.hz(), 1);
    set(&cfg, &[("slowlog-log-slower-than", "-1")]).unwrap();
    assert_eq!(cfg.slowlog_log_slower_than(), -1);
    set(&cfg, &[("list-max-ziplist-size", "-5")]).unwrap();
    assert_eq!(cfg.list_max_listpack_size(), -5);
}

#[test]
fn enums_and_bools() {
    let cfg = Config::new();
    set(&cfg, &[("maxmemory-policy", "ALLKEYS-LFU"), ("appendonly", "YES"), ("loglevel", "DEBUG")]).unwrap();
    assert_eq!(cfg.maxmemory_policy(), MaxmemoryPolicy::AllkeysLfu);
    assert!(cfg.maxmemory_policy().is_lfu());
    assert_eq!(get1(&cfg, "maxmemory-policy"), "allkeys-lfu");
    assert!(cfg.appendonly());
    assert_eq!(get1(&cfg, "appendonly"), "yes");
    assert_eq!(get1(&cfg, "loglevel"), "debug");
    // Brim extension values are accepted although not listed in the error text.
    set(&cfg, &[("maxmemory-policy", "volatile-lrm")]).unwrap();
    assert_eq!(cfg.maxmemory_policy(), MaxmemoryPolicy::VolatileLrm);
    set(&cfg, &[("oom-score-adj", "relative")]).unwrap();
    assert_eq!(get1(&cfg, "oom-score-adj"), "yes");
    set(&cfg, &[("shutdown-on-sigint", "force now save")]).unwrap();
    assert_eq!(get1(&cfg, "shutdown-on-sigint"), "save now force");
    assert_eq!(cfg.shutdown_on_sigint(), shutdown::SAVE | shutdown::NOW | shutdown::FORCE);
    set(&cfg, &[("shutdown-on-sigint", "now default")]).unwrap();
    assert_eq!(get1(&cfg, "shutdown-on-sigint"), "now");
    assert!(set(&cfg, &[("activedefrag", "yes")])
        .unwrap_err()
        .contains("Active defragmentation cannot be enabled"));
    set(&cfg, &[("activedefrag", "no")]).unwrap();
}

#[test]
fn special_directives() {
    let cfg = Config::new();
    assert_eq!(get1(&cfg, "save"), "3600 1 300 100 60 10000");
    set(&cfg, &[("save", "+60 05")]).unwrap();
    assert_eq!(get1(&cfg, "save"), "60 5");
    assert_eq!(cfg.save(), vec![(60, 5)]);
    set(&cfg, &[("save", "")]).unwrap();
    assert_eq!(get1(&cfg, "save"), "");

    assert_eq!(
        get1(&cfg, "client-output-buffer-limit"),
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
    );
    set(&cfg, &[("client-output-buffer-limit", "normal 1mb 2kb 3")]).unwrap();
    set(&cfg, &[("client-output-buffer-limit", "replica 1 2 3 PUBSUB 4 5 6")]).unwrap();
    assert_eq!(get1(&cfg, "client-output-buffer-limit"), "normal 1048576 2048 3 slave 1 2 3 pubsub 4 5 6");
    assert_eq!(
        cfg.client_output_buffer_limit(ClientClass::Normal),
        ObufLimit { hard: 1 << 20, soft: 2048, soft_seconds: 3 }
    );
    assert_eq!(set(&cfg, &[("client-output-buffer-limit", "")]).unwrap(), Vec::<&str>::new());

    set(&cfg, &[("oom-score-adj-values", "-1 2 3")]).unwrap();
    assert_eq!(cfg.oom_score_adj_values(), [-1, 2, 3]);

    for (v, want) in [("KEA", "AKE"), ("Ex", "xE"), ("g$lshzxetmdn", "Am"), ("Kn", "nK"), ("", "")] {
        set(&cfg, &[("notify-keyspace-events", v)]).unwrap();
        assert_eq!(get1(&cfg, "notify-keyspace-events"), want);
    }
    set(&cfg, &[("notify-keyspace-events", "Ex")]).unwrap();
    assert_eq!(cfg.notify_keyspace_events(), notify::KEYEVENT | notify::EXPIRED);

    assert_eq!(get1(&cfg, "bind"), "* -::*");
    set(&cfg, &[("bind", "127.0.0.1 ::1")]).unwrap();
    assert_eq!(cfg.bind(), vec!["127.0.0.1".to_string(), "::1".to_string()]);
    set(&cfg, &[("bind", "")]).unwrap();
    assert_eq!(get1(&cfg, "bind"), "");

    assert_eq!(get1(&cfg, "latency-tracking-info-percentiles"), "50 99 99.9");
    set(&cfg, &[("latency-tracking-info-percentiles", "1e1 0.25 99.999999")]).unwrap();
    assert_eq!(get1(&cfg, "latency-tracking-info-percentiles"), "10 0.25 99.999999");

    assert_eq!(get1(&cfg, "replicaof"), "");
    assert!(cfg.set_internal("replicaof", "127.0.0.1 6380").unwrap());
    assert_eq!(get1(&cfg, "slaveof"), "127.0.0.1 6380");
    assert_eq!(cfg.replicaof(), Some(("127.0.0.1".to_string(), 6380)));
    cfg.set_internal("replicaof", "NO ONE").unwrap();
    assert_eq!(cfg.replicaof(), None);
}

#[test]
fn dir_is_resolved_and_validated() {
    let base = std::env::temp_dir().join(format!("brim-config-dir-{}", std::process::id()));
    std::fs::create_dir_all(base.join("sub")).unwrap();
    let cfg = Config::load(None, &["--enable-protected-configs".into(), "yes".into()]).unwrap();
    set(&cfg, &[("dir", base.to_str().unwrap())]).unwrap();
    set(&cfg, &[("dir", "sub")]).unwrap();
    assert_eq!(cfg.dir(), std::fs::canonicalize(base.join("sub")).unwrap());
    assert_eq!(
        set_err(&cfg, &[("dir", "/nonexistent-brim")]),
        format!("{FAILED} 'dir') - No such file or directory")
    );
    std::fs::write(base.join("file"), b"x").unwrap();
    assert_eq!(
        set_err(&cfg, &[("dir", base.join("file").to_str().unwrap())]),
        format!("{FAILED} 'dir') - Not a directory")
    );
    std::fs::remove_dir_all(&base).unwrap();
}

#[test]
fn concurrent_readers_and_writers() {
    let cfg = std::sync::Arc::new(Config::new());
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let cfg = cfg.clone();
            std::thread::spawn(move || {
                for i in 0..200u64 {
                    let v = (t * 1000 + i).to_string();
                    cfg.set(&[(b"maxmemory", v.as_bytes()), (b"requirepass", v.as_bytes())]).unwrap();
                    let _ = cfg.get(&[b"*"]);
                }
            })
        })
        .collect();
    for _ in 0..1000 {
        let _ = cfg.maxmemory();
        let _ = cfg.requirepass();
    }
    for w in writers {
        w.join().unwrap();
    }
}
