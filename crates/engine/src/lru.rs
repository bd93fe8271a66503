//! The per-key access data kept in the 32-bit access field of each entry, and the time a
//! command runs at.
//!
//! The field holds one of three things, depending on the `maxmemory-policy` in force when the
//! key was last touched (as in Redis, switching policies at runtime reinterprets old data until
//! keys are touched again):
//!
//! - **LRU clock** (every policy but the LFU ones): the time of the last access in units of
//!   [`ACCESS_CLOCK_RESOLUTION_MS`] (10 ms), wrapping at 2^31 (about 248 days). Redis keeps 24
//!   bits of seconds (194 days); Brim has 31 bits of the field (the top bit is the entry's
//!   snapshot mark, see `crate::entry`), so it keeps a 100× finer clock that lets eviction
//!   tell apart keys used within the same second. `OBJECT IDLETIME`
//!   reports whole seconds from it. `INFO`'s `lru_clock` still shows Redis's 24-bit seconds
//!   clock ([`Access::lru_clock`]).
//! - **LFU record** (`allkeys-lfu`, `volatile-lfu`), exactly Redis's layout in the low 24
//!   bits: 16 bits of minutes (last decrement time) then an 8-bit logarithmic counter, with
//!   Redis's `LFULogIncr` / `LFUDecrAndReturn` arithmetic (`lfu-log-factor`,
//!   `lfu-decay-time`). New keys start at [`LFU_INIT_VAL`].
//! - **LRM clock** (`allkeys-lrm`, `volatile-lrm`: least recently *modified*): the same clock
//!   as LRU, but only updated when a key is written. The engine tells writes from reads by how
//!   the key is reached: [`crate::Stripe::get`] / [`crate::Stripe::exists`] are reads and do
//!   not touch under LRM ([`Access::for_read`]), while [`crate::Stripe::get_mut`] (a write
//!   lookup, like Redis's `lookupKeyWrite`) and [`crate::Stripe::set`] record the time. A new
//!   key starts at its creation time. `OBJECT IDLETIME` then reports the seconds since the last
//!   modification.

/// Largest value of Redis's 24-bit LRU clock in seconds (INFO `lru_clock`).
pub const LRU_CLOCK_MAX: u32 = (1 << 24) - 1;
/// Milliseconds per tick of the clock stored in keys under LRU and LRM policies.
pub const ACCESS_CLOCK_RESOLUTION_MS: i64 = 10;
/// The bits of the access data: the clock wraps at 2^31.
pub const ACCESS_DATA_MASK: u32 = (1 << 31) - 1;
/// Initial LFU counter of a new key, so that new keys are not evicted at once.
pub const LFU_INIT_VAL: u8 = 5;

/// How accesses update a key's access data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Touch {
    /// Leave it alone (CLIENT NO-TOUCH, OBJECT, TYPE, ...).
    None,
    /// Record the access time (every policy but the LFU and LRM ones).
    Lru,
    /// Bump the logarithmic frequency counter.
    Lfu {
        /// `lfu-log-factor`.
        log_factor: u32,
        /// `lfu-decay-time` in minutes.
        decay_minutes: u32,
    },
    /// Record the time of writes only (least recently modified): reads made through
    /// [`Access::for_read`] leave the data alone.
    Lrm,
}

/// What a command needs to read and write the keyspace: the time (injected, cached per
/// command as Redis does) and how accesses touch keys.
#[derive(Debug, Clone, Copy)]
pub struct Access {
    /// Unix time in milliseconds.
    pub now_ms: i64,
    /// How reads and writes update the access data.
    pub touch: Touch,
}

impl Access {
    /// An access at `now_ms` that records LRU time.
    pub fn at(now_ms: i64) -> Self {
        Access { now_ms, touch: Touch::Lru }
    }

    /// The same access without touching keys.
    pub fn no_touch(self) -> Self {
        Access { touch: Touch::None, ..self }
    }

    /// The same access as a read: under an LRM policy reads do not touch keys; otherwise
    /// unchanged.
    pub fn for_read(self) -> Self {
        match self.touch {
            Touch::Lrm => self.no_touch(),
            _ => self,
        }
    }

    /// Redis's 24-bit LRU clock: seconds, wrapping (INFO `lru_clock`).
    pub fn lru_clock(&self) -> u32 {
        ((self.now_ms / 1000) as u64 & LRU_CLOCK_MAX as u64) as u32
    }

    /// The clock stored in keys under LRU and LRM policies: ticks of
    /// [`ACCESS_CLOCK_RESOLUTION_MS`], wrapping at 2^31.
    pub fn access_clock(&self) -> u32 {
        (self.now_ms.max(0) / ACCESS_CLOCK_RESOLUTION_MS) as u64 as u32 & ACCESS_DATA_MASK
    }

    fn minutes(&self) -> u32 {
        ((self.now_ms / 60_000) as u64 & 0xFFFF) as u32
    }

    /// Access data for a newly created key.
    pub fn initial(&self) -> u32 {
        match self.touch {
            Touch::Lfu { .. } => (self.minutes() << 8) | LFU_INIT_VAL as u32,
            _ => self.access_clock(),
        }
    }

    /// Access data after one access to a key whose data was `old`.
    pub fn touched(&self, old: u32, rand: u64) -> u32 {
        match self.touch {
            Touch::None => old,
            Touch::Lru | Touch::Lrm => self.access_clock(),
            Touch::Lfu { log_factor, decay_minutes } => {
                let counter = self.lfu_decayed(old, decay_minutes);
                let counter = lfu_log_incr(counter, log_factor, rand);
                (self.minutes() << 8) | counter as u32
            }
        }
    }

    /// The LFU counter of `data` after the decay for the minutes elapsed (Redis's
    /// LFUDecrAndReturn).
    pub fn lfu_decayed(&self, data: u32, decay_minutes: u32) -> u8 {
        let last = (data >> 8) & 0xFFFF;
        let counter = (data & 0xFF) as u8;
        let now = self.minutes();
        let elapsed = if now >= last { now - last } else { 65535 - last + now };
        let periods = elapsed.checked_div(decay_minutes).unwrap_or(0);
        counter.saturating_sub(periods.min(255) as u8)
    }

    /// Milliseconds since the key was last accessed (or modified, under LRM), given its
    /// LRU/LRM data (Redis's estimateObjectIdleTime, at 10 ms resolution).
    pub fn idle_ms(&self, data: u32) -> u64 {
        (self.access_clock().wrapping_sub(data) & ACCESS_DATA_MASK) as u64 * ACCESS_CLOCK_RESOLUTION_MS as u64
    }
}

/// Redis's LFULogIncr: increment with probability 1 / ((counter - LFU_INIT_VAL) * factor + 1).
pub fn lfu_log_incr(counter: u8, log_factor: u32, rand: u64) -> u8 {
    if counter == 255 {
        return 255;
    }
    let r = (rand >> 11) as f64 / (1u64 << 53) as f64;
    let base = (counter as f64 - LFU_INIT_VAL as f64).max(0.0);
    let p = 1.0 / (base * log_factor as f64 + 1.0);
    if r < p {
        counter + 1
    } else {
        counter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lru_clock_is_fine_grained_and_wraps() {
        let a = Access::at(1_000_000);
        let d = a.initial();
        assert_eq!(Access::at(1_000_000 + 25).idle_ms(d), 20);
        assert_eq!(Access::at(1_000_000 + 61_234).idle_ms(d) / 1000, 61);
        // Wrap-around of the 31-bit clock.
        let near_wrap = (ACCESS_DATA_MASK as i64) * ACCESS_CLOCK_RESOLUTION_MS;
        let d = Access::at(near_wrap).initial();
        assert_eq!(Access::at(near_wrap + 30).idle_ms(d), 30);
        assert_eq!(Access::at(1_700_000_000_000).lru_clock(), (1_700_000_000u64 & 0xFF_FFFF) as u32);
    }

    #[test]
    fn lrm_reads_do_not_touch_writes_do() {
        let w = Access { now_ms: 50_000, touch: Touch::Lrm };
        let old = Access::at(10_000).initial();
        assert_eq!(w.for_read().touched(old, 0), old);
        assert_eq!(w.touched(old, 0), w.access_clock());
        let lru = Access::at(50_000);
        assert_eq!(lru.for_read().touched(old, 0), lru.access_clock());
    }

    #[test]
    fn lfu_counter_grows_logarithmically_and_decays() {
        let lfu = Access { now_ms: 3_600_000, touch: Touch::Lfu { log_factor: 10, decay_minutes: 1 } };
        let mut data = lfu.initial();
        assert_eq!(lfu.lfu_decayed(data, 1), LFU_INIT_VAL);
        let mut rng = crate::table::Rng::new(7);
        for _ in 0..1000 {
            data = lfu.touched(data, rng.next_u64());
        }
        let c = lfu.lfu_decayed(data, 1);
        // Redis's table: ~1000 hits with factor 10 give a counter around 18-22.
        assert!((12..=30).contains(&c), "counter {c}");
        // Ten minutes later with a one-minute decay period the counter dropped by ten.
        let later = Access { now_ms: 3_600_000 + 600_000, ..lfu };
        assert_eq!(later.lfu_decayed(data, 1), c - 10);
        // Decay time 0 means no decay.
        assert_eq!(later.lfu_decayed(data, 0), c);
        assert_eq!(lfu_log_incr(255, 10, 0), 255);
        assert_eq!(lfu_log_incr(LFU_INIT_VAL, 10, 0), LFU_INIT_VAL + 1);
    }
}
