//! Configuration text on its way from where it was found (a drop-in file, an instance
//! source) to the configuration that parses it.

/// One piece of configuration text and where it came from (a path or a source description).
#[derive(Debug, Clone, PartialEq)]
pub struct Fragment {
    /// Where the text came from, as shown in error messages.
    pub origin: String,
    /// The TOML text.
    pub text: String,
}
