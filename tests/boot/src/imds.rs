//! A stand-in for EC2's instance metadata service (AWS cannot be reached from here),
//! speaking IMDSv2 as the real one does with tokens required: `PUT /latest/api/token` with
//! a TTL header gives a token, and every read without that token gets 401. Served on
//! 127.0.0.1 for a guest's `169.254.169.254:80` (see [`crate::BootSpec::ec2`]).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

const TOKEN: &str = "AQAEA-boot-test-token==";

/// Starts the stand-in serving `values` (path -> body); returns its port.
pub fn start(values: HashMap<String, Vec<u8>>) -> std::io::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let _ = answer(stream, &values);
        }
    });
    Ok(port)
}

fn answer(
    mut stream: std::net::TcpStream,
    values: &HashMap<String, Vec<u8>>,
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
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (status, body): (&str, Vec<u8>) = if path == "/latest/api/token" {
        if method == "PUT" && headers.contains_key("x-aws-ec2-metadata-token-ttl-seconds") {
            ("200 OK", TOKEN.as_bytes().to_vec())
        } else {
            ("400 Bad Request", Vec::new())
        }
    } else if headers.get("x-aws-ec2-metadata-token").map(String::as_str) != Some(TOKEN) {
        ("401 Unauthorized", Vec::new())
    } else {
        match values.get(path) {
            Some(v) => ("200 OK", v.clone()),
            None => ("404 Not Found", b"Not Found".to_vec()),
        }
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(&body)
}
