//! URL providers (dynu and similar): a templated GET or POST, optional basic auth or a
//! token header, the answer checked by HTTP status and an optional body pattern.

use super::{Target, UpdateError};
use crate::redact::Redactor;
use crate::secret::Secret;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::time::Duration;

/// RFC 3986 unreserved characters stay as they are; everything else is encoded.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// One URL provider.
#[derive(Debug, Clone)]
pub struct UrlUpdate {
    /// URL template: `{domain}`, `{ip}`, `{ip6}`, `{password}`, `{token}`.
    pub url: String,
    /// POST instead of GET.
    pub post: bool,
    /// POST body template (same placeholders, not URL-encoded).
    pub body: Option<String>,
    /// Basic-auth user name (with `password`).
    pub username: Option<String>,
    /// Password for basic auth or `{password}`.
    pub password: Option<Secret>,
    /// Header that carries `token`.
    pub header: Option<String>,
    /// Token for `header` or `{token}`.
    pub token: Option<Secret>,
    /// Pattern the response body must match.
    pub expect_body: Option<regex_lite::Regex>,
}

/// Longest provider answer quoted in status.
const ANSWER_CHARS: usize = 200;

impl UrlUpdate {
    /// Scheme, host and path: the query string often carries the password.
    pub fn label(&self) -> String {
        let head = self.url.split(['?', '#']).next().unwrap_or_default();
        // Placeholders in the path stay as written; only the query is dropped.
        format!("url {head}")
    }

    /// This provider's credentials, found in every form they travel in (the password also
    /// as base64 of `username:password`, as basic auth sends it).
    fn redactor(&self) -> Redactor {
        let mut r = Redactor::new();
        if let Some(password) = &self.password {
            r.add(password.expose(), self.username.as_deref());
        }
        if let Some(token) = &self.token {
            r.add(token.expose(), None);
        }
        r
    }

    /// Fills in the placeholders; `encode` percent-encodes each value (for URLs).
    fn render(&self, template: &str, target: &Target, encode: bool) -> String {
        let value = |v: &str| {
            if encode {
                utf8_percent_encode(v, COMPONENT).to_string()
            } else {
                v.to_string()
            }
        };
        let ip = target.ipv4.map(|ip| ip.to_string()).unwrap_or_default();
        let ip6 = target.ipv6.map(|ip| ip.to_string()).unwrap_or_default();
        template
            .replace("{domain}", &value(&target.domain))
            .replace("{ip}", &value(&ip))
            .replace("{ip6}", &value(&ip6))
            .replace(
                "{password}",
                &value(self.password.as_ref().map_or("", Secret::expose)),
            )
            .replace(
                "{token}",
                &value(self.token.as_ref().map_or("", Secret::expose)),
            )
    }

    /// Sends the update once.
    pub async fn send(&self, target: &Target) -> Result<String, UpdateError> {
        let mut builder = crate::http_body::builder();
        if self.url.starts_with("http://") {
            // No TLS will happen: skip loading the system's CA roots, which costs most of
            // this step on a small (or emulated) CPU.
            builder = builder.tls_certs_only(Vec::new());
        }
        let client = builder
            .timeout(Duration::from_secs(15))
            .user_agent(concat!("meet-agent/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| UpdateError::fatal(format!("cannot build the HTTP client: {e}")))?;
        let url = self.render(&self.url, target, true);
        let mut request = if self.post {
            let body = self
                .body
                .as_deref()
                .map(|b| self.render(b, target, false))
                .unwrap_or_default();
            let content_type = if body.trim_start().starts_with('{') {
                "application/json"
            } else {
                "application/x-www-form-urlencoded"
            };
            client
                .post(&url)
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(body)
        } else {
            client.get(&url)
        };
        if let Some(user) = &self.username {
            request = request.basic_auth(user, self.password.as_ref().map(Secret::expose));
        }
        if let (Some(header), Some(token)) = (&self.header, &self.token) {
            request = request.header(header.as_str(), token.expose());
        }
        // reqwest's errors quote the URL, which may hold the password: say what failed
        // without them.
        let response = request.send().await.map_err(|e| {
            let why = if e.is_timeout() {
                "no answer within 15 s"
            } else if e.is_connect() {
                "cannot connect"
            } else {
                "request failed"
            };
            UpdateError::retry(why)
        })?;
        let status = response.status();
        let body = read_body(response)
            .await
            .map_err(|_| UpdateError::retry(format!("HTTP {status}, answer not readable")))?;
        let answer = self.quote(&body);
        if !status.is_success() {
            let message = format!("HTTP {}: {answer}", status.as_u16());
            return Err(if status.is_server_error() || status.as_u16() == 429 {
                UpdateError::retry(message)
            } else {
                UpdateError::fatal(message)
            });
        }
        if let Some(pattern) = &self.expect_body {
            if !pattern.is_match(&body) {
                return Err(UpdateError::fatal(format!(
                    "the answer `{answer}` does not match expect_body `{}`",
                    pattern.as_str()
                )));
            }
        }
        Ok(answer)
    }

    /// The provider's answer for status: credentials removed (before anything else, so that
    /// no secret is split by shortening), one line, shortened.
    fn quote(&self, body: &str) -> String {
        let redacted = self.redactor().redact(body);
        let mut text: String = redacted.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.chars().count() > ANSWER_CHARS {
            text = text.chars().take(ANSWER_CHARS).collect::<String>() + "...";
        }
        if text.is_empty() {
            "(empty)".into()
        } else {
            text
        }
    }
}

/// Most of an answer read: more is never shown, and a provider cannot fill memory.
const BODY_LIMIT: usize = 64 << 10;

/// The answer's body, at most [`BODY_LIMIT`] bytes of it, as text.
async fn read_body(mut response: reqwest::Response) -> Result<String, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = BODY_LIMIT - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= BODY_LIMIT {
            break;
        }
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(url: &str) -> UrlUpdate {
        UrlUpdate {
            url: url.into(),
            post: false,
            body: None,
            username: None,
            password: Some(Secret::new("p&ss word")),
            header: None,
            token: None,
            expect_body: None,
        }
    }

    #[test]
    fn renders_and_encodes_placeholders() {
        let u = update("https://x.example/u?h={domain}&ip={ip}&v6={ip6}&pw={password}");
        let t = Target {
            domain: "meet.example.org".into(),
            ipv4: Some("203.0.113.7".parse().unwrap()),
            ipv6: None,
        };
        assert_eq!(
            u.render(&u.url, &t, true),
            "https://x.example/u?h=meet.example.org&ip=203.0.113.7&v6=&pw=p%26ss%20word"
        );
        assert_eq!(u.label(), "url https://x.example/u");
        assert_eq!(u.quote("bad p&ss word\n"), "bad <redacted>");
        assert_eq!(u.quote("bad pw=p%26ss%20word"), "bad pw=<redacted>");
        assert_eq!(u.quote("bad pw=p%26ss+word"), "bad pw=<redacted>");
    }
}
