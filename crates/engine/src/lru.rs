//! The per-key access data kept in 24 bits of each entry, as Redis does: an LRU clock in
//! seconds, or an LFU record (16 bits of minutes, 8 bits of logarithmic counter).

/// Largest LRU clock value (24 bits).
pub const LRU_CLOCK_MAX: u32 = (1 << 24) - 1;
/// Initial LFU counter of a new key, so that new keys are not evicted at once.
pub const LFU_INIT_VAL: u8 = 5;

/// How accesses update a key's access data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Touch {
    /// Leave it alone (CLIENT NO-TOUCH, OBJECT, TYPE, ...).
    None,
    /// Record the access time (every policy but the LFU ones).
    Lru,
    /// Bump the logarithmic frequency counter.
    Lfu {
        /// `lfu-log-factor`.
        log_factor: u32,
        /// `lfu-decay-time` in minutes.
        decay_minutes: u32,
    },
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

    /// The 24-bit LRU clock: seconds, wrapping.
    pub fn lru_clock(&self) -> u32 {
        ((self.now_ms / 1000) as u64 & LRU_CLOCK_MAX as u64) as u32
    }

    fn minutes(&self) -> u32 {
        ((self.now_ms / 60_000) as u64 & 0xFFFF) as u32
    }

    /// Access data for a newly created key.
    pub fn initial(&self) -> u32 {
        match self.touch {
            Touch::Lfu { .. } => (self.minutes() << 8) | LFU_INIT_VAL as u32,
            _ => self.lru_clock(),
        }
    }

    /// Access data after one access to a key whose data was `old`.
    pub fn touched(&self, old: u32, rand: u64) -> u32 {
        match self.touch {
            Touch::None => old,
            Touch::Lru => self.lru_clock(),
            Touch::Lfu { log_factor, decay_minutes } => {
                let counter = self.lfu_decayed(old, decay_minutes);
                let counter = lfu_log_incr(counter, log_factor, rand);
                (self.minutes() << 8) | counter as u32
            }
        }
    }

    /// The LFU counter of `data` after the decay for the minutes elapsed.
    pub fn lfu_decayed(&self, data: u32, decay_minutes: u32) -> u8 {
        let last = data >> 8;
        let counter = (data & 0xFF) as u8;
        let now = self.minutes();
        let elapsed = if now >= last { now - last } else { 65535 - last + now };
        let periods = elapsed.checked_div(decay_minutes).unwrap_or(0);
        counter.saturating_sub(periods.min(255) as u8)
    }

    /// Seconds since the key was last accessed, given its LRU data (Redis's
    /// estimateObjectIdleTime, in ms).
    pub fn idle_ms(&self, data: u32) -> u64 {
        let now = self.lru_clock();
        let secs = if now >= data { now - data } else { LRU_CLOCK_MAX - data + now };
        secs as u64 * 1000
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
