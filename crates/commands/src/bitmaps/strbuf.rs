//! How the bitmap and HyperLogLog commands read strings and write them back.
//!
//! Redis leaves every string these commands write `raw`. Brim reports `raw` for a string held
//! in its own growable buffer and for one stored inline in the keyspace entry when it is
//! longer than 44 bytes, so the written value goes where it costs least while OBJECT
//! ENCODING still says `raw`: up to 44 bytes and past [`INLINE_MAX`] in a buffer (grown
//! exactly, in place), in between inline in the entry (one allocation per key, the entry
//! rebuilt on each write — cheap at that size).

use std::borrow::Cow;

use brim_engine::value::EMBSTR_MAX;
use brim_engine::{Access, EntryMut, NewValue, SetExpire, StrRef, Stripe};

/// Longest string kept inline in its keyspace entry by these commands.
pub const INLINE_MAX: usize = 512;

/// Reply when a string buffer cannot be allocated (Redis aborts the process instead).
pub const ALLOC_FAILED: &str = "ERR Insufficient memory, failed allocating memory for the string";

/// A buffer of `len` zero bytes, or `None` if it cannot be allocated.
pub fn zeroed(len: usize) -> Option<Vec<u8>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).ok()?;
    v.resize(len, 0);
    Some(v)
}

fn inline(len: usize) -> bool {
    len > EMBSTR_MAX && len <= INLINE_MAX
}

/// The text of a string value (an `int` string as its decimal digits).
pub fn text(s: StrRef<'_>) -> Cow<'_, [u8]> {
    match s {
        StrRef::Int(n) => Cow::Owned(n.to_string().into_bytes()),
        StrRef::Bytes(b) => Cow::Borrowed(b),
    }
}

/// Store a new `raw` string under `key` (replacing any value, clearing the TTL).
pub fn create(s: &mut Stripe, key: &[u8], mut v: Vec<u8>, acc: &Access) {
    if inline(v.len()) {
        s.set(key, NewValue::Plain(&v), SetExpire::Clear, acc);
    } else {
        v.shrink_to_fit();
        s.set(key, NewValue::Raw(v), SetExpire::Clear, acc);
    }
}

/// Replace the string of `e` with `v` (keeping the TTL), left `raw`.
pub fn replace(e: &mut EntryMut<'_>, mut v: Vec<u8>) {
    if inline(v.len()) {
        e.set_value(NewValue::Plain(&v));
    } else {
        v.shrink_to_fit();
        e.set_value(NewValue::Raw(v));
    }
}

/// Redis's dbUnshareStringValue, as far as it shows: an `int` or `embstr` string a write
/// command touches becomes `raw`, even when nothing else changes.
pub fn unshare(e: &mut EntryMut<'_>) {
    if matches!(e.as_ref().encoding(), "int" | "embstr") {
        let _ = e.str_buffer();
    }
}

/// Zero-pad the string of `e` to at least `len` bytes and write `patches` (byte index,
/// value) into it. `false` if the buffer cannot be allocated (nothing changed then).
pub fn patch(e: &mut EntryMut<'_>, len: usize, patches: &[(usize, u8)]) -> bool {
    let Some(cur) = e.as_ref().str() else {
        return false;
    };
    let len = len.max(cur.len());
    if inline(len) {
        let mut v = Vec::with_capacity(len);
        v.extend_from_slice(&text(cur));
        v.resize(len, 0);
        apply(&mut v, patches);
        e.set_value(NewValue::Plain(&v));
        return true;
    }
    let Some(buf) = e.str_buffer() else {
        return false;
    };
    if buf.len() < len {
        if buf.try_reserve_exact(len - buf.len()).is_err() {
            return false;
        }
        buf.resize(len, 0);
    }
    apply(buf, patches);
    true
}

fn apply(buf: &mut [u8], patches: &[(usize, u8)]) {
    for &(i, v) in patches {
        if let Some(b) = buf.get_mut(i) {
            *b = v;
        }
    }
}

/// A new zero-filled string of `len` bytes with `patches` written in, or `None` if it
/// cannot be allocated.
pub fn build(len: usize, patches: &[(usize, u8)]) -> Option<Vec<u8>> {
    let mut v = zeroed(len)?;
    apply(&mut v, patches);
    Some(v)
}
