//! Parsing a directive's arguments into a typed value, storing it, and printing it back
//! (the `set` / `get` halves of Redis's per-type config interface).

use std::sync::atomic::Ordering::Relaxed;

use crate::table::{EnumVal, Id, Kind, NumFmt, Special, TABLE};
use crate::types::{ClientClass, ObufLimit};
use crate::value::{
    format_percentile, keyspace_events_from_str, keyspace_events_to_string, memtoull, strerror, string2d,
    string2ll, strtoll, strtoll_full, yes_no,
};
use crate::Config;

/// Lowest `hz` accepted (values are clamped, not refused).
pub(crate) const MIN_HZ: i64 = 1;
/// Highest `hz` accepted.
pub(crate) const MAX_HZ: i64 = 500;
/// CONFIG SET clamps `repl-backlog-size` to at least this.
pub(crate) const REPL_BACKLOG_MIN_SIZE: i64 = 16 * 1024;
/// Maximum number of `bind` addresses.
const BINDADDR_MAX: usize = 16;
/// Redis's default `bind`.
pub(crate) const DEFAULT_BIND: [&str; 2] = ["*", "-::*"];
/// Default `save` points.
pub(crate) const DEFAULT_SAVE: [(i64, i32); 3] = [(3600, 1), (300, 100), (60, 10000)];
/// Default `client-output-buffer-limit` for normal, replica, pubsub.
pub(crate) const DEFAULT_OBUF: [ObufLimit; 3] = [
    ObufLimit { hard: 0, soft: 0, soft_seconds: 0 },
    ObufLimit { hard: 256 << 20, soft: 64 << 20, soft_seconds: 60 },
    ObufLimit { hard: 32 << 20, soft: 8 << 20, soft_seconds: 60 },
];
/// Default `oom-score-adj-values`.
pub(crate) const DEFAULT_OOM: [i32; 3] = [0, 200, 800];
/// Default `latency-tracking-info-percentiles`.
pub(crate) const DEFAULT_PERCENTILES: [f64; 3] = [50.0, 99.0, 99.9];

/// Error for `activedefrag yes` (same text as a Redis built without active defrag support).
const ACTIVE_DEFRAG_UNSUPPORTED: &str = "Active defragmentation cannot be enabled: it requires a \
    Redis server compiled with a modified Jemalloc like the one shipped by default with the \
    Redis source distribution";

/// A validated new value for one directive.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Parsed {
    /// Bool (0/1), numeric, enum and notify-keyspace-events values.
    Num(i64),
    /// String directives (None = NULL).
    Str(Option<String>),
    /// Absolute, canonical directory.
    Dir(String),
    /// Save points (seconds, changes).
    Save(Vec<(i64, i32)>),
    /// Client output buffer limits for the classes mentioned.
    Obuf(Vec<(ClientClass, ObufLimit)>),
    /// oom-score-adj-values.
    Oom([i32; 3]),
    /// Bind addresses.
    Bind(Vec<String>),
    /// Master host and port, or None for `no one`.
    Replicaof(Option<(String, u16)>),
    /// Latency percentiles.
    Percentiles(Vec<f64>),
}

fn text(a: &[u8]) -> String {
    String::from_utf8_lossy(a).into_owned()
}

/// The "must be one of the following" error for an enum (truncated like Redis's 256-byte buffer).
fn enum_error(values: &[EnumVal]) -> String {
    let names: Vec<&str> = values.iter().filter(|v| v.listed).map(|v| v.name).collect();
    let mut s = format!("argument(s) must be one of the following: {}", names.join(", "));
    s.truncate(255);
    s
}

/// Redis `configEnumGetName`.
pub(crate) fn enum_name(values: &[EnumVal], v: i64, bitflags: bool) -> String {
    let mut names: Vec<&str> = Vec::new();
    let mut unmatched = v;
    for e in values {
        if e.val == v {
            return e.name.to_string();
        }
        if bitflags && e.val != 0 && e.val == (unmatched & e.val) {
            names.push(e.name);
            unmatched &= !e.val;
        }
    }
    if names.is_empty() || unmatched != 0 {
        "unknown".to_string()
    } else {
        names.join(" ")
    }
}

/// Parse a numeric value (Redis `numericParseString` + `numericBoundaryCheck`).
fn parse_num(arg: &[u8], min: i64, max: i64, unsigned: bool, fmt: NumFmt) -> Result<i64, String> {
    let parsed: Option<i64> = match fmt {
        NumFmt::Int => string2ll(arg),
        NumFmt::Memory => memtoull(arg).map(|v| v as i64),
        NumFmt::MemoryPercent => memtoull(arg).map(|v| v as i64).or_else(|| {
            let body = arg.strip_suffix(b"%").filter(|_| arg.len() > 1)?;
            string2ll(body).filter(|v| *v >= 0).map(|v| -v)
        }),
        NumFmt::Octal => {
            let (v, overflow, end) = strtoll(arg, 8);
            let end_ok = if end == 0 { arg.is_empty() } else { end == arg.len() };
            (!overflow && end_ok).then_some(v)
        }
    };
    let v = parsed.ok_or_else(|| {
        match fmt {
            NumFmt::MemoryPercent => "argument must be a memory or percent value",
            NumFmt::Memory => "argument must be a memory value",
            NumFmt::Octal => "argument couldn't be parsed as an octal number",
            NumFmt::Int => "argument couldn't be parsed into an integer",
        }
        .to_string()
    })?;
    if unsigned {
        let (u, lo, hi) = (v as u64, min as u64, max as u64);
        if u > hi || u < lo {
            return Err(if fmt == NumFmt::Octal {
                format!("argument must be between {lo:o} and {hi:o} inclusive")
            } else {
                format!("argument must be between {lo} and {hi} inclusive")
            });
        }
    } else if fmt == NumFmt::MemoryPercent && v < 0 {
        if v < min {
            return Err(format!("percentage argument must be less or equal to {}", -min));
        }
    } else if v > max || v < min {
        return Err(format!("argument must be between {min} and {max} inclusive"));
    }
    Ok(v)
}

impl Config {
    /// Validate `args` for directive `idx` (Redis's per-type `set`, without side effects).
    pub(crate) fn parse(&self, idx: usize, args: &[Vec<u8>]) -> Result<Parsed, String> {
        let first = || args.first().map(Vec::as_slice).unwrap_or(b"");
        match TABLE[idx].kind {
            Kind::Bool { .. } => {
                let v = yes_no(first()).ok_or_else(|| "argument must be 'yes' or 'no'".to_string())?;
                if v && idx == Id::Activedefrag as usize {
                    return Err(ACTIVE_DEFRAG_UNSUPPORTED.into());
                }
                Ok(Parsed::Num(v as i64))
            }
            Kind::Num { min, max, unsigned, fmt, .. } => {
                parse_num(first(), min, max, unsigned, fmt).map(Parsed::Num)
            }
            Kind::Enum { values, bitflags, .. } => {
                if args.is_empty() || (!bitflags && args.len() != 1) {
                    return Err(enum_error(values));
                }
                let mut v = 0;
                for a in args {
                    let mut matched = false;
                    for e in values.iter().filter(|e| a.eq_ignore_ascii_case(e.name.as_bytes())) {
                        v |= e.val;
                        matched = true;
                    }
                    if !matched {
                        return Err(enum_error(values));
                    }
                }
                if bitflags
                    && v & i64::from(crate::types::shutdown::SAVE) != 0
                    && v & i64::from(crate::types::shutdown::NOSAVE) != 0
                {
                    return Err("shutdown options SAVE and NOSAVE can't be used simultaneously".into());
                }
                Ok(Parsed::Num(v))
            }
            Kind::Str { empty_is_null, check, .. } => {
                let mut v = first().to_vec();
                if idx != Id::Requirepass as usize && idx != Id::Masterauth as usize {
                    // C strings stop at the first NUL.
                    if let Some(nul) = v.iter().position(|&c| c == 0) {
                        v.truncate(nul);
                    }
                }
                let v = text(&v);
                if let Some(check) = check {
                    check(&v).map_err(str::to_string)?;
                }
                Ok(Parsed::Str(if empty_is_null && v.is_empty() { None } else { Some(v) }))
            }
            Kind::Special(sp) => self.parse_special(sp, args),
        }
    }

    fn parse_special(&self, sp: Special, args: &[Vec<u8>]) -> Result<Parsed, String> {
        let wrong = || "wrong number of arguments".to_string();
        match sp {
            Special::Dir => {
                if args.len() != 1 {
                    return Err(wrong());
                }
                let p = std::path::PathBuf::from(text(&args[0]));
                let full = if p.is_absolute() { p } else { std::path::Path::new(&*self.dir.read()).join(p) };
                match std::fs::metadata(&full) {
                    Err(e) => Err(strerror(&e)),
                    Ok(m) if !m.is_dir() => Err("Not a directory".into()),
                    Ok(_) => {
                        let canon = std::fs::canonicalize(&full).map_err(|e| strerror(&e))?;
                        Ok(Parsed::Dir(canon.to_string_lossy().into_owned()))
                    }
                }
            }
            Special::Save => {
                let args: &[Vec<u8>] = if args.len() == 1 && args[0].is_empty() { &[] } else { args };
                let bad = || "Invalid save parameters".to_string();
                if args.len() % 2 == 1 {
                    return Err(bad());
                }
                let mut points = Vec::new();
                for pair in args.chunks(2) {
                    let secs = strtoll_full(&pair[0]).ok_or_else(bad)?;
                    let changes = strtoll_full(&pair[1]).ok_or_else(bad)?;
                    if secs < 1 || changes < 0 {
                        return Err(bad());
                    }
                    points.push((secs, changes as i32));
                }
                Ok(Parsed::Save(points))
            }
            Special::ClientOutputBufferLimit => {
                if !args.len().is_multiple_of(4) {
                    return Err("Wrong number of arguments in buffer limit configuration.".into());
                }
                let mut out = Vec::new();
                for q in args.chunks(4) {
                    let class = ClientClass::parse(&q[0]).ok_or_else(|| {
                        "Invalid client class specified in buffer limit configuration.".to_string()
                    })?;
                    let hard = memtoull(&q[1]);
                    let soft = memtoull(&q[2]);
                    let secs = strtoll_full(&q[3]).map(|s| s as i32);
                    match (hard, soft, secs) {
                        (Some(hard), Some(soft), Some(secs)) if secs >= 0 => {
                            out.push((class, ObufLimit { hard, soft, soft_seconds: secs as u64 }))
                        }
                        _ => {
                            return Err(
                                "Error in hard, soft or soft_seconds setting in buffer limit configuration."
                                    .into(),
                            )
                        }
                    }
                }
                Ok(Parsed::Obuf(out))
            }
            Special::OomScoreAdjValues => {
                if args.len() != 3 {
                    return Err(wrong());
                }
                let mut v = [0i32; 3];
                for (slot, a) in v.iter_mut().zip(args) {
                    match strtoll_full(a) {
                        Some(x) if (-2000..=2000).contains(&x) => *slot = x as i32,
                        _ => {
                            return Err(
                                "Invalid oom-score-adj-values, elements must be between -2000 and 2000."
                                    .into(),
                            )
                        }
                    }
                }
                Ok(Parsed::Oom(v))
            }
            Special::NotifyKeyspaceEvents => {
                if args.len() != 1 {
                    return Err(wrong());
                }
                keyspace_events_from_str(&args[0])
                    .map(|f| Parsed::Num(i64::from(f)))
                    .ok_or_else(|| "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".into())
            }
            Special::Bind => {
                if args.len() > BINDADDR_MAX {
                    return Err("Too many bind addresses specified.".into());
                }
                if args.len() == 1 && args[0].is_empty() {
                    return Ok(Parsed::Bind(Vec::new()));
                }
                Ok(Parsed::Bind(args.iter().map(|a| text(a)).collect()))
            }
            Special::Replicaof => {
                if args.len() != 2 {
                    return Err(wrong());
                }
                if args[0].eq_ignore_ascii_case(b"no") && args[1].eq_ignore_ascii_case(b"one") {
                    return Ok(Parsed::Replicaof(None));
                }
                match strtoll_full(&args[1]) {
                    Some(p) if (0..=65535).contains(&p) => {
                        Ok(Parsed::Replicaof(Some((text(&args[0]), p as u16))))
                    }
                    _ => Err("Invalid master port".into()),
                }
            }
            Special::LatencyTrackingInfoPercentiles => {
                if args.len() == 1 && args[0].is_empty() {
                    return Ok(Parsed::Percentiles(Vec::new()));
                }
                let mut v = Vec::with_capacity(args.len());
                for a in args {
                    let p = string2d(a)
                        .ok_or_else(|| "Invalid latency-tracking-info-percentiles parameters".to_string())?;
                    if !(0.0..=100.0).contains(&p) {
                        return Err(
                            "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"
                                .into(),
                        );
                    }
                    v.push(p);
                }
                Ok(Parsed::Percentiles(v))
            }
        }
    }

    /// Store a parsed value; returns whether the visible value changed.
    pub(crate) fn store(&self, idx: usize, p: Parsed) -> bool {
        match p {
            Parsed::Num(v) => self.nums[idx].swap(v, Relaxed) != v,
            Parsed::Str(v) => {
                let mut slot = self.strs[idx].write();
                let changed = *slot != v;
                *slot = v;
                changed
            }
            Parsed::Dir(d) => {
                let mut slot = self.dir.write();
                let changed = *slot != d;
                *slot = d;
                changed
            }
            Parsed::Save(points) => {
                let mut slot = self.save.write();
                let changed = *slot != points;
                *slot = points;
                changed
            }
            Parsed::Obuf(list) => {
                let mut changed = false;
                for (class, l) in list {
                    let slots = &self.obuf[class as usize];
                    for (slot, v) in slots.iter().zip([l.hard, l.soft, l.soft_seconds]) {
                        changed |= slot.swap(v, Relaxed) != v;
                    }
                }
                changed
            }
            Parsed::Oom(v) => {
                let mut slot = self.oom.write();
                let changed = *slot != v;
                *slot = v;
                changed
            }
            Parsed::Bind(v) => {
                let mut slot = self.bind.write();
                let changed = *slot != v;
                *slot = v;
                changed
            }
            Parsed::Replicaof(v) => {
                let mut slot = self.replicaof.write();
                let changed = *slot != v;
                *slot = v;
                changed
            }
            Parsed::Percentiles(v) => {
                let mut slot = self.percentiles.write();
                let changed = *slot != v;
                *slot = v;
                changed
            }
        }
    }

    /// The default value of a numeric-like directive (bool, number, enum, notify flags).
    pub(crate) fn default_num(&self, idx: usize) -> i64 {
        if idx == Id::IoThreads as usize {
            return self.io_threads_default;
        }
        match TABLE[idx].kind {
            Kind::Bool { default } => default as i64,
            Kind::Num { default, .. } | Kind::Enum { default, .. } => default,
            _ => 0,
        }
    }

    /// The value as CONFIG GET prints it.
    pub(crate) fn format_value(&self, idx: usize) -> String {
        let d = &TABLE[idx];
        let n = || self.nums[idx].load(Relaxed);
        match d.kind {
            Kind::Bool { .. } => if n() != 0 { "yes" } else { "no" }.to_string(),
            Kind::Num { fmt, .. } => {
                let v = n();
                match fmt {
                    NumFmt::MemoryPercent if v < 0 => format!("{}%", -v),
                    NumFmt::Memory | NumFmt::MemoryPercent => (v as u64).to_string(),
                    NumFmt::Octal => format!("{v:o}"),
                    NumFmt::Int => v.to_string(),
                }
            }
            Kind::Enum { values, bitflags, .. } => enum_name(values, n(), bitflags),
            Kind::Str { .. } => self.strs[idx].read().clone().unwrap_or_default(),
            Kind::Special(sp) => match sp {
                Special::Dir => self.dir.read().clone(),
                Special::Save => {
                    self.save.read().iter().map(|(s, c)| format!("{s} {c}")).collect::<Vec<_>>().join(" ")
                }
                Special::ClientOutputBufferLimit => ClientClass::ALL
                    .iter()
                    .map(|&c| {
                        let l = self.client_output_buffer_limit(c);
                        format!("{} {} {} {}", c.get_name(), l.hard, l.soft, l.soft_seconds)
                    })
                    .collect::<Vec<_>>()
                    .join(" "),
                Special::OomScoreAdjValues => {
                    let v = self.oom.read();
                    format!("{} {} {}", v[0], v[1], v[2])
                }
                Special::NotifyKeyspaceEvents => keyspace_events_to_string(n() as u32),
                Special::Bind => self.bind.read().join(" "),
                Special::Replicaof => match &*self.replicaof.read() {
                    Some((h, p)) => format!("{h} {p}"),
                    None => String::new(),
                },
                Special::LatencyTrackingInfoPercentiles => self
                    .percentiles
                    .read()
                    .iter()
                    .map(|&p| format_percentile(p))
                    .collect::<Vec<_>>()
                    .join(" "),
            },
        }
    }

    /// Post-set adjustments Redis makes in its apply functions (`updateHZ`, backlog resize).
    pub(crate) fn clamp_after_set(&self, idx: usize) {
        if idx == Id::Hz as usize {
            self.clamp_hz();
        } else if idx == Id::ReplBacklogSize as usize {
            let _ = self.nums[idx].fetch_max(REPL_BACKLOG_MIN_SIZE, Relaxed);
        } else if idx == Id::WatchdogPeriod as usize {
            // Redis `applyWatchdogPeriod`: at least two event-loop cycles.
            let min = (1000 / self.nums[Id::Hz as usize].load(Relaxed).max(1)) * 2;
            let slot = &self.nums[idx];
            let v = slot.load(Relaxed);
            if v > 0 && v < min {
                slot.store(min, Relaxed);
            }
        }
    }

    pub(crate) fn clamp_hz(&self) {
        let slot = &self.nums[Id::Hz as usize];
        slot.store(slot.load(Relaxed).clamp(MIN_HZ, MAX_HZ), Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_names() {
        let v = crate::table::SHUTDOWN_ON_SIG;
        assert_eq!(enum_name(v, 0, true), "default");
        assert_eq!(enum_name(v, 1 | 4, true), "save now");
        assert_eq!(enum_name(v, 8 | 4 | 1, true), "save now force");
        assert_eq!(enum_name(v, 16, true), "unknown");
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_num(b"10%", -100, i64::MAX, false, NumFmt::MemoryPercent), Ok(-10));
        assert_eq!(
            parse_num(b"101%", -100, i64::MAX, false, NumFmt::MemoryPercent),
            Err("percentage argument must be less or equal to 100".into())
        );
        assert_eq!(
            parse_num(b"%", -100, i64::MAX, false, NumFmt::MemoryPercent),
            Err("argument must be a memory or percent value".into())
        );
        assert_eq!(parse_num(b"0777", 0, 0o777, true, NumFmt::Octal), Ok(511));
        assert_eq!(parse_num(b"", 0, 0o777, true, NumFmt::Octal), Ok(0));
        assert_eq!(
            parse_num(b"1000", 0, 0o777, true, NumFmt::Octal),
            Err("argument must be between 0 and 777 inclusive".into())
        );
        assert_eq!(
            parse_num(b"8", 0, 0o777, true, NumFmt::Octal),
            Err("argument couldn't be parsed as an octal number".into())
        );
        assert_eq!(
            parse_num(b"-1", 1, u32::MAX as i64, true, NumFmt::Int),
            Err("argument must be between 1 and 4294967295 inclusive".into())
        );
        assert_eq!(parse_num(b"99999999999999999999999", 0, -1, true, NumFmt::Memory), Ok(-1));
    }
}
