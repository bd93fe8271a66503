//! Loading redis.conf files and `--name value` arguments; fatal texts verified against
//! `redis-server` 7.0.15.

use std::path::PathBuf;

use brim_config::{Config, ConfigError, DirectiveHandler};

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("brim-config-load-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn args(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn load_err(a: &[&str]) -> String {
    Config::load(None, &args(a)).unwrap_err().to_string()
}

fn fatal(line: usize, text: &str, msg: &str) -> String {
    format!(
        "*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line {line}\n>>> '{text}'\n{msg}"
    )
}

#[test]
fn argument_errors() {
    assert_eq!(
        load_err(&["--port", "abc"]),
        fatal(2, "port \"abc\"", "argument couldn't be parsed into an integer")
    );
    assert_eq!(
        load_err(&["--timeout", "-1"]),
        fatal(2, "timeout \"-1\"", "argument must be between 0 and 2147483647 inclusive")
    );
    assert_eq!(
        load_err(&["--save", "60", "1", "--maxmemory", "x"]),
        fatal(3, "maxmemory \"x\"", "argument must be a memory value")
    );
    assert_eq!(
        load_err(&["--bogus", "1", "2"]),
        fatal(2, "bogus \"1\" \"2\"", "Bad directive or wrong number of arguments")
    );
    assert_eq!(
        load_err(&["--databases", "0"]),
        fatal(2, "databases \"0\"", "argument must be between 1 and 2147483647 inclusive")
    );
    assert_eq!(
        load_err(&["--hz", "--port", "0"]),
        fatal(2, "hz \"--port\" \"0\"", "wrong number of arguments")
    );
    assert_eq!(load_err(&["--hz"]), fatal(2, "hz", "wrong number of arguments"));
    assert_eq!(
        load_err(&["--unixsocketperm", "8"]),
        fatal(2, "unixsocketperm \"8\"", "argument couldn't be parsed as an octal number")
    );
    assert_eq!(
        load_err(&["--unixsocketperm", "1000"]),
        fatal(2, "unixsocketperm \"1000\"", "argument must be between 0 and 777 inclusive")
    );
    assert_eq!(
        load_err(&["--socket-mark-id", "-1"]),
        fatal(2, "socket-mark-id \"-1\"", "argument must be between 0 and 4294967295 inclusive")
    );
    assert_eq!(
        load_err(&["--dbfilename", "a/b"]),
        fatal(2, "dbfilename \"a/b\"", "dbfilename can't be a path, just a filename")
    );
    assert_eq!(
        load_err(&["--appendfilename", ""]),
        fatal(2, "appendfilename \"\"", "appendfilename can't be empty")
    );
    assert_eq!(
        load_err(&["--dir", "/nonexistent-brim"]),
        fatal(2, "dir \"/nonexistent-brim\"", "No such file or directory")
    );
    assert_eq!(load_err(&["--replicaof", "a"]), fatal(2, "replicaof \"a\"", "wrong number of arguments"));
    assert_eq!(
        load_err(&["--replicaof", "a", "99999"]),
        fatal(2, "replicaof \"a\" \"99999\"", "Invalid master port")
    );
    assert_eq!(load_err(&["--a.b"]), fatal(2, "a.b", "Module config specified without value"));
    assert_eq!(load_err(&["--user"]), fatal(2, "user", "Bad directive or wrong number of arguments"));
    assert_eq!(
        load_err(&["--loglevel", "debug verbose"]),
        fatal(
            2,
            "loglevel \"debug verbose\"",
            "argument(s) must be one of the following: debug, verbose, notice, warning"
        )
    );
    assert_eq!(
        load_err(&["--io-threads", "129"]),
        fatal(2, "io-threads \"129\"", "argument must be between 1 and 128 inclusive")
    );
    assert_eq!(
        load_err(&["--oom-score-adj-values", "1", "2"]),
        fatal(2, "oom-score-adj-values \"1\" \"2\"", "wrong number of arguments")
    );
    assert_eq!(load_err(&["--save", "60 1 x"]), fatal(2, "save \"60 1 x\"", "Invalid save parameters"));
    assert_eq!(
        load_err(&["--lua-replicate-commands", "1", "2"]),
        fatal(2, "lua-replicate-commands \"1\" \"2\"", "Bad directive or wrong number of arguments")
    );
    assert_eq!(
        load_err(&["--cluster-enabled", "yes", "--replicaof", "1.2.3.4", "5"]),
        "*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nreplicaof directive not allowed in cluster mode"
    );
    assert_eq!(
        load_err(&["--logfile", "/nonexistent-brim/x.log"]),
        "*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nCan't open the log file: No such file or directory"
    );
    let e = Config::load(None, &args(&["/nonexistent-brim.conf"])).unwrap_err();
    assert_eq!(
        e,
        ConfigError::Open {
            path: "/nonexistent-brim.conf".into(),
            reason: "No such file or directory".into()
        }
    );
    assert_eq!(
        e.to_string(),
        "Fatal error, can't open config file '/nonexistent-brim.conf': No such file or directory"
    );
}

#[test]
fn file_errors() {
    let d = tmpdir("errors");
    let cases = [
        ("port 7000\nport \"abc\"\n", fatal(2, "port \"abc\"", "argument couldn't be parsed into an integer")),
        ("# c\n\nfoo bar\n", fatal(3, "foo bar", "Bad directive or wrong number of arguments")),
        ("port 1 2\n", fatal(1, "port 1 2", "wrong number of arguments")),
        ("port \"1\n", fatal(1, "port \"1", "Unbalanced quotes in configuration line")),
        ("daemonize maybe\n", fatal(1, "daemonize maybe", "argument must be 'yes' or 'no'")),
        (
            "  maxmemory-policy foo  \r\n",
            fatal(
                1,
                "maxmemory-policy foo",
                "argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction",
            ),
        ),
        ("x.y\n", fatal(1, "x.y", "Module config specified without value")),
        ("sentinel monitor a\n", fatal(1, "sentinel monitor a", "sentinel directive while not in sentinel mode")),
    ];
    for (i, (content, want)) in cases.iter().enumerate() {
        let f = d.join(format!("{i}.conf"));
        std::fs::write(&f, content).unwrap();
        let got = Config::load(Some(&f), &[]).unwrap_err().to_string();
        assert_eq!(&got, want, "{content:?}");
    }
    // Options after a file are numbered after the file's lines.
    let f = d.join("ok.conf");
    std::fs::write(&f, "port 7000\n").unwrap();
    let got = Config::load(None, &args(&[f.to_str().unwrap(), "--hz", "abc"])).unwrap_err().to_string();
    assert_eq!(got, fatal(3, "hz \"abc\"", "argument couldn't be parsed into an integer"));
    // An error inside an include reports the included file's line.
    let inc = d.join("inc.conf");
    std::fs::write(&inc, format!("port 7391\ninclude {}\n", d.join("0.conf").display())).unwrap();
    let got = Config::load(Some(&inc), &[]).unwrap_err().to_string();
    assert_eq!(got, fatal(2, "port \"abc\"", "argument couldn't be parsed into an integer"));
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn save_on_the_command_line() {
    let save = |a: &[&str]| Config::load(None, &args(a)).unwrap().get_value("save").unwrap();
    assert_eq!(save(&["--port", "7000"]), "3600 1 300 100 60 10000");
    assert_eq!(save(&["--save", "", "--port", "7000"]), "");
    assert_eq!(save(&["--save"]), "");
    assert_eq!(save(&["--save", "--port", "7000"]), "");
    assert_eq!(save(&["--save", "60", "1"]), "60 1");
    assert_eq!(save(&["--save", "60 1"]), "60 1");
    assert_eq!(save(&["--save", "60", "1", "--save", "300", "10"]), "60 1 300 10");
    let cfg = Config::load(None, &args(&["--save", "--port", "7001", "--port 7002"])).unwrap();
    assert_eq!(cfg.port(), 7002);
}

#[test]
fn file_parsing() {
    let d = tmpdir("parse");
    let f = d.join("redis.conf");
    std::fs::write(
        &f,
        "# comment\n\n   # indented comment\nMaxMemory 1gb\nmaxmemory-policy ALLKEYS-LRU\nbind 127.0.0.1 ::1\n\
         client-output-buffer-limit normal 1mb 2mb 3 replica 1 2 3\nnotify-keyspace-events \"KEA\"\n\
         slaveof 127.0.0.1 6390\nshutdown-on-sigint save now\nlatency-tracking-info-percentiles \"1 2 3\"\n\
         unixsocketperm 755\nrequirepass \"a\\x41\"\nsave 60 1\nsave 300 10\nlist-max-ziplist-entries 5\n\
         hz \"1000\"\nrename-command FLUSHALL \"\"\nuser bob on\nloadmodule /x.so a b\nfoo.bar 1\nsentinel\n",
    )
    .unwrap();
    let cfg = Config::load(Some(&f), &[]).unwrap();
    assert_eq!(cfg.config_file().as_deref(), Some(f.as_path()));
    assert_eq!(cfg.maxmemory(), 1 << 30);
    assert_eq!(cfg.get_value("maxmemory-policy").unwrap(), "allkeys-lru");
    assert_eq!(cfg.bind(), vec!["127.0.0.1", "::1"]);
    assert_eq!(
        cfg.get_value("client-output-buffer-limit").unwrap(),
        "normal 1048576 2097152 3 slave 1 2 3 pubsub 33554432 8388608 60"
    );
    assert_eq!(cfg.get_value("notify-keyspace-events").unwrap(), "AKE");
    assert_eq!(cfg.get_value("replicaof").unwrap(), "127.0.0.1 6390");
    assert_eq!(cfg.get_value("shutdown-on-sigint").unwrap(), "save now");
    assert_eq!(cfg.latency_tracking_info_percentiles(), vec![1.0, 2.0, 3.0]);
    assert_eq!(cfg.unixsocketperm(), 0o755);
    assert_eq!(cfg.get_value("unixsocketperm").unwrap(), "755");
    assert_eq!(cfg.requirepass().as_deref(), Some("aA"));
    assert_eq!(cfg.save(), vec![(60, 1), (300, 10)]);
    assert_eq!(cfg.hz(), 500);
    assert_eq!(
        cfg.extra_directives(),
        vec![
            args(&["rename-command", "FLUSHALL", ""]),
            args(&["user", "bob", "on"]),
            args(&["loadmodule", "/x.so", "a", "b"]),
            args(&["foo.bar", "1"]),
        ]
    );

    // A handler can reject directives with its own message.
    struct Reject;
    impl DirectiveHandler for Reject {
        fn directive(&mut self, args: &[String]) -> Result<(), String> {
            if args[0] == "rename-command" {
                Err("No such command in rename-command".into())
            } else {
                Ok(())
            }
        }
    }
    let e = Config::load_with(Some(&f), &[], Some(&mut Reject)).unwrap_err().to_string();
    assert_eq!(e, fatal(18, "rename-command FLUSHALL \"\"", "No such command in rename-command"));
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn includes_and_the_save_quirk() {
    let d = tmpdir("include");
    std::fs::write(d.join("h1.conf"), "hz 20\n").unwrap();
    std::fs::write(d.join("h2.conf"), "timeout 7\n").unwrap();
    let main = d.join("main.conf");
    // Like Redis, lines after an include no longer accumulate `save` points.
    std::fs::write(
        &main,
        format!(
            "save 60 1\ninclude {}/h*.conf\ninclude {}/none*.conf\nsave 300 10\nsave 900 1\n",
            d.display(),
            d.display()
        ),
    )
    .unwrap();
    let cfg = Config::load(Some(&main), &[]).unwrap();
    assert_eq!((cfg.hz(), cfg.timeout()), (20, 7));
    assert_eq!(cfg.save(), vec![(900, 1)]);
    std::fs::write(&main, "include nonexistent-brim.conf\n").unwrap();
    assert_eq!(
        Config::load(Some(&main), &[]).unwrap_err().to_string(),
        "Fatal error, can't open config file 'nonexistent-brim.conf': No such file or directory"
    );
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn typed_getters_defaults() {
    let cfg = Config::new();
    assert_eq!(cfg.port(), 6379);
    assert_eq!(cfg.databases(), 16);
    assert_eq!(cfg.io_threads(), std::thread::available_parallelism().map_or(1, |n| n.get()).min(128));
    assert_eq!(cfg.requirepass(), None);
    assert_eq!(cfg.timeout(), 0);
    assert_eq!(cfg.tcp_keepalive(), 300);
    assert_eq!(cfg.maxclients(), 10000);
    assert_eq!(cfg.proto_max_bulk_len(), 512 << 20);
    assert_eq!(cfg.client_query_buffer_limit(), 1 << 30);
    assert_eq!(cfg.hz(), 10);
    assert_eq!(cfg.unixsocket(), None);
    assert_eq!(cfg.logfile(), "");
    assert_eq!(cfg.loglevel(), brim_config::LogLevel::Notice);
    assert!(cfg.protected_mode());
    assert_eq!(cfg.slowlog_log_slower_than(), 10000);
    assert_eq!(cfg.slowlog_max_len(), 128);
    assert!(!cfg.lazyfree_lazy_user_del());
    assert_eq!(cfg.maxmemory_samples(), 5);
    assert_eq!(cfg.maxmemory_eviction_tenacity(), 10);
    assert_eq!(cfg.lfu_log_factor(), 10);
    assert_eq!(cfg.lfu_decay_time(), 1);
    assert_eq!(cfg.active_expire_effort(), 1);
    assert_eq!(cfg.notify_keyspace_events(), 0);
    assert_eq!((cfg.hash_max_listpack_entries(), cfg.hash_max_listpack_value()), (512, 64));
    assert_eq!(
        (cfg.list_max_listpack_size(), cfg.list_compress_depth()),
        (-2, 1),
        "Brim compresses interior list chunks by default"
    );
    assert_eq!(cfg.set_max_intset_entries(), 512);
    assert_eq!((cfg.set_max_listpack_entries(), cfg.set_max_listpack_value()), (128, 64));
    assert_eq!((cfg.zset_max_listpack_entries(), cfg.zset_max_listpack_value()), (128, 64));
    assert_eq!(cfg.dir(), std::env::current_dir().unwrap());
    assert_eq!(cfg.dbfilename(), "dump.rdb");
    assert!(!cfg.appendonly());
    assert_eq!(cfg.save(), vec![(3600, 1), (300, 100), (60, 10000)]);
    assert_eq!(cfg.maxmemory_policy(), brim_config::MaxmemoryPolicy::NoEviction);
    assert_eq!(cfg.bind(), vec!["*", "-::*"]);
    assert!(cfg.activerehashing());
    assert!(cfg.latency_tracking());
    assert_eq!(cfg.maxmemory_clients(), brim_config::MaxmemoryClients::Bytes(0));
    assert_eq!(cfg.config_file(), None);
    assert_eq!(cfg.rewrite().unwrap_err(), "ERR The server is running without a config file");
}
