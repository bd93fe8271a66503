use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use brim_config::Config;
use brim_engine::Access;
use brim_resp::Reply;

use super::client as c;
use super::*;
use crate::client::{ClientHandle, ReplyMode};
use crate::stats::WorkerStats;
use crate::table::Handler;

struct Harness {
    shared: Arc<Shared>,
    worker: WorkerStats,
    client: Client,
    out: Reply,
}

fn add_handle(shared: &Shared, addr: &str) -> Arc<ClientHandle> {
    let id = shared.next_client_id.fetch_add(1, Relaxed);
    let (h, _rx) = ClientHandle::new(id, addr.to_string(), "127.0.0.1:6379".to_string(), 8, false, unix_ms());
    shared.add_client(h.clone());
    h
}

fn harness_with(pairs: &[(&str, &str)]) -> Harness {
    let config = Config::new();
    for (k, v) in pairs {
        config.set(&[(k.as_bytes(), v.as_bytes())]).expect("config set");
    }
    let shared = Arc::new(Shared::new(Arc::new(config), String::new()));
    let worker = WorkerStats::new(shared.table.len());
    let handle = add_handle(&shared, "127.0.0.1:50000");
    let client = Client::new(handle, shared.config.requirepass().is_none());
    Harness { shared, worker, client, out: Reply::new() }
}

fn harness() -> Harness {
    harness_with(&[])
}

impl Harness {
    fn run(&mut self, f: Handler, args: &[&str]) -> String {
        let argv: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.out.clear();
        {
            let mut ctx = Ctx {
                shared: &self.shared,
                client: &mut self.client,
                out: &mut self.out,
                acc: Access::at(unix_ms()),
                worker: &self.worker,
            };
            f(&mut ctx, &argv);
        }
        String::from_utf8_lossy(self.out.as_bytes()).into_owned()
    }
}

#[test]
fn ping_and_echo() {
    let mut h = harness();
    assert_eq!(h.run(ping, &["PING"]), "+PONG\r\n");
    assert_eq!(h.run(ping, &["PING", "hi"]), "$2\r\nhi\r\n");
    assert_eq!(h.run(ping, &["PING", "a", "b"]), "-ERR wrong number of arguments for 'ping' command\r\n");
    assert_eq!(h.run(echo, &["ECHO", ""]), "$0\r\n\r\n");
}

#[test]
fn select_checks_range() {
    let mut h = harness();
    assert_eq!(h.run(select, &["SELECT", "15"]), "+OK\r\n");
    assert_eq!(h.client.db, 15);
    assert_eq!(h.client.handle.db.load(Relaxed), 15);
    assert_eq!(h.run(select, &["SELECT", "16"]), "-ERR DB index is out of range\r\n");
    assert_eq!(h.run(select, &["SELECT", "-1"]), "-ERR DB index is out of range\r\n");
    assert_eq!(h.run(select, &["SELECT", "x"]), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(
        h.run(select, &["SELECT", "4294967296"]),
        "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n"
    );
    assert_eq!(h.client.db, 15);
}

#[test]
fn auth_without_password() {
    let mut h = harness();
    assert!(h.run(auth, &["AUTH", "x"]).starts_with("-ERR AUTH <password> called without"));
    assert_eq!(h.run(auth, &["AUTH", "default", "anything"]), "+OK\r\n");
    assert_eq!(h.run(auth, &["AUTH", "bob", "x"]), format!("-{WRONGPASS}\r\n"));
    assert_eq!(h.run(auth, &["AUTH", "a", "b", "c"]), "-ERR syntax error\r\n");
}

#[test]
fn auth_with_password() {
    let mut h = harness_with(&[("requirepass", "s3cret")]);
    assert!(!h.client.authenticated);
    assert_eq!(h.run(auth, &["AUTH", "wrong"]), format!("-{WRONGPASS}\r\n"));
    assert_eq!(h.run(auth, &["AUTH", "s3cre"]), format!("-{WRONGPASS}\r\n"));
    assert!(!h.client.authenticated);
    assert!(h.run(hello, &["HELLO", "3"]).starts_with("-NOAUTH HELLO must be called"));
    assert!(!h.out.is_resp3());
    assert_eq!(h.run(auth, &["AUTH", "s3cret"]), "+OK\r\n");
    assert!(h.client.authenticated && h.client.handle.authenticated.load(Relaxed));
    assert_eq!(h.run(reset, &["RESET"]), "+RESET\r\n");
    assert!(!h.client.authenticated);
    assert!(h.run(hello, &["HELLO", "2", "AUTH", "default", "s3cret"]).starts_with("*14\r\n"));
    assert!(h.client.authenticated);
}

#[test]
fn hello_switches_protocol() {
    let mut h = harness();
    let r = h.run(hello, &["HELLO", "3", "SETNAME", "conn1"]);
    assert!(r.starts_with("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n"), "{r}");
    assert!(r.contains("$5\r\nproto\r\n:3\r\n"));
    assert!(r.ends_with("$7\r\nmodules\r\n*0\r\n"));
    assert!(h.out.is_resp3());
    assert_eq!(h.client.handle.resp.load(Relaxed), 3);
    assert_eq!(h.client.handle.name.lock().as_deref(), Some(&b"conn1"[..]));
    let r = h.run(hello, &["HELLO"]);
    assert!(r.starts_with("%7\r\n"));
    let r = h.run(hello, &["HELLO", "2"]);
    assert!(r.starts_with("*14\r\n") && r.contains("proto\r\n:2\r\n"));
    assert_eq!(h.client.handle.resp.load(Relaxed), 2);
}

#[test]
fn hello_errors() {
    let mut h = harness();
    assert_eq!(h.run(hello, &["HELLO", "4"]), "-NOPROTO unsupported protocol version\r\n");
    assert_eq!(h.run(hello, &["HELLO", "x"]), "-ERR Protocol version is not an integer or out of range\r\n");
    assert_eq!(h.run(hello, &["HELLO", "3", "AUTH", "u"]), "-ERR Syntax error in HELLO option 'AUTH'\r\n");
    assert_eq!(h.run(hello, &["HELLO", "3", "SETNAME", "a b"]), format!("-{BAD_NAME}\r\n"));
    assert!(!h.out.is_resp3());
}

#[test]
fn names() {
    let mut h = harness();
    assert_eq!(h.run(c::getname, &["CLIENT", "GETNAME"]), "$-1\r\n");
    assert_eq!(h.run(c::setname, &["CLIENT", "SETNAME", "a\nb"]), format!("-{BAD_NAME}\r\n"));
    assert_eq!(h.run(c::setname, &["CLIENT", "SETNAME", "caf\u{e9}"]), format!("-{BAD_NAME}\r\n"));
    assert_eq!(h.run(c::setname, &["CLIENT", "SETNAME", "x~!"]), "+OK\r\n");
    assert_eq!(h.run(c::getname, &["CLIENT", "GETNAME"]), "$3\r\nx~!\r\n");
    assert_eq!(h.run(c::setname, &["CLIENT", "SETNAME", ""]), "+OK\r\n");
    assert_eq!(h.run(c::getname, &["CLIENT", "GETNAME"]), "$-1\r\n");
}

#[test]
fn reply_modes() {
    let mut h = harness();
    assert_eq!(h.run(c::reply, &["CLIENT", "REPLY", "SKIP"]), "");
    assert_eq!(h.client.reply_mode, ReplyMode::SkipNext);
    assert_eq!(h.run(c::reply, &["CLIENT", "REPLY", "OFF"]), "");
    assert_eq!(h.client.reply_mode, ReplyMode::Off);
    assert_eq!(h.run(c::reply, &["CLIENT", "REPLY", "SKIP"]), "");
    assert_eq!(h.client.reply_mode, ReplyMode::Off);
    assert_eq!(h.run(c::reply, &["CLIENT", "REPLY", "on"]), "+OK\r\n");
    assert_eq!(h.client.reply_mode, ReplyMode::On);
    assert_eq!(h.run(c::reply, &["CLIENT", "REPLY", "maybe"]), "-ERR syntax error\r\n");
}

#[test]
fn list_line_format() {
    let mut h = harness();
    let other = add_handle(&h.shared, "127.0.0.1:50001");
    *other.name.lock() = Some(b"worker".to_vec());
    other.set_last_command(crate::spec::find(b"get").expect("get spec"));
    other.no_evict.store(true, Relaxed);
    let r = h.run(c::list, &["CLIENT", "LIST"]);
    let body = r.split("\r\n").nth(1).unwrap_or_default().to_string();
    let lines: Vec<&str> = body.split_terminator('\n').collect();
    assert_eq!(lines.len(), 2, "{r}");
    let keys: Vec<&str> = lines[0].split(' ').map(|f| f.split('=').next().unwrap_or("")).collect();
    assert_eq!(
        keys.join(" "),
        "id addr laddr fd name age idle flags db sub psub ssub multi qbuf qbuf-free argv-mem \
         multi-mem rbs rbp obl oll omem tot-mem events cmd user redir resp"
    );
    assert!(lines[0]
        .starts_with(&format!("id={} addr=127.0.0.1:50000 laddr=127.0.0.1:6379 fd=8 name= ", h.client.id())));
    assert!(lines[0].contains(" flags=N db=0 ") && lines[0].contains(" argv-mem=10 "));
    assert!(lines[0].ends_with(" cmd=client|list user=default redir=-1 resp=2"));
    assert!(lines[1].contains(" name=worker ") && lines[1].contains(" flags=e "));
    assert!(lines[1].contains(" cmd=get "));
    let r = h.run(c::list, &["CLIENT", "LIST", "ID", &other.id.to_string(), "999"]);
    assert_eq!(r.matches("id=").count(), 1);
    assert_eq!(h.run(c::list, &["CLIENT", "LIST", "ID", "x"]), "-ERR Invalid client ID\r\n");
    assert_eq!(h.run(c::list, &["CLIENT", "LIST", "TYPE", "x"]), "-ERR Unknown client type 'x'\r\n");
    assert_eq!(h.run(c::list, &["CLIENT", "LIST", "TYPE", "pubsub"]), "$0\r\n\r\n");
    assert_eq!(h.run(c::list, &["CLIENT", "LIST", "TYPE"]), "-ERR syntax error\r\n");
}

#[test]
fn info_in_multi_shows_x() {
    let mut h = harness();
    h.client.multi = Some(vec![vec![b"SET".to_vec(), b"k".to_vec(), b"v".to_vec()]]);
    let r = h.run(c::info, &["CLIENT", "INFO"]);
    assert!(r.contains(" flags=x ") && r.contains(" multi=1 ") && r.ends_with("resp=2\n\r\n"), "{r}");
}

#[test]
fn kill_by_id_and_self() {
    let mut h = harness();
    let other = add_handle(&h.shared, "127.0.0.1:50001");
    let id = other.id.to_string();
    assert_eq!(h.run(c::kill, &["CLIENT", "KILL", "ID", &id]), ":1\r\n");
    assert!(other.killed.load(Relaxed));
    assert!(!h.shared.clients.lock().contains_key(&other.id));
    assert_eq!(h.run(c::kill, &["CLIENT", "KILL", "ID", &id]), ":0\r\n");
    assert_eq!(h.run(c::kill, &["CLIENT", "KILL", "ADDR", "127.0.0.1:50000"]), ":0\r\n");
    assert!(!h.client.close_after_reply);
    assert_eq!(h.run(c::kill, &["CLIENT", "KILL", "127.0.0.1:1"]), "-ERR No such client\r\n");
    assert_eq!(h.run(c::kill, &["CLIENT", "KILL", "ID", "0"]), "-ERR client-id should be greater than 0\r\n");
    assert_eq!(h.run(c::kill, &["CLIENT", "KILL", "USER", "bob"]), "-ERR No such user 'bob'\r\n");
    assert_eq!(h.run(c::kill, &["CLIENT", "KILL", "ID", "1", "SKIPME"]), "-ERR syntax error\r\n");
    assert_eq!(h.run(c::kill, &["CLIENT", "KILL", "127.0.0.1:50000"]), "+OK\r\n");
    assert!(h.client.close_after_reply);
}

#[test]
fn pause_state() {
    let mut h = harness();
    let shared = h.shared.clone();
    let Some(get) = shared.table.get(b"get") else { return };
    let Some(set) = shared.table.get(b"set") else { return };
    assert!(!paused_for(&h.shared, &h.client, get));
    assert_eq!(h.run(c::pause, &["CLIENT", "PAUSE", "10000", "WRITE"]), "+OK\r\n");
    assert!(!paused_for(&h.shared, &h.client, get));
    assert!(paused_for(&h.shared, &h.client, set));
    assert!(pause_remaining_ms(&h.shared).is_some_and(|ms| ms > 9000));
    // A shorter ALL pause makes the whole pause ALL, and does not shorten it.
    assert_eq!(h.run(c::pause, &["CLIENT", "PAUSE", "10", "ALL"]), "+OK\r\n");
    assert!(paused_for(&h.shared, &h.client, get));
    assert!(pause_remaining_ms(&h.shared).is_some_and(|ms| ms > 9000));
    assert_eq!(h.run(c::unpause, &["CLIENT", "UNPAUSE"]), "+OK\r\n");
    assert!(!paused_for(&h.shared, &h.client, set));
    assert_eq!(h.run(c::pause, &["CLIENT", "PAUSE", "9223372036854775807"]), "+OK\r\n");
    assert!(!paused_for(&h.shared, &h.client, set));
    assert_eq!(h.run(c::pause, &["CLIENT", "PAUSE", "-1"]), "-ERR timeout is negative\r\n");
    assert_eq!(
        h.run(c::pause, &["CLIENT", "PAUSE", "x", "y"]),
        "-ERR CLIENT PAUSE mode must be WRITE or ALL\r\n"
    );
    assert_eq!(
        h.run(c::pause, &["CLIENT", "pause", "1", "all", "x"]),
        "-ERR unknown subcommand or wrong number of arguments for 'pause'. Try CLIENT HELP.\r\n"
    );
}

#[test]
fn exec_with_queued_write_is_paused_in_write_mode() {
    let mut h = harness();
    let shared = h.shared.clone();
    let Some(exec) = shared.table.get(b"exec") else { return };
    if h.shared.table.get(b"set").is_none() {
        return;
    }
    h.client.multi = Some(vec![vec![b"GET".to_vec(), b"k".to_vec()]]);
    start_pause(&h.shared, unix_ms() + 10_000, true);
    assert!(!paused_for(&h.shared, &h.client, exec));
    h.client.multi = Some(vec![vec![b"set".to_vec(), b"k".to_vec(), b"v".to_vec()]]);
    assert!(paused_for(&h.shared, &h.client, exec));
    h.client.handle.monitor.store(true, Relaxed);
    assert!(!paused_for(&h.shared, &h.client, exec));
}

#[test]
fn reset_clears_connection_state() {
    let mut h = harness();
    h.run(hello, &["HELLO", "3", "SETNAME", "n"]);
    h.run(select, &["SELECT", "3"]);
    h.run(c::no_touch, &["CLIENT", "NO-TOUCH", "on"]);
    h.run(c::no_evict, &["CLIENT", "NO-EVICT", "on"]);
    h.client.multi = Some(Vec::new());
    h.client.reply_mode = ReplyMode::Off;
    assert_eq!(h.run(reset, &["RESET"]), "+RESET\r\n");
    assert!(!h.out.is_resp3());
    assert_eq!(h.client.db, 0);
    assert!(h.client.multi.is_none());
    assert_eq!(h.client.handle.multi.load(Relaxed), -1);
    assert!(h.client.handle.name.lock().is_none());
    assert_eq!(h.client.reply_mode, ReplyMode::On);
    assert!(!h.client.handle.no_touch.load(Relaxed));
    assert!(h.client.handle.no_evict.load(Relaxed), "Redis 7.0 keeps NO-EVICT across RESET");
    assert!(h.client.authenticated);
}

#[test]
fn misc_client_subcommands() {
    let mut h = harness();
    assert_eq!(h.run(c::id, &["CLIENT", "ID"]), format!(":{}\r\n", h.client.id()));
    assert_eq!(h.run(c::getredir, &["CLIENT", "GETREDIR"]), ":-1\r\n");
    assert_eq!(
        h.run(c::trackinginfo, &["CLIENT", "TRACKINGINFO"]),
        "*6\r\n$5\r\nflags\r\n*1\r\n$3\r\noff\r\n$8\r\nredirect\r\n:-1\r\n$8\r\nprefixes\r\n*0\r\n"
    );
    assert_eq!(h.run(c::unblock, &["CLIENT", "UNBLOCK", "1"]), ":0\r\n");
    assert_eq!(
        h.run(c::unblock, &["CLIENT", "UNBLOCK", "x", "y"]),
        "-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n"
    );
    assert_eq!(h.run(c::setinfo, &["CLIENT", "SETINFO", "LIB-NAME", "redis-py"]), "+OK\r\n");
    assert_eq!(h.client.handle.lib.lock().0, b"redis-py".to_vec());
    assert_eq!(
        h.run(c::setinfo, &["CLIENT", "SETINFO", "lib-ver", "1 2"]),
        "-ERR lib-ver cannot contain spaces, newlines or special characters.\r\n"
    );
    assert_eq!(h.run(c::setinfo, &["CLIENT", "SETINFO", "x", "1"]), "-ERR Unrecognized option 'x'\r\n");
    let help = h.run(c::help, &["CLIENT", "HELP"]);
    assert!(help.starts_with("*48\r\n+CLIENT <subcommand>") && help.ends_with("+    Prints this help.\r\n"));
}

#[test]
fn quit_closes_after_reply() {
    let mut h = harness();
    assert_eq!(h.run(quit, &["QUIT"]), "+OK\r\n");
    assert!(h.client.close_after_reply);
}
