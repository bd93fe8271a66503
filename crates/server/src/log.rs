//! Logging in Redis's format: `pid:M 21 Nov 2026 18:51:44.123 * message`, to stdout or the
//! `logfile`, filtered by `loglevel`.

use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering::Relaxed};

use parking_lot::Mutex;

/// Severity, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug = 0,
    Verbose = 1,
    Notice = 2,
    Warning = 3,
}

static MIN_LEVEL: AtomicU8 = AtomicU8::new(Level::Notice as u8);
static FILE: Mutex<Option<std::fs::File>> = Mutex::new(None);

/// Apply a `loglevel` (`debug`, `verbose`, `notice`, `warning`, `nothing`).
pub fn set_level(level: &str) {
    let min = match level {
        "debug" => Level::Debug as u8,
        "verbose" => Level::Verbose as u8,
        "warning" => Level::Warning as u8,
        "nothing" => u8::MAX,
        _ => Level::Notice as u8,
    };
    MIN_LEVEL.store(min, Relaxed);
}

/// Apply `loglevel` and `logfile` (empty: stdout). Errors opening the file are returned.
pub fn configure(level: &str, logfile: &str) -> std::io::Result<()> {
    set_level(level);
    *FILE.lock() = if logfile.is_empty() {
        None
    } else {
        Some(std::fs::OpenOptions::new().create(true).append(true).open(logfile)?)
    };
    Ok(())
}

/// Write one log line.
pub fn log(level: Level, msg: &str) {
    if (level as u8) < MIN_LEVEL.load(Relaxed) {
        return;
    }
    let mark = match level {
        Level::Debug => '.',
        Level::Verbose => '-',
        Level::Notice => '*',
        Level::Warning => '#',
    };
    let line = format!(
        "{}:M {} {} {}\n",
        std::process::id(),
        timestamp(brim_commands::shared::unix_ms()),
        mark,
        msg
    );
    let mut file = FILE.lock();
    match file.as_mut() {
        Some(f) => {
            let _ = f.write_all(line.as_bytes());
        }
        None => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(line.as_bytes());
            let _ = out.flush();
        }
    }
}

/// `21 Nov 2026 18:51:44.123` in UTC.
fn timestamp(ms: i64) -> String {
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!(
        "{:02} {} {} {:02}:{:02}:{:02}.{:03}",
        d,
        MONTHS[(m - 1) as usize],
        y,
        sod / 3600,
        sod % 3600 / 60,
        sod % 60,
        ms.rem_euclid(1000)
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_are_civil_dates() {
        assert_eq!(super::timestamp(1_795_287_104_123), "21 Nov 2026 18:51:44.123");
        assert_eq!(super::timestamp(0), "01 Jan 1970 00:00:00.000");
    }
}
