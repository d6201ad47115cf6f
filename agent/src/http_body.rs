//! Reading an HTTP answer's body with a ceiling: what a server sends is held in memory
//! whole, and neither a busy jicofo nor a misbehaving endpoint may make that unbounded.

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
            BodyError::Transport(e) => write!(f, "{e}"),
            BodyError::TooLarge(limit) => write!(f, "the answer is longer than {limit} bytes"),
        }
    }
}

/// `response`'s body, refused once it grows past `limit` bytes (a declared
/// Content-Length over it is refused before anything is read).
pub async fn read_capped(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, BodyError> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
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
