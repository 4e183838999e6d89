//! The request bodies and query strings the API reads, by area: the
//! contract's side the API layer deserializes and documents (OpenAPI), and
//! the service takes as its input. Validation beyond their shape is the
//! service's.

pub mod clients;
pub mod commands;
pub mod corrections;
pub mod devices;
pub mod enrollment;
pub mod extend;
pub mod hall;
pub mod housekeeping;
pub mod money;
pub mod orders;
pub mod sessions;
pub mod staff;
pub mod tariffs;
