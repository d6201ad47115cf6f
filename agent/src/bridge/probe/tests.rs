use super::*;
use crate::tls::material::Pair;

const DOMAIN: &str = "meet.example.test";
const AUTH: &str = "auth.meet.example.test";

/// prosody 13's answer to a client stream header on 5222 (with c2s_require_encryption).
const PROSODY_FEATURES: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xml:lang='en' id='f6c1' from='auth.meet.example.test' version='1.0' xmlns:stream='http://etherx.jabber.org/streams'><stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>";

#[test]
fn stream_features_are_read_once_complete() {
    assert_eq!(features(PROSODY_FEATURES), Some(Features::StartTls));
    // Cut anywhere before the end of the features: not decided yet.
    for cut in [0, 20, 200, PROSODY_FEATURES.len() - 5] {
        assert_eq!(features(&PROSODY_FEATURES[..cut]), None, "cut at {cut}");
    }
    let header = &PROSODY_FEATURES[..PROSODY_FEATURES.find("<stream:features").unwrap()];
    let plain = format!(
        "{header}<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>"
    );
    assert_eq!(features(&plain), Some(Features::NoStartTls));
    assert_eq!(
        features(&format!("{header}<stream:features/>")),
        Some(Features::NoStartTls)
    );
    // A <starttls/> of another namespace is not RFC 6120's.
    assert_eq!(
        features(&format!(
            "{header}<stream:features><starttls xmlns='urn:example'/></stream:features>"
        )),
        Some(Features::NoStartTls)
    );
    // Another prefix for the streams namespace (RFC 6120 allows it).
    let other = "<s:stream xmlns='jabber:client' xmlns:s='http://etherx.jabber.org/streams' version='1.0'><s:features><starttls xmlns=\"urn:ietf:params:xml:ns:xmpp-tls\"/></s:features>";
    assert_eq!(features(other), Some(Features::StartTls));
}

#[test]
fn a_stream_error_or_another_protocol_is_named() {
    let header = &PROSODY_FEATURES[..PROSODY_FEATURES.find("<stream:features").unwrap()];
    let error = format!(
        "{header}<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>This server does not serve auth.other.test</text></stream:error></stream:stream>"
    );
    assert_eq!(
        features(&error),
        Some(Features::StreamError("host-unknown".into()))
    );
    assert_eq!(
        features("HTTP/1.1 400 Bad Request\r\n\r\n"),
        Some(Features::NotXmpp)
    );
    // A TLS alert (a direct-TLS port answering the plain header).
    assert_eq!(
        features(&String::from_utf8_lossy(&[0x15, 3, 3, 0, 2, 2, 70])),
        Some(Features::NotXmpp)
    );
}

#[test]
fn the_answer_to_starttls_is_read() {
    assert_eq!(
        starttls_reply(
            "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
            "stream"
        ),
        Some(StartTlsReply::Proceed)
    );
    assert_eq!(
        starttls_reply(
            "<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:stream>",
            "stream"
        ),
        Some(StartTlsReply::Failure)
    );
    assert_eq!(
        starttls_reply(
            "<stream:error><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>",
            "stream"
        ),
        Some(StartTlsReply::StreamError("policy-violation".into()))
    );
    assert_eq!(starttls_reply("<proc", "stream"), None);
    assert_eq!(starttls_reply("", "stream"), None);
}

#[test]
fn the_target_is_read_from_the_rendered_jvb_conf() {
    let secrets = crate::jitsi::secrets::Secrets::generate(None).unwrap();
    let remote = crate::jitsi::videobridge::render_conf(&crate::jitsi::videobridge::Inputs {
        domain: DOMAIN,
        secrets: &secrets,
        public_ipv4: None,
        local_ipv4: None,
        signaling: crate::jitsi::videobridge::Signaling::Remote {
            host: "10.0.0.9",
            port: 5333,
            auth_domain: AUTH.into(),
            username: "jvb",
            password: "a-password-never-shown",
            brewery: format!("JvbBrewery@internal.{AUTH}"),
        },
        nickname: "jvb-i-0abc",
        relay_region: None,
    });
    assert_eq!(
        bridge_account(&remote),
        Some(("10.0.0.9".into(), 5333, AUTH.into()))
    );
    let local = crate::jitsi::videobridge::render_conf(&crate::jitsi::videobridge::Inputs {
        domain: DOMAIN,
        secrets: &secrets,
        public_ipv4: None,
        local_ipv4: None,
        signaling: crate::jitsi::videobridge::Signaling::Local,
        nickname: "jvb-i-0abc",
        relay_region: None,
    });
    assert_eq!(bridge_account(&local), None);
}

#[test]
fn what_the_other_end_sends_is_shown_printable_and_short() {
    assert_eq!(printable("auth.example.org", 253), "auth.example.org");
    assert_eq!(printable("a\u{1b}[2Jb\nc\u{e9}", 253), "a?[2Jb?c\u{e9}");
    assert_eq!(printable(&"x".repeat(300), 253).len(), 253);
}

#[test]
fn fingerprints_are_openssls_form() {
    let f = fingerprint(b"");
    assert_eq!(f.len(), 32 * 3 - 1);
    assert!(f.starts_with("E3:B0:C4:42:98:FC:1C:14"), "{f}");
}

/// What the loopback stand-in for a signaling node's prosody does.
#[derive(Clone, Copy)]
enum Server {
    /// STARTTLS, then TLS with the given certificate.
    StartTls,
    /// Stream features without STARTTLS.
    Plain,
    /// STARTTLS granted, then nothing: a TLS handshake that never finishes.
    StallAfterProceed,
}

/// A one-connection XMPP server on loopback (a stand-in for prosody's c2s STARTTLS, as
/// RFC 6120 describes it); returns its port.
async fn serve(kind: Server, pair: &Pair) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(pair.chain.clone(), pair.key.der().unwrap())
        .unwrap();
    tokio::spawn(async move {
        let Ok((mut tcp, _)) = listener.accept().await else {
            return;
        };
        let mut buf = [0u8; 4096];
        let mut seen = String::new();
        while !seen.contains("<stream:stream") || !seen.ends_with('>') {
            let Ok(n) = tcp.read(&mut buf).await else {
                return;
            };
            if n == 0 {
                return;
            }
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        assert!(seen.contains(&format!("to='{AUTH}'")), "{seen}");
        let header = &PROSODY_FEATURES[..PROSODY_FEATURES.find("<stream:features").unwrap()];
        match kind {
            Server::Plain => {
                let _ = tcp
                    .write_all(format!("{header}<stream:features/>").as_bytes())
                    .await;
            }
            Server::StartTls | Server::StallAfterProceed => {
                let _ = tcp.write_all(PROSODY_FEATURES.as_bytes()).await;
                let mut seen = String::new();
                while !seen.contains("/>") {
                    let Ok(n) = tcp.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    seen.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
                assert!(seen.contains("<starttls"), "{seen}");
                let _ = tcp
                    .write_all(b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
                    .await;
                if let Server::StallAfterProceed = kind {
                    tokio::time::sleep(TIMEOUT * 2).await;
                    return;
                }
                let _ = tokio_rustls::TlsAcceptor::from(Arc::new(config))
                    .accept(tcp)
                    .await;
            }
        }
    });
    port
}

fn auth_pair() -> Pair {
    crate::bridge::xmpp_cert::generate(DOMAIN, time::OffsetDateTime::now_utc()).unwrap()
}

fn target(port: u16, trusted: &Pair) -> Target {
    Target {
        host: "127.0.0.1".into(),
        port,
        xmpp_domain: AUTH.into(),
        trusted_pem: trusted.chain_pem(),
    }
}

#[tokio::test]
async fn the_tokens_certificate_matches_or_is_named_as_not_vouched_for() {
    crate::install_crypto_provider();
    let served = auth_pair();
    let served_sha = fingerprint(&served.chain[0]);

    let port = serve(Server::StartTls, &served).await;
    let p = probe(&target(port, &served), TIMEOUT).await;
    assert_eq!(p.result, Outcome::CertificateMatches, "{}", p.message);
    assert!(p.ok());
    assert_eq!(p.presented.as_ref().unwrap().sha256, served_sha);
    assert_eq!(p.presented.as_ref().unwrap().names, vec![AUTH.to_string()]);
    assert!(
        p.message.contains("that the join token vouches for"),
        "{}",
        p.message
    );

    // The token holds another deployment's certificate for the same name.
    let other = auth_pair();
    let port = serve(Server::StartTls, &served).await;
    let p = probe(&target(port, &other), TIMEOUT).await;
    assert_eq!(p.result, Outcome::CertificateMismatch, "{}", p.message);
    assert_eq!(p.trusted_sha256, vec![fingerprint(&other.chain[0])]);
    assert!(
        p.message.starts_with(&format!(
            "the signaling node at 127.0.0.1:{port} presents a certificate for {AUTH} (sha256 {served_sha}) that the join token does not vouch for (it is neither the token's certificate nor issued by it; the token's certificate is sha256 {})",
            fingerprint(&other.chain[0])
        )),
        "{}",
        p.message
    );
    assert!(
        p.message.contains("`meet-agent bridge token`"),
        "{}",
        p.message
    );

    // A certificate with many names: the first five are shown.
    let names: Vec<String> = (1..=7).map(|i| format!("n{i}.example.test")).collect();
    let many = crate::tls::selfsigned::generate(&names, time::OffsetDateTime::now_utc()).unwrap();
    let port = serve(Server::StartTls, &many).await;
    let p = probe(&target(port, &other), TIMEOUT).await;
    assert_eq!(p.result, Outcome::CertificateMismatch, "{}", p.message);
    let shown = &p.presented.as_ref().unwrap().names;
    assert_eq!(shown.len(), 6, "{shown:?}");
    assert_eq!(shown[5], "and 2 more");
}

#[tokio::test]
async fn no_starttls_and_a_closed_port_are_told_apart() {
    crate::install_crypto_provider();
    let pair = auth_pair();
    let port = serve(Server::Plain, &pair).await;
    let p = probe(&target(port, &pair), TIMEOUT).await;
    assert_eq!(p.result, Outcome::NoStarttls, "{}", p.message);
    assert!(p.message.contains("offers no STARTTLS"), "{}", p.message);
    assert!(p.presented.is_none());

    // A port nothing listens on: bound, then closed.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let p = probe(&target(closed, &pair), TIMEOUT).await;
    assert_eq!(p.result, Outcome::Unreachable, "{}", p.message);
    assert!(p.message.contains("connection refused"), "{}", p.message);
    assert!(p.message.contains("bridges.allow_cidrs"), "{}", p.message);

    // A host name goes through the resolver (hickory answers localhost itself, RFC 6761,
    // so no query leaves the machine).
    let mut named = target(closed, &pair);
    named.host = "localhost".into();
    let p = probe(&named, TIMEOUT).await;
    assert_eq!(p.result, Outcome::Unreachable, "{}", p.message);
    assert!(p.message.contains("connection refused"), "{}", p.message);
}

#[tokio::test]
async fn a_handshake_that_stalls_after_starttls_is_named_as_such() {
    crate::install_crypto_provider();
    let pair = auth_pair();
    let port = serve(Server::StallAfterProceed, &pair).await;
    let p = probe(&target(port, &pair), Duration::from_secs(1)).await;
    assert_eq!(p.result, Outcome::TlsFailed, "{}", p.message);
    assert!(
        p.message.contains(
            "granted STARTTLS but the TLS handshake failed (it did not finish within 1 s)"
        ),
        "{}",
        p.message
    );
}
