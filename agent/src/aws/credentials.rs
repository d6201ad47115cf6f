//! The instance role's temporary credentials from IMDSv2
//! (`/latest/meta-data/iam/security-credentials/` names the role, `.../ROLE` is its JSON),
//! cached until five minutes before they expire (EC2 rotates them well before that).

use super::imds::Imds;
use super::AwsError;
use std::fmt;
use std::sync::Mutex;
use time::OffsetDateTime;

const ROLES: &str = "/latest/meta-data/iam/security-credentials/";

/// Refetch this long before the credentials expire.
const REFRESH_BEFORE: time::Duration = time::Duration::minutes(5);

/// Temporary credentials of the instance role. `Debug` never shows the secrets.
#[derive(Clone)]
pub struct RoleCredentials {
    /// AccessKeyId.
    pub access_key_id: String,
    /// SecretAccessKey.
    pub secret_access_key: String,
    /// The session token (sent as `X-Amz-Security-Token`).
    pub token: String,
    /// When they stop working.
    pub expiration: OffsetDateTime,
}

impl fmt::Debug for RoleCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RoleCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("expiration", &self.expiration)
            .finish_non_exhaustive()
    }
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Answer {
    code: Option<String>,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    token: Option<String>,
    expiration: Option<String>,
}

impl RoleCredentials {
    /// Parses the role's JSON document; `what` names it in errors.
    pub fn parse(what: &str, body: &str) -> Result<Self, String> {
        let a: Answer =
            serde_json::from_str(body).map_err(|e| format!("{what} is not JSON ({e})"))?;
        if let Some(code) = a.code.filter(|c| c != "Success") {
            return Err(format!("{what} says Code {code}"));
        }
        let field = |name: &str, v: Option<String>| {
            v.filter(|s| !s.is_empty())
                .ok_or_else(|| format!("{what} has no {name}"))
        };
        let expiration = field("Expiration", a.expiration)?;
        let expiration =
            OffsetDateTime::parse(&expiration, &time::format_description::well_known::Rfc3339)
                .map_err(|e| format!("{what} has Expiration `{expiration}`, not RFC 3339 ({e})"))?;
        Ok(Self {
            access_key_id: field("AccessKeyId", a.access_key_id)?,
            secret_access_key: field("SecretAccessKey", a.secret_access_key)?,
            token: field("Token", a.token)?,
            expiration,
        })
    }

    /// Whether they are still good for a request made `now` (with the refresh margin).
    pub fn fresh_at(&self, now: OffsetDateTime) -> bool {
        now + REFRESH_BEFORE < self.expiration
    }
}

/// Reads the role's credentials from the metadata service and keeps them until near
/// expiry.
pub struct CredentialCache {
    cached: Mutex<Option<RoleCredentials>>,
}

impl Default for CredentialCache {
    fn default() -> Self {
        Self::new()
    }
}

impl CredentialCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self {
            cached: Mutex::new(None),
        }
    }

    /// Drops the cached credentials (after AWS refused them as expired).
    pub fn forget(&self) {
        if let Ok(mut c) = self.cached.lock() {
            *c = None;
        }
    }

    /// The role's credentials: the cached ones while fresh, else read anew from `imds`.
    pub async fn get(&self, imds: &Imds) -> Result<RoleCredentials, AwsError> {
        let now = OffsetDateTime::now_utc();
        if let Ok(c) = self.cached.lock() {
            if let Some(c) = c.as_ref().filter(|c| c.fresh_at(now)) {
                return Ok(c.clone());
            }
        }
        let error = |what: String| AwsError::Imds {
            base: imds.base().to_string(),
            what,
        };
        let roles = imds.get(ROLES).await?.unwrap_or_default();
        // One role per instance profile; the listing is that name.
        let role = roles
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .ok_or_else(|| {
                error(format!(
                    "GET {ROLES} names no role (attach an instance profile)"
                ))
            })?
            .to_string();
        let path = format!("{ROLES}{role}");
        let body = imds
            .get(&path)
            .await?
            .ok_or_else(|| error(format!("GET {path} answered 404")))?;
        let credentials = RoleCredentials::parse(&format!("GET {path}"), &body).map_err(error)?;
        if !credentials.fresh_at(now) {
            return Err(error(format!(
                "GET {path} gave credentials expiring at {}, already (nearly) expired",
                credentials.expiration
            )));
        }
        if let Ok(mut c) = self.cached.lock() {
            *c = Some(credentials.clone());
        }
        Ok(credentials)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"Code":"Success","LastUpdated":"2026-12-01T10:00:00Z","Type":"AWS-HMAC","AccessKeyId":"ASIAEXAMPLE","SecretAccessKey":"s3cr3t","Token":"tok","Expiration":"2026-12-01T16:00:00Z"}"#;

    #[test]
    fn the_role_document_parses_and_debug_hides_the_secret() {
        let c = RoleCredentials::parse("role", GOOD).unwrap();
        assert_eq!(c.access_key_id, "ASIAEXAMPLE");
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("s3cr3t") && !shown.contains("tok\""),
            "{shown}"
        );
    }

    #[test]
    fn credentials_are_refreshed_five_minutes_before_expiry() {
        let c = RoleCredentials::parse("role", GOOD).unwrap();
        let exp = c.expiration;
        assert!(c.fresh_at(exp - time::Duration::minutes(6)));
        assert!(!c.fresh_at(exp - time::Duration::minutes(4)));
    }

    #[test]
    fn bad_documents_name_what_is_wrong() {
        let e = RoleCredentials::parse("role", r#"{"Code":"Failure"}"#).unwrap_err();
        assert!(e.contains("Code Failure"), "{e}");
        let e =
            RoleCredentials::parse("role", &GOOD.replace("\"Token\":\"tok\",", "")).unwrap_err();
        assert!(e.contains("no Token"), "{e}");
        let e = RoleCredentials::parse("role", &GOOD.replace("2026-12-01T16:00:00Z", "soon"))
            .unwrap_err();
        assert!(e.contains("not RFC 3339"), "{e}");
    }
}
