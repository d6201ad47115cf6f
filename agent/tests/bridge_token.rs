//! The join token end to end: a bridge that trusts only the token's certificate verifies the
//! signaling node's XMPP TLS certificate for auth.DOMAIN over a real TLS handshake on
//! loopback, and refuses another deployment's; a token survives the ways operators paste
//! it; every truncation of a real token is refused in one line that shows no secret.

mod common;
use common::TestCa;
use meet_agent::bridge::token::{generate_password, Token, TokenError};
use rcgen::{CertificateParams, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

const DOMAIN: &str = "meet.example.test";
const AUTH: &str = "auth.meet.example.test";

/// A TLS server on 127.0.0.1 presenting `chain_pem` (as prosody does on 5222 for
/// auth.DOMAIN) that answers one connection; returns its port.
fn tls_server(chain_pem: &str, key_pem: &str) -> u16 {
    meet_agent::install_crypto_provider();
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(chain_pem.as_bytes())
        .collect::<Result<_, _>>()
        .expect("test chain");
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).expect("test key");
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server config");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let port = listener.local_addr().expect("address").port();
    std::thread::spawn(move || {
        if let Ok((mut tcp, _)) = listener.accept() {
            let Ok(mut conn) = rustls::ServerConnection::new(Arc::new(config)) else {
                return;
            };
            let mut tls = rustls::Stream::new(&mut conn, &mut tcp);
            let _ = tls.write_all(b"<stream:stream/>");
            let _ = tls.flush();
            // A clean end, so the client's read_to_string sees end of stream, not an error.
            conn.send_close_notify();
            let _ = conn.complete_io(&mut tcp);
        }
    });
    port
}

/// Connects to 127.0.0.1:`port` as a bridge holding `token` would: trusting only the
/// token's certificate and verifying the name auth.DOMAIN.
fn bridge_connects(token: &Token, port: u16) -> Result<String, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(token.certificate_pem().as_bytes()) {
        roots
            .add(cert.map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    }
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from(token.auth_domain()).map_err(|e| e.to_string())?;
    let mut conn =
        rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    let mut tls = rustls::Stream::new(&mut conn, &mut tcp);
    let mut got = String::new();
    tls.read_to_string(&mut got).map_err(|e| e.to_string())?;
    Ok(got)
}

fn token_trusting(certificate_pem: &str) -> Token {
    let password = generate_password().expect("random");
    Token::new(
        "signal.meet.example.test",
        5222,
        DOMAIN,
        &password,
        certificate_pem,
    )
    .expect("valid token")
}

#[test]
fn a_bridge_trusting_the_tokens_ca_verifies_the_signaling_nodes_auth_certificate() {
    let ca = TestCa::new();
    let leaf = ca.leaf(&[AUTH]);
    let token = Token::decode(&token_trusting(&ca.root_pem).encode()).expect("decodes");
    let port = tls_server(&ca.chain(&leaf), &leaf.key_pem);
    assert_eq!(
        bridge_connects(&token, port).as_deref(),
        Ok("<stream:stream/>")
    );

    // Another deployment's token trusts another CA: the handshake fails, nothing is read.
    let other = token_trusting(&TestCa::new().root_pem);
    let port = tls_server(&ca.chain(&leaf), &leaf.key_pem);
    let refused = bridge_connects(&other, port).expect_err("another CA must not verify");
    assert!(refused.contains("certificate"), "{refused}");
}

#[test]
fn a_bridge_trusting_a_self_signed_auth_certificate_verifies_it() {
    // Debian's prosody makes a self-signed certificate for auth.DOMAIN; the token carries
    // that leaf itself.
    let key = KeyPair::generate().expect("key");
    let cert = CertificateParams::new(vec![AUTH.to_string()])
        .expect("params")
        .self_signed(&key)
        .expect("certificate");
    let token = Token::decode(&token_trusting(&cert.pem()).encode()).expect("decodes");
    let port = tls_server(&cert.pem(), &key.serialize_pem());
    assert_eq!(
        bridge_connects(&token, port).as_deref(),
        Ok("<stream:stream/>")
    );

    // A leaf for the web name only is refused when the token is made, not at join time.
    let web = CertificateParams::new(vec![DOMAIN.to_string()])
        .expect("params")
        .self_signed(&key)
        .expect("certificate");
    let err = Token::new("signal", 5222, DOMAIN, "0123456789abcdefgh", &web.pem())
        .expect_err("a leaf without auth.DOMAIN");
    assert!(matches!(err, TokenError::BadCertificate(_)), "{err}");
}

#[test]
fn a_token_survives_line_wrapping_and_crlf_as_operators_paste_it() {
    let ca = TestCa::new();
    let token = token_trusting(&format!("{}{}", ca.inter_pem, ca.root_pem));
    let text = token.encode();
    let wrapped: String = text
        .as_bytes()
        .chunks(76)
        .map(|c| format!("{}\r\n", String::from_utf8_lossy(c)))
        .collect();
    let again = Token::decode_for_domain(&format!("\n  {wrapped}"), DOMAIN).expect("decodes");
    assert_eq!(again.fingerprint(), token.fingerprint());
    assert_eq!(again.password(), token.password());
    assert_eq!(again.certificate_pem(), token.certificate_pem());
}

#[test]
fn every_truncation_of_a_real_token_is_refused_in_one_line_without_the_secret() {
    let ca = TestCa::new();
    let token = token_trusting(&ca.root_pem);
    let text = token.encode();
    for len in 0..text.len() {
        let err = Token::decode(&text[..len]).expect_err("a truncated token must be refused");
        let message = err.to_string();
        assert!(!message.contains('\n'), "length {len}: {message}");
        assert!(
            !message.contains(token.password()),
            "length {len}: {message}"
        );
        // The base64url body is the secret; no part of it is echoed.
        if len > 16 {
            assert!(!message.contains(&text[8..16]), "length {len}: {message}");
        }
        assert!(
            matches!(
                err,
                TokenError::Empty | TokenError::WrongPrefix | TokenError::Truncated(_)
            ),
            "length {len}: {err:?}"
        );
    }
}

#[test]
fn input_over_64_kib_is_refused_before_it_is_decoded() {
    // A valid prefix and valid base64url: only the size can refuse it.
    let huge = format!("ryojvb1.{}", "A".repeat(64 * 1024));
    assert!(matches!(
        Token::decode(&huge),
        Err(TokenError::Oversized(_))
    ));
}
