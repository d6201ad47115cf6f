//! Values that are never printed: passwords and tokens ([`Secret`]) and key material given
//! inline ([`SecretMaterial`]). A leaf: configuration parses them, the domain modules that
//! send or decode them hold them, and their `Debug` and `Serialize` show `<redacted>`.

use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// A password or token: never printed, whatever it looks like.
#[derive(Clone)]
pub struct Secret(String);

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        secret_string(d).map(Secret)
    }
}

/// A string from a secret key. serde's own type errors quote the value they got
/// (`invalid type: integer `98765432109876``); this visitor's errors name only the kind of
/// value, so a secret given with the wrong type never reaches an error message.
fn secret_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    d.deserialize_string(SecretVisitor)
}

struct SecretVisitor;

impl SecretVisitor {
    fn wrong<E: serde::de::Error>(kind: &str) -> E {
        E::custom(format!(
            "invalid type: {kind} (value not shown), expected a string; quote it"
        ))
    }
}

impl<'de> serde::de::Visitor<'de> for SecretVisitor {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<String, E> {
        Err(Self::wrong("boolean"))
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<String, E> {
        Err(Self::wrong("integer"))
    }
    fn visit_i128<E: serde::de::Error>(self, _: i128) -> Result<String, E> {
        Err(Self::wrong("integer"))
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<String, E> {
        Err(Self::wrong("integer"))
    }
    fn visit_u128<E: serde::de::Error>(self, _: u128) -> Result<String, E> {
        Err(Self::wrong("integer"))
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<String, E> {
        Err(Self::wrong("float"))
    }
    fn visit_bytes<E: serde::de::Error>(self, _: &[u8]) -> Result<String, E> {
        Err(Self::wrong("bytes"))
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<String, E> {
        Err(Self::wrong("nothing"))
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<String, E> {
        Err(Self::wrong("nothing"))
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, _: D) -> Result<String, D::Error> {
        Err(Self::wrong("option"))
    }
    fn visit_newtype_struct<D: serde::Deserializer<'de>>(self, _: D) -> Result<String, D::Error> {
        Err(Self::wrong("value"))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, _: A) -> Result<String, A::Error> {
        Err(Self::wrong("array"))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, _: A) -> Result<String, A::Error> {
        // TOML dates and times arrive as maps too.
        Err(Self::wrong("table or date"))
    }
    fn visit_enum<A: serde::de::EnumAccess<'de>>(self, _: A) -> Result<String, A::Error> {
        Err(Self::wrong("value"))
    }
}

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The raw value, for the code that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("<redacted>")
    }
}

/// Key material given inline or as an absolute path. Inline material never appears in
/// `config show`, `Debug` output or logs; a path does, since it helps and reveals nothing.
#[derive(Clone)]
pub struct SecretMaterial(String);

impl<'de> Deserialize<'de> for SecretMaterial {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        secret_string(d).map(SecretMaterial)
    }
}

impl SecretMaterial {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The raw value, for the code that decodes it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    fn shown(&self) -> &str {
        if is_path(&self.0) {
            &self.0
        } else {
            "<redacted>"
        }
    }
}

impl fmt::Debug for SecretMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.shown())
    }
}

impl Serialize for SecretMaterial {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.shown())
    }
}

/// Whether a material value names a file rather than holding the data: an absolute path.
/// No valid inline form starts with `/` (PEM starts with `-`, base64 of PEM with `L`,
/// base64 of gzip with `H`).
pub fn is_path(value: &str) -> bool {
    value.starts_with('/') && !value.contains('\n')
}
