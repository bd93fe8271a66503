//! Brim's data store: databases, the keyspace table, values and their encodings, expiry,
//! and memory accounting. No sockets and no threads of its own; time is injected through
//! [`Access`], so everything here is deterministic and unit-testable.

pub mod alloc;
pub mod contention;
pub mod db;
mod entry;
pub mod evict;
pub mod expire;
pub mod hash;
pub mod keysizes;
pub mod lazyfree;
pub mod list;
pub mod lru;
pub mod object;
pub mod packed;
pub mod set;
pub mod stripe;
pub mod table;
pub mod value;
pub mod zset;

pub use db::{
    batch_done, keep_stripes, release_kept, Db, ExclusiveGate, Keyspace, MultiLock, SharedGate, StripeGuard,
};
pub use entry::OwnedPayload;
pub use lru::{Access, Touch};
pub use object::Object;
pub use stripe::{Detached, EntryMut, EntryRef, KeySaver, SetExpire, Stripe};
pub use table::{hash_key, ChainKey, ElemPtr, Rng};
pub use value::{NewValue, PackedKind, StrRef, ValueRef, ValueType};
