//! The dataset as commands: the AOF base Redis 7.0 writes with `aof-use-rdb-preamble no`
//! (aof.c, `rewriteAppendOnlyFileRio`).
//!
//! Per non-empty database `SELECT <db>` ([`write_select`]), then per key ([`write_entry`]):
//! - a string: `SET key value`;
//! - a list: `RPUSH key e1 … e64`, a command per 64 elements (`AOF_REWRITE_ITEMS_PER_CMD`);
//! - a set: `SADD key m1 … m64`, likewise;
//! - a sorted set: `ZADD key score member …`, 64 pairs per command, scores as `%.17g`
//!   (`inf`, `-inf`);
//! - a hash: `HMSET key field value …`, 64 pairs per command;
//! - then, if the key has a time to live, `PEXPIREAT key <unix ms>`.
//!
//! Every command is a RESP array of bulk strings, as [`crate::aof::encode_command`] writes
//! them, so the result replays like an incremental file. No header, footer or checksum.
//! Access data (LRU/LFU) is not written: Redis's command form has no place for it.

use brim_engine::list::ListRef;
use brim_engine::packed::{self, Elem};
use brim_engine::set::SetRef;
use brim_engine::zset::ZRef;
use brim_engine::{Access, EntryRef, Object, PackedKind, StrRef, ValueRef};
use brim_resp::number::format_double;

use crate::aof::encode_command;
use crate::rdb::Result;

/// Most elements (or pairs) one rewritten command carries (Redis's
/// `AOF_REWRITE_ITEMS_PER_CMD`).
pub const ITEMS_PER_CMD: usize = 64;

/// Append `SELECT <db>`.
pub fn write_select(buf: &mut Vec<u8>, db: usize) {
    encode_command(buf, &[&b"SELECT"[..], db.to_string().as_bytes()]);
}

/// Append the commands that rebuild key `e`: its value, then its expire time if it has one.
/// `acc` is unused (the command form keeps no access data); it is there so that this has
/// the shape of [`crate::rdb::encode::write_entry`].
pub fn write_entry(buf: &mut Vec<u8>, e: &EntryRef<'_>, _acc: &Access) -> Result<()> {
    let key = e.key();
    write_value(buf, key, e.value());
    if let Some(when) = e.expire_at() {
        encode_command(buf, &[&b"PEXPIREAT"[..], key, when.to_string().as_bytes()]);
    }
    Ok(())
}

/// Append the commands that build value `v` at `key`.
fn write_value(buf: &mut Vec<u8>, key: &[u8], v: ValueRef<'_>) {
    match v {
        ValueRef::Str(StrRef::Int(n)) => encode_command(buf, &[&b"SET"[..], key, n.to_string().as_bytes()]),
        ValueRef::Str(StrRef::Bytes(b)) => encode_command(buf, &[&b"SET"[..], key, b]),
        ValueRef::Packed(PackedKind::List, b) => write_list(buf, key, ListRef::packed(b)),
        ValueRef::Obj(Object::List(l)) => write_list(buf, key, l.as_ref()),
        ValueRef::Packed(PackedKind::Hash, b) => {
            let mut w = Batches::new(buf, b"HMSET", key, 2);
            packed::iter(b).for_each(|(_, e)| w.arg(e));
            w.finish();
        }
        ValueRef::Obj(Object::Hash(h)) => {
            let mut w = Batches::new(buf, b"HMSET", key, 2);
            h.for_each(|f, v| {
                w.arg(Elem::Bytes(f));
                w.arg(Elem::Bytes(v));
            });
            w.finish();
        }
        ValueRef::Packed(PackedKind::Set | PackedKind::SetInts, _) | ValueRef::Obj(Object::Set(_)) => {
            let mut w = Batches::new(buf, b"SADD", key, 1);
            SetRef::of(v).iter().for_each(|s| s.for_each(|m| w.arg(m)));
            w.finish();
        }
        ValueRef::Packed(PackedKind::ZSet, _) | ValueRef::Obj(Object::ZSet(_)) => {
            let mut w = Batches::new(buf, b"ZADD", key, 2);
            ZRef::of(v).iter().for_each(|z| {
                z.for_each(false, |m, score| {
                    w.arg(Elem::Double(score));
                    w.arg(m);
                })
            });
            w.finish();
        }
    }
}

/// `RPUSH` batches of a list, head to tail.
fn write_list(buf: &mut Vec<u8>, key: &[u8], list: ListRef<'_>) {
    let mut w = Batches::new(buf, b"RPUSH", key, 1);
    list.for_each(|e| {
        w.arg(e);
        true
    });
    w.finish();
}

/// Writes a collection as `cmd key item…` commands of at most [`ITEMS_PER_CMD`] items, an
/// item being `per_item` arguments. The current command's arguments wait in `pending` (at
/// most one command's worth) until its count is known.
struct Batches<'b> {
    out: &'b mut Vec<u8>,
    cmd: &'static [u8],
    key: &'b [u8],
    per_item: usize,
    /// Arguments in `pending`.
    args: usize,
    /// The current command's arguments, each a bulk string.
    pending: Vec<u8>,
}

impl<'b> Batches<'b> {
    fn new(out: &'b mut Vec<u8>, cmd: &'static [u8], key: &'b [u8], per_item: usize) -> Self {
        Batches { out, cmd, key, per_item, args: 0, pending: Vec::new() }
    }

    /// Add one argument (a command is written once it holds [`ITEMS_PER_CMD`] items).
    fn arg(&mut self, e: Elem<'_>) {
        match e {
            Elem::Bytes(b) => write_bulk(&mut self.pending, b),
            Elem::Int(n) => write_bulk(&mut self.pending, n.to_string().as_bytes()),
            Elem::Double(d) => write_bulk(&mut self.pending, format_double(d).as_bytes()),
        }
        self.args += 1;
        if self.args == ITEMS_PER_CMD * self.per_item {
            self.flush();
        }
    }

    /// Write the current command, if it has any argument.
    fn flush(&mut self) {
        if self.args == 0 {
            return;
        }
        let out = &mut *self.out;
        out.push(b'*');
        out.extend_from_slice((self.args + 2).to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
        write_bulk(out, self.cmd);
        write_bulk(out, self.key);
        out.extend_from_slice(&self.pending);
        self.pending.clear();
        self.args = 0;
    }

    /// Write what is left.
    fn finish(mut self) {
        self.flush();
    }
}

/// Append one RESP bulk string.
fn write_bulk(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'$');
    out.extend_from_slice(s.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(s);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aof::{read_command, Argv};
    use crate::rdb::Value;
    use crate::values::{with_new_value, Limits};
    use brim_engine::{SetExpire, Stripe};

    fn b(s: &str) -> Vec<u8> {
        s.as_bytes().to_vec()
    }

    /// Every command in `buf`, parsed back.
    fn commands(buf: &[u8]) -> Vec<Argv> {
        let mut out = Vec::new();
        let mut pos = 0;
        while let Some((argv, next)) = read_command(buf, pos).unwrap() {
            out.push(argv);
            pos = next;
        }
        out
    }

    /// The commands [`write_entry`] writes for `v` stored at `key` (with `expire`).
    fn rewrite(key: &str, v: &Value, expire: SetExpire) -> Vec<Argv> {
        let acc = Access::at(1_000_000);
        let mut s = Stripe::new(1);
        with_new_value(v, &Limits::default(), |nv| s.set(key.as_bytes(), nv, expire, &acc)).unwrap();
        let mut buf = Vec::new();
        let mut n = 0;
        s.for_each(&acc, |e| {
            write_entry(&mut buf, &e, &acc).unwrap();
            n += 1;
        });
        assert_eq!(n, 1);
        commands(&buf)
    }

    fn encoding(v: &Value) -> &'static str {
        let acc = Access::at(1_000_000);
        let mut s = Stripe::new(1);
        with_new_value(v, &Limits::default(), |nv| s.set(b"k", nv, SetExpire::Clear, &acc)).unwrap();
        let mut enc = "";
        s.for_each(&acc, |e| {
            enc = match e.value() {
                ValueRef::Str(_) => "str",
                ValueRef::Packed(PackedKind::SetInts, _) => "intset",
                ValueRef::Packed(..) => "packed",
                ValueRef::Obj(_) => "big",
            }
        });
        enc
    }

    fn argv(words: &[&str]) -> Argv {
        words.iter().map(|w| b(w)).collect()
    }

    #[test]
    fn select_is_a_resp_command() {
        let mut buf = Vec::new();
        write_select(&mut buf, 3);
        assert_eq!(buf, b"*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n");
    }

    #[test]
    fn strings_become_set_and_ttls_pexpireat() {
        assert_eq!(
            rewrite("s", &Value::Str(b("hello")), SetExpire::Clear),
            vec![argv(&["SET", "s", "hello"])]
        );
        assert_eq!(
            rewrite("i", &Value::Str(b("-12345")), SetExpire::Clear),
            vec![argv(&["SET", "i", "-12345"])]
        );
        let bin: Vec<u8> = (0..=255u8).collect();
        assert_eq!(
            rewrite("b", &Value::Str(bin.clone()), SetExpire::At(5_000_000)),
            vec![vec![b("SET"), b("b"), bin], argv(&["PEXPIREAT", "b", "5000000"])]
        );
    }

    #[test]
    fn lists_become_rpush_batches_of_64() {
        let small = Value::List(vec![b("a"), b("7"), b("-3")]);
        assert_eq!(encoding(&small), "packed");
        assert_eq!(rewrite("l", &small, SetExpire::Clear), vec![argv(&["RPUSH", "l", "a", "7", "-3"])]);
        let items: Vec<Vec<u8>> = (0..150).map(|i| format!("item{i}").into_bytes()).collect();
        let big = Value::List(items.clone());
        let cmds = rewrite("bl", &big, SetExpire::At(5_000_000));
        assert_eq!(cmds.iter().map(Vec::len).collect::<Vec<_>>(), [66, 66, 24, 3]);
        let pushed: Vec<Vec<u8>> = cmds[..3].iter().flat_map(|c| c[2..].to_vec()).collect();
        assert_eq!(pushed, items);
        assert!(cmds[..3].iter().all(|c| c[0] == b"RPUSH" && c[1] == b"bl"));
        assert_eq!(cmds[3], argv(&["PEXPIREAT", "bl", "5000000"]));
    }

    /// The members of `SADD` commands of `key` (checked to be batches of at most 64).
    fn sadd_members(cmds: &[Argv], key: &str) -> Vec<Vec<u8>> {
        let mut m = Vec::new();
        for c in cmds {
            assert!(c[0] == b"SADD" && c[1] == key.as_bytes() && c.len() <= 66, "{c:?}");
            m.extend(c[2..].iter().cloned());
        }
        m.sort();
        m
    }

    #[test]
    fn sets_of_every_encoding_become_sadd_batches() {
        let ints = Value::Set(vec![b("3"), b("-5"), b("100000")]);
        assert_eq!(encoding(&ints), "intset");
        assert_eq!(
            sadd_members(&rewrite("si", &ints, SetExpire::Clear), "si"),
            [b("-5"), b("100000"), b("3")]
        );
        let strs = Value::Set(vec![b("x"), b("y")]);
        assert_eq!(encoding(&strs), "packed");
        assert_eq!(sadd_members(&rewrite("ss", &strs, SetExpire::Clear), "ss"), [b("x"), b("y")]);
        let mut members: Vec<Vec<u8>> = (0..300).map(|i| format!("m{i}").into_bytes()).collect();
        let big = Value::Set(members.clone());
        assert_eq!(encoding(&big), "big");
        let cmds = rewrite("bs", &big, SetExpire::Clear);
        assert_eq!(cmds.iter().map(Vec::len).collect::<Vec<_>>(), [66, 66, 66, 66, 46]);
        members.sort();
        assert_eq!(sadd_members(&cmds, "bs"), members);
    }

    #[test]
    fn hashes_become_hmset_batches_of_64_pairs() {
        let small = Value::Hash(vec![(b("f1"), b("v1")), (b("f2"), b("22"))]);
        assert_eq!(encoding(&small), "packed");
        assert_eq!(
            rewrite("h", &small, SetExpire::Clear),
            vec![argv(&["HMSET", "h", "f1", "v1", "f2", "22"])]
        );
        let mut pairs: Vec<(Vec<u8>, Vec<u8>)> =
            (0..150).map(|i| (format!("f{i}").into_bytes(), format!("v{i}").into_bytes())).collect();
        let big = Value::Hash(pairs.clone());
        assert_eq!(encoding(&big), "big");
        let cmds = rewrite("bh", &big, SetExpire::Clear);
        assert_eq!(cmds.iter().map(Vec::len).collect::<Vec<_>>(), [130, 130, 46]);
        let mut got: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        for c in &cmds {
            assert!(c[0] == b"HMSET" && c[1] == b"bh");
            got.extend(c[2..].chunks(2).map(|p| (p[0].clone(), p[1].clone())));
        }
        got.sort();
        pairs.sort();
        assert_eq!(got, pairs);
    }

    #[test]
    fn sorted_sets_become_zadd_with_17g_scores() {
        let small = Value::ZSet(vec![
            (b("a"), 1.0),
            (b("b"), 2.5),
            (b("c"), f64::INFINITY),
            (b("d"), f64::NEG_INFINITY),
            (b("e"), 0.1),
            (b("f"), 1e20),
            (b("7"), 3.0),
        ]);
        assert_eq!(encoding(&small), "packed");
        assert_eq!(
            rewrite("z", &small, SetExpire::Clear),
            vec![argv(&[
                "ZADD",
                "z",
                "-inf",
                "d",
                "0.10000000000000001",
                "e",
                "1",
                "a",
                "2.5",
                "b",
                "3",
                "7",
                "1e+20",
                "f",
                "inf",
                "c"
            ])]
        );
        let big = Value::ZSet((0..150).map(|i| (format!("m{i}").into_bytes(), i as f64 + 0.5)).collect());
        assert_eq!(encoding(&big), "big");
        let cmds = rewrite("bz", &big, SetExpire::Clear);
        assert_eq!(cmds.iter().map(Vec::len).collect::<Vec<_>>(), [130, 130, 46]);
        let pairs: Vec<(Vec<u8>, Vec<u8>)> =
            cmds.iter().flat_map(|c| c[2..].chunks(2).map(|p| (p[0].clone(), p[1].clone()))).collect();
        assert_eq!(pairs.len(), 150);
        assert_eq!(pairs[0], (b("0.5"), b("m0")));
        assert_eq!(pairs[149], (b("149.5"), b("m149")));
    }
}
