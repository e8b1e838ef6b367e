//! netatop-dbus: the system D-Bus service `org.gnome.GTopNetStats`.
//!
//! It answers libgtop-style `GetStats` (pid -> bytes sent, bytes received)
//! and a richer `GetProcessStats` from one `NETATOP_GETCNT_TASKS` snapshot,
//! and `GetConnections` (each connection with its ends and counters) from
//! one `NETATOP_GETCNT_CONNS` snapshot, each shared by the calls of a
//! quarter second ([`snapshot`]), showing a caller only its own processes
//! and their connections unless it is root or in the admin group. See
//! netatop-dbus(8).

pub mod access;
pub mod connections;
pub mod service;
pub mod snapshot;
pub mod stats;

pub use service::{serve, Bus, Error, Service, BUS_NAME, ERROR_PREFIX, INTERFACE, OBJECT_PATH};
