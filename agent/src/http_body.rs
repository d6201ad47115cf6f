//! The agent's one way to make an HTTP client and read an answer: no redirects, and a
//! ceiling on every body. What a server sends is held in memory whole, and neither a busy
//! jicofo nor a misbehaving (or impostor) metadata endpoint may make that unbounded; and a
//! metadata service or AWS endpoint never redirects, so a redirect means something else
//! answers and must not receive our tokens or be believed.

/// The one client builder for every HTTP client of the agent: redirects are never
/// followed (a 3xx comes back as the answer, for the caller to refuse). Callers add their
/// timeouts and proxy choice.
pub fn builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none())
}

/// A client for a service on loopback or the link-local metadata address (the
/// videobridge, jicofo, IMDS, the Compute Engine metadata server): built by [`builder`],
/// each request bounded by `timeout`, and never through a proxy, which could not reach
/// such an address and must not see what is asked of it.
pub fn local_client(timeout: std::time::Duration) -> reqwest::Result<reqwest::Client> {
    // reqwest needs the process's rustls provider even for plain HTTP.
    crate::install_crypto_provider();
    builder().timeout(timeout).no_proxy().build()
}

/// Why a body could not be read.
#[derive(Debug)]
pub enum BodyError {
    /// The connection failed while reading.
    Transport(reqwest::Error),
    /// The body is longer than the ceiling (in bytes).
    TooLarge(usize),
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyError::Transport(e) => write!(f, "{}", one_line(e)),
            BodyError::TooLarge(limit) => write!(
                f,
                "the answer is larger than {}, the most that is read from it",
                size(*limit)
            ),
        }
    }
}

/// A byte count as people write it: `1 MiB`, `64 KiB`, `100 bytes`.
pub fn size(bytes: usize) -> String {
    if bytes >= 1 << 20 && bytes % (1 << 20) == 0 {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1 << 10 && bytes % (1 << 10) == 0 {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} bytes")
    }
}

/// Whether a declared Content-Length already exceeds `limit`: then nothing is read.
pub fn declared_too_large(content_length: Option<u64>, limit: usize) -> bool {
    content_length.is_some_and(|n| n > limit as u64)
}

/// `response`'s body, refused once it grows past `limit` bytes (a declared
/// Content-Length over it is refused before anything is read).
pub async fn read_capped(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, BodyError> {
    if declared_too_large(response.content_length(), limit) {
        return Err(BodyError::TooLarge(limit));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// As [`read_capped`], as text (invalid UTF-8 replaced).
pub async fn read_capped_text(
    response: reqwest::Response,
    limit: usize,
) -> Result<String, BodyError> {
    read_capped(response, limit)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// A reqwest error as one line without the URL (the caller names it): kind and causes.
pub fn one_line(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    }
    .to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    /// Every HTTP client in the agent's source is made by [`super::builder`]: one made
    /// elsewhere would follow redirects (reqwest's default) and send a metadata token or
    /// a signed request wherever a 3xx points.
    #[test]
    fn every_http_client_is_made_without_redirects() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut stack = vec![src];
        let mut offenders = Vec::new();
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs")
                    && !path.ends_with("http_body.rs")
                {
                    let text = std::fs::read_to_string(&path).unwrap();
                    for (n, line) in text.lines().enumerate() {
                        if line.contains("reqwest::Client::builder")
                            || line.contains("reqwest::Client::new")
                            || line.contains("reqwest::get(")
                        {
                            offenders.push(format!("{}:{}", path.display(), n + 1));
                        }
                    }
                }
            }
        }
        assert!(
            offenders.is_empty(),
            "use crate::http_body::builder(): {offenders:?}"
        );
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(super::size(1 << 20), "1 MiB");
        assert_eq!(super::size(64 << 10), "64 KiB");
        assert_eq!(super::size(100), "100 bytes");
    }
}
