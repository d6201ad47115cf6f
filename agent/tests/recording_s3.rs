//! Recordings to S3 against moto's S3 server on loopback (a real implementation of the S3
//! API: multipart uploads, checksums), with credentials from the IMDS stand-in.

#[path = "common/aws_standin.rs"]
mod aws_standin;

use aws_standin::{Standin, REGION};
use meet_agent::aws::s3::{MIN_PART, S3};
use std::time::Duration;

/// Starts `moto_server` on a free loopback port; killed on drop.
struct Moto {
    child: std::process::Child,
    url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto() -> Moto {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new("python3")
        .args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .env(
            "PYTHONPATH",
            std::env::var("MOTO_PATH").unwrap_or("/tmp/moto".into()),
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("moto runs");
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Moto { child, url };
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("moto did not start");
}

#[tokio::test]
async fn a_large_file_goes_up_in_parts_with_checksums_and_reads_back_the_same() {
    let standin = Standin::start();
    let moto = moto();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let r = http.put(format!("{}/rec", moto.url)).send().await.unwrap();
    assert!(r.status().is_success(), "{r:?}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.mp4");
    let data: Vec<u8> = (0..(MIN_PART * 2 + 12345))
        .map(|i| (i % 251) as u8)
        .collect();
    std::fs::write(&file, &data).unwrap();
    let s3 = S3::new(
        REGION,
        "rec",
        Some(&moto.url),
        standin.imds_client(),
        Duration::from_secs(20),
        MIN_PART,
    )
    .unwrap();
    let up = s3.upload_file(&file, "meet/room/a.mp4").await.unwrap();
    assert_eq!(up.parts, 3);
    let back = http
        .get(format!("{}/rec/meet/room/a.mp4", moto.url))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(back.len(), data.len());
    assert!(back == data);
    let small = dir.path().join("s.mp4");
    std::fs::write(&small, b"small").unwrap();
    let up = s3.upload_file(&small, "meet/room/s.mp4").await.unwrap();
    assert_eq!(up.parts, 1);
}
