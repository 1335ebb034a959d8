//! The engine's rules as tables, and its invariants as properties.

mod changes;
mod common;
mod decisions;
mod devices;
mod preferences;
mod properties;
mod stack;
mod statuses;
mod views;
