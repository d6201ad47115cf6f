//! A stand-in for Compute Engine's metadata server (Google Cloud cannot be reached from
//! here), strict as the real one is: a request without `Metadata-Flavor: Google` gets 403,
//! every answer carries `Metadata-Flavor: Google`, and keys that do not apply get 404.
//! Served on 127.0.0.1 for a guest's `169.254.169.254:80` (see [`crate::BootSpec::gce`]).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A running stand-in.
pub struct Server {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Requests it refused for want of the flavor header.
    pub refused: Arc<AtomicUsize>,
    /// Requests it answered.
    pub answered: Arc<AtomicUsize>,
}

impl Server {
    /// How many requests were refused for want of the flavor header.
    pub fn refused(&self) -> usize {
        self.refused.load(Ordering::SeqCst)
    }
    /// How many requests were answered.
    pub fn answered(&self) -> usize {
        self.answered.load(Ordering::SeqCst)
    }
}

/// Starts the stand-in serving `values` (path below the host, such as
/// `/computeMetadata/v1/instance/id`, -> body).
pub fn start(values: HashMap<String, Vec<u8>>) -> std::io::Result<Server> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let refused = Arc::new(AtomicUsize::new(0));
    let answered = Arc::new(AtomicUsize::new(0));
    let (r, a) = (refused.clone(), answered.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let _ = answer(stream, &values, &r, &a);
        }
    });
    Ok(Server {
        port,
        refused,
        answered,
    })
}

fn answer(
    mut stream: std::net::TcpStream,
    values: &HashMap<String, Vec<u8>>,
    refused: &AtomicUsize,
    answered: &AtomicUsize,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut headers = HashMap::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
        }
    }
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let (status, body): (&str, Vec<u8>) = if headers.get("metadata-flavor").map(String::as_str)
        != Some("Google")
    {
        refused.fetch_add(1, Ordering::SeqCst);
        (
                "403 Forbidden",
                b"Your client does not have permission to get URL from this server. Missing Metadata-Flavor:Google header.".to_vec(),
            )
    } else if method != "GET" {
        ("405 Method Not Allowed", Vec::new())
    } else {
        answered.fetch_add(1, Ordering::SeqCst);
        match values.get(path) {
            Some(v) => ("200 OK", v.clone()),
            None => ("404 Not Found", b"Not Found".to_vec()),
        }
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nMetadata-Flavor: Google\r\nContent-Length: {}\r\nContent-Type: application/text\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(&body)
}
