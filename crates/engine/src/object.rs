//! Values of the collection types in their big encodings. Each lives behind one pointer in
//! its keyspace entry; small collections are packed inline in the entry instead (see
//! `crate::packed` and `PackedKind`), and strings are stored in the entry itself.

use crate::{hash::Hash, list::List, set::Set, zset::ZSet, ValueType};

/// A collection in its big encoding.
#[derive(Debug, Clone)]
pub enum Object {
    /// A list (`quicklist`).
    List(List),
    /// A hash (`hashtable`).
    Hash(Hash),
    /// A set (`hashtable`).
    Set(Set),
    /// A sorted set (`skiplist`).
    ZSet(ZSet),
}

impl Object {
    /// The type as TYPE reports it.
    pub fn value_type(&self) -> ValueType {
        match self {
            Object::List(_) => ValueType::List,
            Object::Hash(_) => ValueType::Hash,
            Object::Set(_) => ValueType::Set,
            Object::ZSet(_) => ValueType::ZSet,
        }
    }

    /// The encoding as OBJECT ENCODING reports it.
    pub fn encoding(&self) -> &'static str {
        match self {
            Object::List(v) => v.encoding(),
            Object::Hash(v) => v.encoding(),
            Object::Set(v) => v.encoding(),
            Object::ZSet(v) => v.encoding(),
        }
    }

    /// Bytes allocated for the value, as MEMORY USAGE reports it.
    pub fn memory_usage(&self) -> usize {
        match self {
            Object::List(v) => v.memory_usage(),
            Object::Hash(v) => v.memory_usage(),
            Object::Set(v) => v.memory_usage(),
            Object::ZSet(v) => v.memory_usage(),
        }
    }
}
