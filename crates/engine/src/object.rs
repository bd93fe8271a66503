//! Values of the collection types (lists, hashes, sets, sorted sets). Each lives behind one
//! pointer in its keyspace entry; strings are stored in the entry itself.
//!
//! The collection types arrive with their compact encodings in the data-types work; until
//! then no value of these types can exist.

/// A collection value.
#[derive(Debug, Clone)]
pub enum Object {}

impl Object {
    /// The type as TYPE reports it.
    pub fn value_type(&self) -> crate::ValueType {
        match *self {}
    }

    /// The encoding as OBJECT ENCODING reports it.
    pub fn encoding(&self) -> &'static str {
        match *self {}
    }

    /// Bytes allocated for the value, as MEMORY USAGE reports it.
    pub fn memory_usage(&self) -> usize {
        match *self {}
    }
}
