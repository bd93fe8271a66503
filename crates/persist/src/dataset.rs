//! The framing of a whole dataset written out by SAVE, BGSAVE or an AOF rewrite: an RDB file
//! (header with AUX fields, SELECTDB + RESIZEDB per database, keys, EOF, CRC-64), or, for
//! an AOF base with `aof-use-rdb-preamble no`, commands (`SELECT` per database, then the
//! commands that rebuild each key, see [`crate::aof_commands`]).

use std::io::Write;

use brim_engine::{Access, EntryRef};

use crate::crc64::crc64;
use crate::file::SaveOptions;
use crate::rdb::encode::{write_aux, write_entry, write_len};
use crate::rdb::{opcodes, Result, RDB_VERSION};

/// A dataset's output: counts its bytes and keeps its checksum.
pub(crate) struct Out<W: Write> {
    pub w: W,
    pub crc: u64,
    pub bytes: u64,
}

impl<W: Write> Out<W> {
    /// Start a dataset on `w`: the RDB header (nothing for the command form).
    pub fn start(w: W, opts: &SaveOptions, acc: &Access) -> Result<Self> {
        let mut out = Out { w, crc: 0, bytes: 0 };
        if !opts.commands {
            let mut buf = Vec::with_capacity(256);
            buf.extend_from_slice(format!("REDIS{RDB_VERSION:04}").as_bytes());
            write_aux(&mut buf, "redis-ver", b"7.0.15");
            write_aux(&mut buf, "redis-bits", b"64");
            write_aux(&mut buf, "ctime", (acc.now_ms / 1000).to_string().as_bytes());
            write_aux(&mut buf, "used-mem", opts.used_mem.to_string().as_bytes());
            write_aux(&mut buf, "aof-base", if opts.aof_base { b"1" } else { b"0" });
            out.put(&buf)?;
        }
        Ok(out)
    }

    /// Write `b` as it is.
    pub fn put(&mut self, b: &[u8]) -> Result<()> {
        self.crc = crc64(self.crc, b);
        self.bytes += b.len() as u64;
        self.w.write_all(b)?;
        Ok(())
    }

    /// End the dataset (RDB: EOF and the checksum, 0 without `rdbchecksum`); returns the
    /// writer.
    pub fn end(mut self, opts: &SaveOptions) -> Result<(u64, W)> {
        if !opts.commands {
            self.put(&[opcodes::EOF])?;
            let crc = if opts.checksum { self.crc } else { 0 };
            self.w.write_all(&crc.to_le_bytes())?;
            self.bytes += 8;
        }
        Ok((self.bytes, self.w))
    }
}

/// Append the switch to database `db`; `sizes` (keys, keys with an expire) for an RDB's
/// RESIZEDB hint, the first time the database appears.
pub(crate) fn write_select(buf: &mut Vec<u8>, opts: &SaveOptions, db: usize, sizes: Option<(u64, u64)>) {
    if opts.commands {
        crate::aof_commands::write_select(buf, db);
        return;
    }
    buf.push(opcodes::SELECTDB);
    write_len(buf, db as u64);
    if let Some((keys, volatile)) = sizes {
        buf.push(opcodes::RESIZEDB);
        write_len(buf, keys);
        write_len(buf, volatile);
    }
}

/// Append one key in the dataset's form.
pub(crate) fn write_key(buf: &mut Vec<u8>, opts: &SaveOptions, e: &EntryRef<'_>, acc: &Access) -> Result<()> {
    if opts.commands {
        crate::aof_commands::write_entry(buf, e, acc)
    } else {
        write_entry(buf, e, acc, &opts.values)
    }
}
