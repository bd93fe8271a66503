//! Configuration loading errors with Redis's exact fatal texts.

use std::fmt;

/// Version shown in fatal configuration errors.
pub const REDIS_VERSION: &str = "7.0.15";

/// A fatal error while loading the configuration (redis-server prints it and exits 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// A bad line (or a failed sanity check when `line` is `None`).
    ///
    /// Display (print it after an empty line, like Redis):
    /// ```text
    /// *** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***
    /// Reading the configuration file, at line 2
    /// >>> 'port "abc"'
    /// argument couldn't be parsed into an integer
    /// ```
    Fatal {
        /// 1-based line number and the trimmed line text.
        line: Option<(usize, String)>,
        /// The reason, e.g. `Bad directive or wrong number of arguments`.
        message: String,
    },
    /// The configuration file (or an included one) can't be opened.
    ///
    /// Display: `Fatal error, can't open config file '/x.conf': No such file or directory`
    /// (Redis logs it as a warning and exits 1).
    Open {
        /// The path as given.
        path: String,
        /// `strerror` text.
        reason: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Fatal { line, message } => {
                writeln!(f, "*** FATAL CONFIG FILE ERROR (Redis {REDIS_VERSION}) ***")?;
                if let Some((n, text)) = line {
                    writeln!(f, "Reading the configuration file, at line {n}")?;
                    writeln!(f, ">>> '{text}'")?;
                }
                f.write_str(message)
            }
            ConfigError::Open { path, reason } => {
                write!(f, "Fatal error, can't open config file '{path}': {reason}")
            }
        }
    }
}

impl std::error::Error for ConfigError {}
