//! Features per stream, computed as media is decoded and kept compactly.

pub mod fingerprint;
