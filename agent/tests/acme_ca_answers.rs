//! The CA answers Debian's pebble 2.4.0 cannot give: a rate limit with Retry-After, and
//! ACME Renewal Information (RFC 9773). A named stand-in serves a directory that is
//! pebble's own with `newOrder` (rate-limit case) or `renewalInfo` (ARI case) pointed at
//! itself; every other request goes to the real pebble. It speaks HTTPS with pebble's own
//! listener certificate, so the agent trusts both through one `ca_root`.

mod common;
#[path = "common/pebble.rs"]
mod pebble;
use common::{text, Root};
use http_body_util::Full;
use hyper::body::Bytes;
use pebble::Pebble;
use std::sync::Arc;

const DOMAIN: &str = "meet.example.test";

/// What the stand-in takes over from pebble.
#[derive(Clone, Copy)]
enum Takeover {
    /// newOrder answers 429 rateLimited with `Retry-After: 3600`.
    RateLimit,
    /// renewalInfo suggests a window that has already passed.
    RenewNow,
    /// newOrder answers 429 rateLimited with `Retry-After: 300000000000` (9500 years).
    HugeRateLimit,
    /// renewalInfo suggests a window in the year 9999, asking again in 9500 years.
    FarRenewal,
}

/// Starts the stand-in; returns its directory URL.
fn stand_in(pebble: &Pebble, takeover: Takeover) -> String {
    let out = std::process::Command::new("curl")
        .args(["-sf", "--cacert"])
        .arg(&pebble.listener_root)
        .arg(&pebble.directory)
        .output()
        .unwrap();
    let mut directory: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cert = std::fs::read(pebble.dir.path().join("cert.pem")).unwrap();
    let key = std::fs::read(pebble.dir.path().join("key.pem")).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("https://{}", listener.local_addr().unwrap());
    match takeover {
        Takeover::RateLimit => directory["newOrder"] = format!("{base}/new-order").into(),
        Takeover::RenewNow => directory["renewalInfo"] = format!("{base}/renewal-info").into(),
        Takeover::HugeRateLimit => directory["newOrder"] = format!("{base}/new-order-huge").into(),
        Takeover::FarRenewal => directory["renewalInfo"] = format!("{base}/renewal-far").into(),
    }
    let directory = Arc::new(directory.to_string());
    std::thread::spawn(move || {
        meet_agent::install_crypto_provider();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            use rustls_pki_types::pem::PemObject;
            let chain = rustls_pki_types::CertificateDer::pem_slice_iter(&cert)
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            let key = rustls_pki_types::PrivateKeyDer::from_pem_slice(&key).unwrap();
            let config = rustls::ServerConfig::builder()
                .with_no_client_auth()
                .with_single_cert(chain, key)
                .unwrap();
            let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
            listener.set_nonblocking(true).unwrap();
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            while let Ok((stream, _)) = listener.accept().await {
                let (acceptor, directory) = (acceptor.clone(), directory.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let service = hyper::service::service_fn(move |req: hyper::Request<_>| {
                        let directory = directory.clone();
                        async move { Ok::<_, std::convert::Infallible>(answer(&req, &directory)) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                        .await;
                });
            }
        });
    });
    format!("{base}/dir")
}

fn answer<B>(req: &hyper::Request<B>, directory: &str) -> hyper::Response<Full<Bytes>> {
    let path = req.uri().path();
    let (status, content_type, retry_after, body) = if path == "/dir" {
        (200, "application/json", None, directory.to_string())
    } else if path == "/new-order" || path == "/new-order-huge" {
        (
            429,
            "application/problem+json",
            Some(if path == "/new-order" { "3600" } else { "300000000000" }),
            serde_json::json!({
                "type": "urn:ietf:params:acme:error:rateLimited",
                "detail": "too many certificates (5) already issued for this exact set of identifiers in the last 168h0m0s",
                "status": 429
            })
            .to_string(),
        )
    } else if path.starts_with("/renewal-info/") {
        let now = time::OffsetDateTime::now_utc();
        let fmt = &time::format_description::well_known::Rfc3339;
        (
            200,
            "application/json",
            Some("21600"),
            serde_json::json!({"suggestedWindow": {
                // Wholly past: whatever point the agent picks in it, renewal is due.
                "start": (now - time::Duration::hours(2)).format(fmt).unwrap(),
                "end": (now - time::Duration::minutes(1)).format(fmt).unwrap()
            }, "explanationURL": "https://ca.example/incident"})
            .to_string(),
        )
    } else if path.starts_with("/renewal-far/") {
        (
            200,
            "application/json",
            Some("300000000000"),
            serde_json::json!({"suggestedWindow": {
                "start": "9999-12-30T00:00:00Z",
                "end": "9999-12-31T23:59:59Z"
            }})
            .to_string(),
        )
    } else {
        (404, "text/plain", None, String::new())
    };
    let mut response = hyper::Response::builder()
        .status(status)
        .header("Content-Type", content_type);
    if let Some(seconds) = retry_after {
        response = response.header("Retry-After", seconds);
    }
    response.body(Full::new(Bytes::from(body))).unwrap()
}

fn agent(pebble: &Pebble, directory: &str) -> Root {
    pebble.point_at_loopback(DOMAIN);
    let root = Root::new();
    root.config(
        "00.toml",
        &pebble
            .agent_config(DOMAIN)
            .replace(&pebble.directory, directory),
    );
    root
}

#[test]
fn a_rate_limit_is_honoured_until_the_cas_retry_after() {
    let pebble = Pebble::start(0);
    let directory = stand_in(&pebble, Takeover::RateLimit);
    let root = agent(&pebble, &directory);
    let out = root.run(&["run"]);
    let tls = root.step("tls");
    assert_eq!(tls["state"], "degraded", "{tls}\n{}", text(&out));
    let message = tls["message"].as_str().unwrap();
    assert!(message.contains("rateLimited"), "{message}");
    assert!(message.contains("as the CA asked"), "{message}");
    let schedule: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root.join("/var/lib/meet-agent/acme/schedule.json")).unwrap(),
    )
    .unwrap();
    let at = time::OffsetDateTime::parse(
        schedule["retry_not_before"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let ahead = at - time::OffsetDateTime::now_utc();
    assert!(
        ahead > time::Duration::minutes(55) && ahead <= time::Duration::hours(1),
        "Retry-After: 3600 became {at}"
    );
    // The retry timer's next run does not ask the CA again.
    let out = root.run(&["renew", "--retry"]);
    let message = root.message("tls");
    assert!(
        message.starts_with("no ACME order placed before"),
        "{message}\n{}",
        text(&out)
    );
    assert_eq!(pebble.issued(), 0);
}

#[test]
fn renewal_information_from_the_ca_triggers_an_early_renewal() {
    let pebble = Pebble::start(0);
    let directory = stand_in(&pebble, Takeover::RenewNow);
    let root = agent(&pebble, &directory);
    let out = root.run(&["run"]);
    assert_eq!(
        root.state()["steps"]["tls"]["state"],
        "ok",
        "{}",
        text(&out)
    );
    assert_eq!(pebble.issued(), 1);
    // A fresh certificate (a third of its life is far off), but the CA's window has begun.
    let out = root.run(&["renew"]);
    assert_eq!(
        root.state()["steps"]["tls"]["state"],
        "ok",
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains("renewal information says to renew now"),
        "{}",
        text(&out)
    );
    assert_eq!(pebble.issued(), 2);
}

#[test]
fn a_ca_that_never_answers_does_not_hold_up_a_boot_with_a_good_certificate() {
    let pebble = Pebble::start(0);
    let root = agent(&pebble, &pebble.directory.clone());
    let out = root.run(&["run"]);
    assert_eq!(root.step("tls")["state"], "ok", "{}", text(&out));
    // Now the CA's address accepts connections and never says a word. The same address:
    // another directory URL would be another CA, which orders at once.
    let port = pebble.acme_port();
    drop(pebble);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let silent = loop {
        match std::net::TcpListener::bind(("127.0.0.1", port)) {
            Ok(listener) => break listener,
            Err(e) if std::time::Instant::now() > deadline => panic!("cannot take {port}: {e}"),
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(50)),
        }
    };
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in silent.incoming().flatten() {
            held.push(stream);
        }
    });
    let started = std::time::Instant::now();
    let out = root.run(&["run"]);
    let took = started.elapsed();
    assert!(
        root.message("tls").starts_with("keeping the certificate"),
        "{}",
        text(&out)
    );
    // dns-wait and tls each ask for renewal information once at most, 10 s each.
    assert!(
        took < std::time::Duration::from_secs(25),
        "the boot took {took:?}"
    );
}

#[test]
fn a_retry_after_of_thousands_of_years_is_held_to_thirty_days_and_said() {
    let pebble = Pebble::start(0);
    let directory = stand_in(&pebble, Takeover::HugeRateLimit);
    let root = agent(&pebble, &directory);
    let out = root.run(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let message = root.message("tls");
    assert!(message.contains("held to that maximum"), "{message}");
    let schedule: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root.join("/var/lib/meet-agent/acme/schedule.json")).unwrap(),
    )
    .unwrap();
    let at = time::OffsetDateTime::parse(
        schedule["retry_not_before"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let ahead = at - time::OffsetDateTime::now_utc();
    assert!(
        ahead > time::Duration::days(29) && ahead <= time::Duration::days(30),
        "Retry-After: 300000000000 became {at}"
    );
}

#[test]
fn renewal_information_at_the_end_of_time_keeps_the_certificate_without_a_panic() {
    let pebble = Pebble::start(0);
    let directory = stand_in(&pebble, Takeover::FarRenewal);
    let root = agent(&pebble, &directory);
    let out = root.run(&["run"]);
    assert_eq!(root.step("tls")["state"], "ok", "{}", text(&out));
    let out = root.run(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        root.message("tls").starts_with("keeping the certificate"),
        "{}",
        text(&out)
    );
    assert_eq!(pebble.issued(), 1);
    let schedule: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root.join("/var/lib/meet-agent/acme/schedule.json")).unwrap(),
    )
    .unwrap();
    // The far window was taken (a failed fetch would leave no renewal time and a six-hour
    // quiet period, which the bound below alone cannot tell apart).
    assert!(schedule["ari_renew_at"].is_string(), "{schedule}");
    let next = time::OffsetDateTime::parse(
        schedule["ari_next_check"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!(
        next - time::OffsetDateTime::now_utc() <= time::Duration::days(30),
        "{schedule}"
    );
}
