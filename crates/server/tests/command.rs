//! COMMAND and its subcommands, compared byte for byte with the real Redis 7.0.

mod common;

use common::{assert_same, pair, Server};

#[test]
fn command_subcommands_match_redis() {
    let (_brim, _redis, mut b, mut r) = pair(&[]);
    assert_same(
        &mut b,
        &mut r,
        &[
            &["COMMAND", "INFO", "get", "set", "nosuch", "config|get"],
            &["COMMAND", "DOCS", "get", "set", "mset"],
            &["COMMAND", "DOCS", "nosuch"],
            &["COMMAND", "GETKEYS", "mset", "a", "1", "b", "2"],
            &["COMMAND", "GETKEYS", "nosuch", "a"],
            &["COMMAND", "GETKEYS", "ping"],
            &["COMMAND", "GETKEYS", "get"],
            &["COMMAND", "GETKEYSANDFLAGS", "set", "a", "b"],
            &["COMMAND", "GETKEYSANDFLAGS", "set", "a", "b", "GET"],
            &["COMMAND", "GETKEYSANDFLAGS", "rename", "a", "b"],
            &["COMMAND", "LIST", "FILTERBY", "foo", "bar"],
            &["COMMAND", "LIST", "FILTERBY", "aclcat", "nosuch"],
            &["COMMAND", "COUNT", "x"],
            &["COMMAND", "HELP"],
            &["COMMAND", "FOO"],
            &["COMMAND", "INFO", "command|count"],
        ],
    );
    // HELLO 3 turns the sets and maps into RESP3 types.
    for c in [&mut b, &mut r] {
        c.cmd(&["HELLO", "3"]);
    }
    assert_same(&mut b, &mut r, &[&["COMMAND", "INFO", "get", "set"], &["COMMAND", "DOCS", "set"]]);
}

#[test]
fn command_lists_only_what_brim_implements_and_counts_agree() {
    let brim = Server::start(&[]);
    let mut b = brim.raw();
    let count = String::from_utf8(b.cmd(&["COMMAND", "COUNT"])).unwrap();
    let n: usize = count.trim_start_matches(':').trim().parse().unwrap();
    assert!(n > 50, "{count}");
    let all = b.cmd(&["COMMAND"]);
    assert!(all.starts_with(format!("*{n}\r\n").as_bytes()));
    let list = b.cmd(&["COMMAND", "LIST", "FILTERBY", "pattern", "get*"]);
    assert!(String::from_utf8_lossy(&list).contains("$3\r\nget\r\n"));
}
