//! redis.conf parsing: `sdssplitargs`, the command line, `include`, and the line loop of
//! Redis's `loadServerConfigFromString`.

use std::path::{Path, PathBuf};

use crate::error::ConfigError;
use crate::store::Parsed;
use crate::table::{lookup, Id, MULTI_ARG, TABLE};
use crate::value::{c_isspace, repr, strerror};
use crate::Config;

/// Receives the directives that are not configuration parameters (`rename-command`, `user`,
/// `loadmodule`, `module.option`) while loading; an `Err` aborts loading with that text as
/// the fatal error message (e.g. `No such command in rename-command`).
pub trait DirectiveHandler {
    /// `args[0]` is the lowercased directive name.
    fn directive(&mut self, args: &[String]) -> Result<(), String>;
}

/// Redis `sdssplitargs`: split a line into arguments honouring "double" (with `\n`, `\xHH`,
/// ... escapes) and 'single' quotes. `None` on unbalanced quotes.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let at = |i: usize| line.get(i).copied().unwrap_or(0);
    let mut out = Vec::new();
    let mut p = 0;
    loop {
        while at(p) != 0 && c_isspace(at(p)) {
            p += 1;
        }
        if at(p) == 0 {
            return Some(out);
        }
        let (mut inq, mut insq, mut done) = (false, false, false);
        let mut cur = Vec::new();
        while !done {
            let c = at(p);
            if inq {
                if c == b'\\'
                    && at(p + 1) == b'x'
                    && at(p + 2).is_ascii_hexdigit()
                    && at(p + 3).is_ascii_hexdigit()
                {
                    let hex = |b: u8| (b as char).to_digit(16).unwrap_or(0) as u8;
                    cur.push(hex(at(p + 2)) * 16 + hex(at(p + 3)));
                    p += 3;
                } else if c == b'\\' && at(p + 1) != 0 {
                    p += 1;
                    cur.push(match at(p) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if c == b'"' {
                    if at(p + 1) != 0 && !c_isspace(at(p + 1)) {
                        return None;
                    }
                    done = true;
                } else if c == 0 {
                    return None;
                } else {
                    cur.push(c);
                }
            } else if insq {
                if c == b'\\' && at(p + 1) == b'\'' {
                    p += 1;
                    cur.push(b'\'');
                } else if c == b'\'' {
                    if at(p + 1) != 0 && !c_isspace(at(p + 1)) {
                        return None;
                    }
                    done = true;
                } else if c == 0 {
                    return None;
                } else {
                    cur.push(c);
                }
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => done = true,
                    b'"' => inq = true,
                    b'\'' => insq = true,
                    _ => cur.push(c),
                }
            }
            if at(p) != 0 {
                p += 1;
            }
        }
        out.push(cur);
    }
}

/// `sdstrim` with the given character set.
pub(crate) fn trim<'a>(s: &'a [u8], set: &[u8]) -> &'a [u8] {
    let start = s.iter().position(|c| !set.contains(c)).unwrap_or(s.len());
    let end = s.iter().rposition(|c| !set.contains(c)).map_or(start, |e| e + 1);
    &s[start..end.max(start)]
}

/// `sdssplitlen(s, "\n")`: an empty input gives no lines.
pub(crate) fn split_lines(s: &[u8]) -> Vec<&[u8]> {
    if s.is_empty() {
        return Vec::new();
    }
    s.split(|&c| c == b'\n').collect()
}

/// Directives accepted (and ignored) for backward compatibility, with their exact argc.
const DEPRECATED: [&str; 3] =
    ["list-max-ziplist-entries", "list-max-ziplist-value", "lua-replicate-commands"];

/// What the command line asks for, after separating the config file and the options.
pub(crate) struct CommandLine {
    pub file: Option<String>,
    pub from_stdin: bool,
    pub options: String,
}

/// redis-server's `main()` argument handling: `--name value ...` become lines appended to
/// the configuration (values quoted with `sdscatrepr`), `-` reads the config from stdin.
pub(crate) fn command_line(file: Option<&Path>, args: &[String]) -> CommandLine {
    let mut j = 0;
    let mut cfg_file = file.map(|p| p.to_string_lossy().into_owned());
    if cfg_file.is_none() && !args.is_empty() && !args[0].starts_with('-') {
        cfg_file = Some(args[0].clone());
        j = 1;
    }
    let n = args.len();
    let mut options = String::new();
    let mut from_stdin = false;
    let mut handled_last_config_arg = true;
    let is_last = |j: usize| j + 1 == n;
    while j < n {
        let a = &args[j];
        let starts_dd = |s: &str| s.starts_with("--");
        if a == "-" && (j == 0 || is_last(j)) {
            from_stdin = true;
        } else if handled_last_config_arg && starts_dd(a) {
            if !options.is_empty() {
                options.push('\n');
            }
            options.push_str(&a[2..]);
            options.push(' ');
            let parts = split_args(a.as_bytes()).map_or(0, |v| v.len());
            if parts == 1 {
                handled_last_config_arg = false;
                let next_dd = !is_last(j) && starts_dd(&args[j + 1]);
                if next_dd && a.eq_ignore_ascii_case("--save") {
                    options.push_str("\"\"");
                    handled_last_config_arg = true;
                } else if is_last(j) && a.eq_ignore_ascii_case("--save") {
                    options.push_str("\"\"");
                } else if next_dd && a.eq_ignore_ascii_case("--sentinel") {
                    handled_last_config_arg = true;
                }
            } else {
                handled_last_config_arg = true;
            }
        } else {
            options.push_str(&repr(a));
            options.push(' ');
            handled_last_config_arg = true;
        }
        j += 1;
    }
    CommandLine { file: cfg_file, from_stdin, options }
}

/// Loads configuration text into a [`Config`], mirroring Redis's global loading state.
pub(crate) struct Loader<'a, 'h> {
    pub cfg: &'a Config,
    /// Redis `reading_config_file` (reset by the end of any nested include, like Redis).
    reading: bool,
    /// Redis's static `save_loaded`: the first `save` line replaces the defaults.
    save_loaded: bool,
    handler: Option<&'a mut (dyn DirectiveHandler + 'h)>,
}

fn fatal(line: Option<(usize, &[u8])>, message: impl Into<String>) -> ConfigError {
    ConfigError::Fatal {
        line: line.map(|(n, l)| (n, String::from_utf8_lossy(l).into_owned())),
        message: message.into(),
    }
}

impl<'a, 'h> Loader<'a, 'h> {
    pub fn new(cfg: &'a Config, handler: Option<&'a mut (dyn DirectiveHandler + 'h)>) -> Self {
        Loader { cfg, reading: false, save_loaded: false, handler }
    }

    /// Paths are relative to `dir` (Redis chdir()s when it applies `dir`).
    fn resolve(&self, path: &str) -> PathBuf {
        let p = PathBuf::from(path);
        if p.is_absolute() {
            p
        } else {
            Path::new(&*self.cfg.dir.read()).join(p)
        }
    }

    fn read_file(&self, path: &str) -> Result<Vec<u8>, ConfigError> {
        std::fs::read(self.resolve(path))
            .map_err(|e| ConfigError::Open { path: path.to_string(), reason: strerror(&e) })
    }

    /// Redis `loadServerConfig`: a file (glob patterns allowed), stdin, then the options.
    pub fn load_server_config(
        &mut self,
        file: Option<&str>,
        from_stdin: bool,
        options: Option<&str>,
    ) -> Result<(), ConfigError> {
        let mut content = Vec::new();
        if let Some(file) = file {
            if file.contains(['*', '?', '[']) {
                for path in self.glob(file) {
                    let p = path.to_string_lossy().into_owned();
                    content.extend(self.read_file(&p)?);
                }
            } else {
                content.extend(self.read_file(file)?);
            }
        }
        if from_stdin {
            use std::io::Read;
            let _ = std::io::stdin().read_to_end(&mut content);
        }
        if let Some(opts) = options {
            content.push(b'\n');
            content.extend_from_slice(opts.as_bytes());
        }
        self.load_string(&content)
    }

    /// `glob(3)` restricted to wildcards in the last path component, sorted.
    fn glob(&self, pattern: &str) -> Vec<PathBuf> {
        let full = self.resolve(pattern);
        let (Some(parent), Some(name)) = (full.parent(), full.file_name()) else {
            return Vec::new();
        };
        let name = name.to_string_lossy().into_owned();
        let Ok(rd) = std::fs::read_dir(parent) else {
            return Vec::new();
        };
        let mut out: Vec<PathBuf> = rd
            .filter_map(Result::ok)
            .filter(|e| {
                let f = e.file_name().to_string_lossy().into_owned();
                (!f.starts_with('.') || name.starts_with('.'))
                    && brim_glob::glob_match(name.as_bytes(), f.as_bytes(), false)
            })
            .map(|e| e.path())
            .collect();
        out.sort();
        out
    }

    /// Redis `loadServerConfigFromString`.
    pub fn load_string(&mut self, config: &[u8]) -> Result<(), ConfigError> {
        self.reading = true;
        for (i, raw) in split_lines(config).into_iter().enumerate() {
            let linenum = i + 1;
            let line = trim(raw, b" \t\r\n");
            if line.is_empty() || line[0] == b'#' {
                continue;
            }
            let at = Some((linenum, line));
            let mut argv =
                split_args(line).ok_or_else(|| fatal(at, "Unbalanced quotes in configuration line"))?;
            if argv.is_empty() {
                continue;
            }
            argv[0].make_ascii_lowercase();
            let argc = argv.len();
            if let Some(r) = lookup(&argv[0]) {
                let multi = TABLE[r.idx].flags & MULTI_ARG != 0;
                if !multi && argc != 2 {
                    return Err(fatal(at, "wrong number of arguments"));
                }
                let args: Vec<Vec<u8>> = if multi && argc == 2 && !argv[1].is_empty() {
                    split_args(&argv[1]).unwrap_or_default()
                } else {
                    argv[1..].to_vec()
                };
                let parsed = self.cfg.parse(r.idx, &args).map_err(|e| fatal(at, e))?;
                self.apply(r.idx, parsed);
                continue;
            }
            let name = String::from_utf8_lossy(&argv[0]).into_owned();
            if DEPRECATED.contains(&name.as_str()) && argc == 2 {
                continue;
            }
            let strs: Vec<String> = argv.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
            match name.as_str() {
                "include" if argc == 2 => self.load_server_config(Some(&strs[1]), false, None)?,
                "rename-command" if argc == 3 => self.extra(&strs).map_err(|e| fatal(at, e))?,
                "user" | "loadmodule" if argc >= 2 => self.extra(&strs).map_err(|e| fatal(at, e))?,
                _ if name.contains('.') => {
                    if argc != 2 {
                        return Err(fatal(at, "Module config specified without value"));
                    }
                    self.extra(&strs).map_err(|e| fatal(at, e))?;
                }
                "sentinel" => {
                    if argc != 1 {
                        return Err(fatal(at, "sentinel directive while not in sentinel mode"));
                    }
                }
                _ => return Err(fatal(at, "Bad directive or wrong number of arguments")),
            }
        }

        let logfile = self.cfg.strs[Id::Logfile as usize].read().clone().unwrap_or_default();
        if !logfile.is_empty() {
            if let Err(e) = std::fs::OpenOptions::new().append(true).create(true).open(self.resolve(&logfile))
            {
                return Err(fatal(None, format!("Can't open the log file: {}", strerror(&e))));
            }
        }
        if self.cfg.cluster_enabled() && self.cfg.replicaof().is_some() {
            return Err(fatal(None, "replicaof directive not allowed in cluster mode"));
        }
        self.cfg.clamp_hz();
        self.reading = false;
        Ok(())
    }

    fn extra(&mut self, args: &[String]) -> Result<(), String> {
        if let Some(h) = self.handler.as_mut() {
            h.directive(args)?;
        }
        self.cfg.extra.write().push(args.to_vec());
        Ok(())
    }

    fn apply(&mut self, idx: usize, parsed: Parsed) {
        if let Parsed::Save(points) = parsed {
            if self.reading {
                // Save lines in files accumulate; only the first one drops the defaults.
                let mut slot = self.cfg.save.write();
                if !self.save_loaded {
                    self.save_loaded = true;
                    slot.clear();
                }
                slot.extend(points);
                return;
            }
            self.cfg.store(idx, Parsed::Save(points));
            return;
        }
        self.cfg.store(idx, parsed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> Option<Vec<String>> {
        split_args(s.as_bytes()).map(|v| v.into_iter().map(|a| String::from_utf8(a).unwrap()).collect())
    }

    #[test]
    fn splitargs() {
        assert_eq!(sa("port 7000"), Some(vec!["port".into(), "7000".into()]));
        assert_eq!(sa("  a   b  "), Some(vec!["a".into(), "b".into()]));
        assert_eq!(sa("save \"\""), Some(vec!["save".into(), "".into()]));
        assert_eq!(sa("x \"a\\nb\\x41\""), Some(vec!["x".into(), "a\nbA".into()]));
        assert_eq!(sa("x 'it\\'s'"), Some(vec!["x".into(), "it's".into()]));
        assert_eq!(sa("x foo\"bar\""), Some(vec!["x".into(), "foobar".into()]));
        assert_eq!(sa("x \"a\"b"), None);
        assert_eq!(sa("x \"abc"), None);
        assert_eq!(sa("x 'abc"), None);
        assert_eq!(sa(""), Some(vec![]));
    }

    #[test]
    fn command_lines() {
        let a = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let c = command_line(None, &a(&["--port", "7000", "--save", "60", "1"]));
        assert_eq!(c.file, None);
        assert_eq!(c.options, "port \"7000\" \nsave \"60\" \"1\" ");
        let c = command_line(None, &a(&["redis.conf", "--save", "--port", "1"]));
        assert_eq!(c.file.as_deref(), Some("redis.conf"));
        assert_eq!(c.options, "save \"\"\nport \"1\" ");
        let c = command_line(None, &a(&["--save"]));
        assert_eq!(c.options, "save \"\"");
        let c = command_line(None, &a(&["--hz"]));
        assert_eq!(c.options, "hz ");
        let c = command_line(None, &a(&["--port 7000", "--hz", "--x"]));
        assert_eq!(c.options, "port 7000 \nhz \"--x\" ");
        let c = command_line(None, &a(&["-"]));
        assert!(c.from_stdin);
    }

    #[test]
    fn trims() {
        assert_eq!(trim(b"  a b \r", b" \t\r\n"), b"a b");
        assert_eq!(trim(b"   ", b" "), b"");
    }
}
