//! SigV4 signing of one request with `aws-sigv4` (see the module doc of [`crate::aws`]
//! for why that crate): we hand it the method, URL, headers and body, it returns the
//! headers to add (`authorization`, `x-amz-date`, `x-amz-security-token`).

use super::credentials::RoleCredentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use std::time::SystemTime;

/// The `Host` header value for `url` as the HTTP client sends it (port only when not the
/// scheme's default), so that the signed host is the one on the wire.
pub fn host_header(url: &reqwest::Url) -> Option<String> {
    let host = url.host_str()?;
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    })
}

/// A request before signing.
pub struct Unsigned<'a> {
    /// `POST`, `GET`, ...
    pub method: &'a str,
    /// The full URL.
    pub url: &'a str,
    /// The headers to sign; must include `host` (see [`host_header`]).
    pub headers: &'a [(String, String)],
    /// The body, hashed into the signature.
    pub body: &'a [u8],
}

/// Signs `request` for `service` in `region` at `time`; returns the headers to add.
pub fn sign_request(
    credentials: &RoleCredentials,
    region: &str,
    service: &str,
    time: SystemTime,
    request: &Unsigned<'_>,
) -> Result<Vec<(String, String)>, String> {
    sign_with(
        credentials,
        region,
        service,
        time,
        request,
        SigningSettings::default(),
    )
}

/// Signs `request` for S3 in `region` at `time`: S3 wants the payload's SHA-256 in an
/// `x-amz-content-sha256` header and the path signed as sent (no normalization, single
/// percent-encoding), as AWS's SDKs sign it.
pub fn sign_s3_request(
    credentials: &RoleCredentials,
    region: &str,
    time: SystemTime,
    request: &Unsigned<'_>,
) -> Result<Vec<(String, String)>, String> {
    use aws_sigv4::http_request::{
        PayloadChecksumKind, PercentEncodingMode, UriPathNormalizationMode,
    };
    let mut settings = SigningSettings::default();
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    sign_with(credentials, region, "s3", time, request, settings)
}

fn sign_with(
    credentials: &RoleCredentials,
    region: &str,
    service: &str,
    time: SystemTime,
    request: &Unsigned<'_>,
    settings: SigningSettings,
) -> Result<Vec<(String, String)>, String> {
    let identity = aws_credential_types::Credentials::new(
        credentials.access_key_id.clone(),
        credentials.secret_access_key.clone(),
        Some(credentials.token.clone()),
        Some(credentials.expiration.into()),
        "instance-role",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let signable = SignableRequest::new(
        request.method,
        request.url,
        request
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(request.body),
    )
    .map_err(|e| e.to_string())?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    Ok(instructions
        .headers()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect())
}
