//! CONFIG GET and CONFIG SET semantics of Redis 7.0.

use std::collections::HashSet;

use crate::table::{
    lookup, registered, Resolved, DENY_LOADING, HIDDEN, IMMUTABLE, MULTI_ARG, PROTECTED, TABLE,
};
use crate::Config;

/// Who is running CONFIG SET (for protected and loading checks).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SetContext {
    /// The client is local (loopback or unix socket): allowed to change protected
    /// configs when `enable-protected-configs` is `local`.
    pub local_client: bool,
    /// The server is loading its dataset: `appendonly`, `repl-diskless-load` and `dir`
    /// are refused with `-LOADING`.
    pub loading: bool,
}

/// The `-LOADING` error CONFIG SET returns for deny-loading configs.
pub const LOADING_ERROR: &str = "LOADING Redis is loading the dataset in memory";

/// `sdssplitlen(value, " ")`: split on every single space; an empty value gives no args.
fn split_space(v: &[u8]) -> Vec<Vec<u8>> {
    if v.is_empty() {
        return Vec::new();
    }
    v.split(|&c| c == b' ').map(<[u8]>::to_vec).collect()
}

impl Config {
    /// CONFIG GET with one or more patterns (Redis 7.0 semantics).
    ///
    /// A name without `*`, `?` or `[` is looked up exactly (case-insensitively, aliases and
    /// hidden configs included) and reported as typed; otherwise the pattern is matched
    /// (ASCII case-insensitively) against every non-hidden name and alias. Each name is
    /// reported at most once.
    pub fn get(&self, patterns: &[&[u8]]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        for &pat in patterns {
            if !pat.iter().any(|c| matches!(c, b'[' | b'*' | b'?')) {
                let key = String::from_utf8_lossy(pat).to_ascii_lowercase();
                if seen.contains(&key) {
                    continue;
                }
                if let Some(r) = lookup(pat) {
                    seen.insert(key);
                    out.push((String::from_utf8_lossy(pat).into_owned(), self.format_value(r.idx)));
                }
                continue;
            }
            for r in registered() {
                if TABLE[r.idx].flags & HIDDEN != 0 {
                    continue;
                }
                let name = r.registered_name();
                if seen.contains(name) {
                    continue;
                }
                if brim_glob::glob_match(pat, name.as_bytes(), true) {
                    seen.insert(name.to_string());
                    out.push((name.to_string(), self.format_value(r.idx)));
                }
            }
        }
        out
    }

    /// The CONFIG GET value of one directive by exact name or alias (hidden ones included).
    pub fn get_value(&self, name: &str) -> Option<String> {
        lookup(name.as_bytes()).map(|r| self.format_value(r.idx))
    }

    /// CONFIG SET from a remote (non-local) client while not loading; see [`Config::set_with`].
    pub fn set(&self, pairs: &[(&[u8], &[u8])]) -> Result<Vec<&'static str>, String> {
        self.set_with(pairs, SetContext::default())
    }

    /// CONFIG SET with several `name value` pairs, atomically: every pair is checked and
    /// parsed before any is applied. Returns the primary names of the directives whose value
    /// changed (no duplicates, in argument order) so the caller can apply side effects
    /// (rebinding the port, resizing, ...). Errors are Redis's exact texts without the
    /// leading `-`, e.g. `ERR Unknown option or number of arguments for CONFIG SET - 'foo'`.
    /// The caller handles an odd argument count (`ERR syntax error`).
    pub fn set_with(&self, pairs: &[(&[u8], &[u8])], ctx: SetContext) -> Result<Vec<&'static str>, String> {
        let _guard = self.write_lock.lock();
        let protected_ok = self.enable_protected_configs().allows(ctx.local_client);
        let mut chosen: Vec<(Resolved, &[u8])> = Vec::with_capacity(pairs.len());
        let mut failure: Option<String> = None;
        for &(name, value) in pairs {
            let typed = || String::from_utf8_lossy(name).into_owned();
            let Some(r) = lookup(name) else {
                if failure.is_none() {
                    failure = Some(format!(
                        "ERR Unknown option or number of arguments for CONFIG SET - '{}'",
                        typed()
                    ));
                }
                continue;
            };
            if failure.is_some() {
                continue;
            }
            let flags = TABLE[r.idx].flags;
            let reason = if flags & IMMUTABLE != 0 {
                Some("can't set immutable config")
            } else if flags & PROTECTED != 0 && !protected_ok {
                Some("can't set protected config")
            } else {
                None
            };
            if let Some(reason) = reason {
                failure = Some(format!(
                    "ERR CONFIG SET failed (possibly related to argument '{}') - {reason}",
                    typed()
                ));
                continue;
            }
            if ctx.loading && flags & DENY_LOADING != 0 {
                failure = Some(LOADING_ERROR.to_string());
                continue;
            }
            if chosen.iter().any(|(c, _)| *c == r) {
                failure = Some(format!(
                    "ERR CONFIG SET failed (possibly related to argument '{}') - duplicate parameter",
                    typed()
                ));
                continue;
            }
            chosen.push((r, value));
        }
        if let Some(f) = failure {
            return Err(f);
        }

        let mut parsed = Vec::with_capacity(chosen.len());
        for (r, value) in &chosen {
            let args =
                if TABLE[r.idx].flags & MULTI_ARG != 0 { split_space(value) } else { vec![value.to_vec()] };
            let p = self.parse(r.idx, &args).map_err(|e| {
                format!(
                    "ERR CONFIG SET failed (possibly related to argument '{}') - {e}",
                    r.registered_name()
                )
            })?;
            parsed.push((r.idx, p));
        }

        let mut changed: Vec<&'static str> = Vec::new();
        for (idx, p) in parsed {
            let did = self.store(idx, p);
            self.clamp_after_set(idx);
            let name = TABLE[idx].name;
            if did && !changed.contains(&name) {
                changed.push(name);
            }
        }
        Ok(changed)
    }

    /// Set a directive from inside the server, bypassing the immutable/protected checks
    /// (e.g. REPLICAOF updating `replicaof`, or lowering `maxclients` to the fd limit).
    /// `value` is split on spaces for multi-argument directives. Returns whether the value
    /// changed; errors are the bare reason (e.g. `argument must be a memory value`).
    pub fn set_internal(&self, name: &str, value: &str) -> Result<bool, String> {
        let _guard = self.write_lock.lock();
        let r = lookup(name.as_bytes()).ok_or_else(|| format!("unknown config '{name}'"))?;
        let args = if TABLE[r.idx].flags & MULTI_ARG != 0 {
            split_space(value.as_bytes())
        } else {
            vec![value.as_bytes().to_vec()]
        };
        let p = self.parse(r.idx, &args)?;
        let changed = self.store(r.idx, p);
        self.clamp_after_set(r.idx);
        Ok(changed)
    }
}
