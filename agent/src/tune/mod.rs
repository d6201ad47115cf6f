//! Sizing the stack to the machine: Java heaps from its memory, kernel network buffers and
//! service limits, and an estimate of how many participants it carries.

pub mod capacity;
pub mod files;
pub mod heap;
pub mod settings;
