//! A stand-in dynamic DNS service (there is no dynu on loopback) speaking the dyndns2
//! protocol dynu and its peers use: `GET /nic/update?hostname=H&myip=IP` with basic auth,
//! answering `good IP`, `badauth` or `notfqdn` with HTTP 200. It changes real DNS: each
//! accepted update replaces the A record in pebble-challtestsrv, which pebble and the
//! agent's DNS wait then query.

use crate::common::serve_tcp;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The user and password the stand-in accepts.
pub const USER: &str = "meet";
/// See [`USER`].
pub const PASSWORD: &str = "s3cret-ddns-pass";

/// A running endpoint.
pub struct DdnsEndpoint {
    /// Base URL (`http://127.0.0.1:PORT`).
    pub url: String,
    /// Accepted updates so far.
    pub hits: Arc<AtomicUsize>,
}

/// What the endpoint does with an accepted update.
#[derive(Clone, Copy)]
pub enum Apply {
    /// Sets the record after this long (propagation delay).
    After(Duration),
    /// Answers `good` but never changes DNS (a provider that lies, or a stale secondary).
    Never,
}

impl DdnsEndpoint {
    /// Starts the endpoint, driving the challtestsrv managed on `challtest_mgmt`.
    pub fn start(challtest_mgmt: u16, apply: Apply) -> Self {
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let url = serve_tcp(Arc::new(move |req, _body| {
                    let expected = format!(
                        "Basic {}",
                        base64::Engine::encode(
                            &base64::engine::general_purpose::STANDARD,
                            format!("{USER}:{PASSWORD}")
                        )
                    );
                    let auth = req
                        .headers()
                        .get("authorization")
                        .and_then(|v| v.to_str().ok());
                    if auth != Some(expected.as_str()) {
                        return (200, b"badauth".to_vec());
                    }
                    let query = req.uri().query().unwrap_or_default();
                    let param = |name: &str| {
                        query.split('&').find_map(|kv| {
                            kv.strip_prefix(&format!("{name}="))
                                .map(|v| v.replace("%2E", "."))
                        })
                    };
                    let (Some(host), Some(ip)) = (param("hostname"), param("myip")) else {
                        return (200, b"notfqdn".to_vec());
                    };
                    counter.fetch_add(1, Ordering::SeqCst);
                    if let Apply::After(delay) = apply {
                        let (host, ip) = (host.clone(), ip.clone());
                        std::thread::spawn(move || {
                            std::thread::sleep(delay);
                            crate::pebble::set_a(challtest_mgmt, &host, &ip);
                        });
                    }
                    (200, format!("good {ip}").into_bytes())
                }))
                .await;
                tx.send(url).unwrap();
                std::future::pending::<()>().await;
            });
        });
        let url = rx.recv().unwrap();
        Self { url, hits }
    }

    /// `[[dns.update]]` for this endpoint, with `password`.
    pub fn update_config(&self, password: &str) -> String {
        format!(
            "[[dns.update]]\ntype = \"url\"\nurl = \"{}/nic/update?hostname={{domain}}&myip={{ip}}\"\nusername = \"{USER}\"\npassword = \"{password}\"\nexpect_body = \"^(good|nochg)\"\n",
            self.url
        )
    }
}
