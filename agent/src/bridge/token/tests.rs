//! The join token's unit tests: one table of inputs and the verdict each must get.

use super::*;
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use serde_json::{json, Value};

const DOMAIN: &str = "meet.example.org";
const PASSWORD: &str = "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0";

fn self_signed(names: &[&str]) -> (String, String) {
    let key = KeyPair::generate().expect("test key");
    let params = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
        .expect("test params");
    let cert = params.self_signed(&key).expect("test certificate");
    (cert.pem(), key.serialize_pem())
}

fn ca() -> String {
    let key = KeyPair::generate().expect("test key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("test params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.self_signed(&key).expect("test CA").pem()
}

fn valid() -> Token {
    let (leaf, _) = self_signed(&["auth.meet.example.org"]);
    Token::new("signal.meet.example.org", 5222, DOMAIN, PASSWORD, &leaf).expect("valid token")
}

/// The JSON inside an encoded token.
fn payload(token: &str) -> Value {
    let body = token.strip_prefix("ryojvb1.").expect("prefix");
    let gz = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(body)
        .expect("base64url");
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(gz.as_slice())
        .read_to_end(&mut json)
        .expect("gzip");
    serde_json::from_slice(&json).expect("json")
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(bytes).expect("gzip to memory");
    gz.finish().expect("gzip to memory")
}

fn wrap_bytes(bytes: &[u8]) -> String {
    format!(
        "ryojvb1.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

fn wrap(value: &Value) -> String {
    wrap_bytes(&gzip(value.to_string().as_bytes()))
}

/// The valid token's payload with `key` set to `value` (or removed when `value` is null).
fn with(base: &Value, key: &str, value: Value) -> String {
    let mut v = base.clone();
    let map = v.as_object_mut().expect("object");
    if value.is_null() {
        map.remove(key);
    } else {
        map.insert(key.into(), value);
    }
    wrap(&v)
}

type Verdict = fn(&Result<Token, TokenError>) -> bool;

#[test]
fn decode_accepts_good_tokens_and_names_what_is_wrong_with_bad_ones() {
    let good = valid();
    let text = good.encode();
    let base = payload(&text);
    let (other_leaf, _) = self_signed(&["auth.other.example.org"]);
    let (_, key_pem) = self_signed(&["auth.meet.example.org"]);
    let wrapped = text
        .as_bytes()
        .chunks(60)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("\n");
    let half = text[..text.len() / 2].to_string();
    let bomb = {
        let spaces = vec![b' '; 2 * 1024 * 1024];
        wrap_bytes(&gzip(&spaces))
    };
    let rows: Vec<(&str, String, Verdict)> = vec![
        ("the encoded token", text.clone(), |r| {
            r.as_ref().is_ok_and(|t| t.domain() == DOMAIN)
        }),
        (
            "wrapped over lines, with a newline at the end",
            format!("  {wrapped}\n"),
            |r| r.is_ok(),
        ),
        (
            "a CA instead of the leaf",
            with(&base, "certificate", json!(ca())),
            |r| r.is_ok(),
        ),
        ("empty", String::new(), |r| {
            matches!(r, Err(TokenError::Empty))
        }),
        ("only whitespace", " \n\t".into(), |r| {
            matches!(r, Err(TokenError::Empty))
        }),
        (
            "64 KiB and one byte",
            "a".repeat(MAX_TOKEN_BYTES + 1),
            |r| matches!(r, Err(TokenError::Oversized(n)) if *n == MAX_TOKEN_BYTES + 1),
        ),
        (
            "another prefix",
            text.replacen("ryojvb", "ryojvc", 1),
            |r| matches!(r, Err(TokenError::WrongPrefix)),
        ),
        ("no version", text.replacen("ryojvb1.", "ryojvb.", 1), |r| {
            matches!(r, Err(TokenError::WrongPrefix))
        }),
        (
            "no dot after the version",
            text.replacen("ryojvb1.", "ryojvb1", 1),
            |r| matches!(r, Err(TokenError::WrongPrefix)),
        ),
        (
            "a later version",
            text.replacen("ryojvb1.", "ryojvb2.", 1),
            |r| matches!(r, Err(TokenError::UnsupportedVersion(v)) if v == "2"),
        ),
        ("only the prefix", "ryojvb1.".into(), |r| {
            matches!(r, Err(TokenError::Truncated(_)))
        }),
        ("cut in half", half, |r| {
            matches!(r, Err(TokenError::Truncated(_)))
        }),
        (
            "a character that is not base64url",
            text.replacen("ryojvb1.H", "ryojvb1.!", 1),
            |r| matches!(r, Err(TokenError::Malformed(m)) if m.contains("character 1")),
        ),
        (
            "base64url of text, not gzip",
            wrap_bytes(b"{\"v\":1}"),
            |r| matches!(r, Err(TokenError::Malformed(m)) if m.contains("not gzip")),
        ),
        (
            "gzip of text, not JSON",
            wrap_bytes(&gzip(b"hello")),
            |r| matches!(r, Err(TokenError::Malformed(m)) if m.contains("not JSON")),
        ),
        (
            "gzip that inflates to 2 MiB",
            bomb,
            |r| matches!(r, Err(TokenError::Malformed(m)) if m.contains("decompresses to more")),
        ),
        (
            "the password left out",
            with(&base, "password", Value::Null),
            |r| matches!(r, Err(TokenError::MissingField("password"))),
        ),
        (
            "the certificate left out",
            with(&base, "certificate", Value::Null),
            |r| matches!(r, Err(TokenError::MissingField("certificate"))),
        ),
        (
            "version 2 inside a version 1 prefix",
            with(&base, "v", json!(2)),
            |r| matches!(r, Err(TokenError::UnsupportedVersion(v)) if v == "2"),
        ),
        (
            "an unknown field",
            with(&base, "jibri", json!(true)),
            |r| matches!(r, Err(TokenError::Malformed(m)) if m.contains("`jibri`")),
        ),
        (
            "the port as a string",
            with(&base, "port", json!("5222")),
            |r| matches!(r, Err(TokenError::Malformed(m)) if m.contains("wrong type")),
        ),
        ("port 0", with(&base, "port", json!(0)), |r| {
            matches!(r, Err(TokenError::InvalidField { field: "port", .. }))
        }),
        (
            "a host with a space",
            with(&base, "host", json!("signal node")),
            |r| matches!(r, Err(TokenError::InvalidField { field: "host", .. })),
        ),
        (
            "an auth domain of another deployment",
            with(&base, "auth_domain", json!("auth.other.example.org")),
            |r| {
                matches!(
                    r,
                    Err(TokenError::InvalidField {
                        field: "auth_domain",
                        ..
                    })
                )
            },
        ),
        (
            "a brewery outside internal.auth",
            with(
                &base,
                "brewery_muc",
                json!("JvbBrewery@conference.meet.example.org"),
            ),
            |r| {
                matches!(
                    r,
                    Err(TokenError::InvalidField {
                        field: "brewery_muc",
                        ..
                    })
                )
            },
        ),
        (
            "a short password",
            with(&base, "password", json!("short")),
            |r| {
                matches!(
                    r,
                    Err(TokenError::InvalidField {
                        field: "password",
                        ..
                    })
                )
            },
        ),
        (
            "a password with a quote",
            with(&base, "password", json!("abcdefghijklmnop\"q")),
            |r| {
                matches!(
                    r,
                    Err(TokenError::InvalidField {
                        field: "password",
                        ..
                    })
                )
            },
        ),
        (
            "a certificate that is not PEM",
            with(&base, "certificate", json!("not a certificate")),
            |r| matches!(r, Err(TokenError::BadCertificate(m)) if m.contains("no PEM block")),
        ),
        (
            "a private key for a certificate",
            with(&base, "certificate", json!(key_pem)),
            |r| matches!(r, Err(TokenError::BadCertificate(m)) if m.contains("PRIVATE KEY") && m.contains("never carries keys")),
        ),
        (
            "a PEM block of garbage",
            with(
                &base,
                "certificate",
                json!("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
            ),
            |r| matches!(r, Err(TokenError::BadCertificate(m)) if m.contains("not an X.509")),
        ),
        (
            "a leaf for another name",
            with(&base, "certificate", json!(other_leaf)),
            |r| matches!(r, Err(TokenError::BadCertificate(m)) if m.contains("does not name auth.meet.example.org")),
        ),
    ];
    assert!(rows.len() >= 15);
    // Every row is checked before failing, so one run names every row that is wrong.
    let mut wrong = Vec::new();
    for (name, input, verdict) in rows {
        let result = Token::decode(&input);
        if !verdict(&result) {
            wrong.push(format!("{name}: got {result:?}"));
        }
        if let Err(e) = &result {
            let message = e.to_string();
            if message.contains(PASSWORD) || message.contains('\n') {
                wrong.push(format!(
                    "{name}: not one line without the password: {message}"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn a_decoded_token_encodes_to_the_same_text_and_fingerprint() {
    let token = valid();
    let again = Token::decode(&token.encode()).expect("decodes");
    assert_eq!(again, token);
    assert_eq!(again.encode(), token.encode());
    assert_eq!(again.fingerprint(), token.fingerprint());
    let fp = token.fingerprint();
    assert!(
        fp.starts_with("sha256:") && fp.len() == "sha256:".len() + 16,
        "{fp}"
    );
    assert!(fp["sha256:".len()..].bytes().all(|b| b.is_ascii_hexdigit()));
}

#[test]
fn the_token_carries_upstreams_xmpp_names() {
    let token = valid();
    assert_eq!(token.host(), "signal.meet.example.org");
    assert_eq!(token.port(), DEFAULT_PORT);
    assert_eq!(token.auth_domain(), "auth.meet.example.org");
    assert_eq!(
        token.internal_muc_domain(),
        "internal.auth.meet.example.org"
    );
    assert_eq!(
        token.brewery_muc_jid(),
        "JvbBrewery@internal.auth.meet.example.org"
    );
    assert_eq!(token.username(), "jvb");
    assert_eq!(token.password(), PASSWORD);
    assert!(token.encode().starts_with("ryojvb1."));
    let p = payload(&token.encode());
    assert_eq!(p["auth_domain"], "auth.meet.example.org");
    assert_eq!(
        p["brewery_muc"],
        "JvbBrewery@internal.auth.meet.example.org"
    );
    assert_eq!(p["v"], 1);
}

#[test]
fn a_token_for_another_domain_is_refused_by_name() {
    let token = valid();
    assert!(Token::decode_for_domain(&token.encode(), "Meet.Example.org").is_ok());
    let err = Token::decode_for_domain(&token.encode(), "meet.other.org").expect_err("refused");
    assert_eq!(
        err,
        TokenError::WrongDomain {
            expected: "meet.other.org".into(),
            found: DOMAIN.into()
        }
    );
    assert!(err.to_string().contains("meet.other.org"));
}

#[test]
fn debug_shows_the_fingerprint_never_the_secret() {
    let token = valid();
    let debug = format!("{token:?} {:#?}", token);
    assert!(!debug.contains(PASSWORD), "{debug}");
    assert!(!debug.contains(&token.encode()), "{debug}");
    assert!(!debug.contains("BEGIN CERTIFICATE"), "{debug}");
    assert!(debug.contains(&token.fingerprint()), "{debug}");
}

#[test]
fn new_refuses_what_decode_refuses() {
    let (leaf, _) = self_signed(&["auth.meet.example.org"]);
    assert!(matches!(
        Token::new("signal", 5222, "meet", PASSWORD, &leaf),
        Err(TokenError::InvalidField {
            field: "domain",
            ..
        })
    ));
    let (other, _) = self_signed(&["meet.example.org"]);
    assert!(matches!(
        Token::new("signal", 5222, DOMAIN, PASSWORD, &other),
        Err(TokenError::BadCertificate(_))
    ));
    let (wildcard, _) = self_signed(&["*.meet.example.org"]);
    assert!(Token::new("192.0.2.10", 5222, DOMAIN, PASSWORD, &wildcard).is_ok());
}

#[test]
fn generated_passwords_are_fresh_and_valid_in_a_token() {
    let a = generate_password().expect("random");
    let b = generate_password().expect("random");
    assert_ne!(a, b);
    assert_eq!(a.len(), 32);
    let (leaf, _) = self_signed(&["auth.meet.example.org"]);
    let token = Token::new("signal.meet.example.org", 5222, DOMAIN, &a, &leaf).expect("valid");
    assert_eq!(token.password(), a);
}

#[test]
fn each_kind_of_token_names_its_role_and_survives_decoding() {
    let (leaf, _) = self_signed(&["auth.meet.example.org"]);
    let sip = Token::for_sip("signal.meet.example.org", 5222, DOMAIN, PASSWORD, &leaf)
        .expect("a SIP gateways' token");
    let recorder = Token::for_recorder(
        "signal.meet.example.org",
        5222,
        DOMAIN,
        PASSWORD,
        PASSWORD,
        &leaf,
    )
    .expect("a recorders' token");
    for (token, kind, user, brewery) in [
        (valid(), "videobridge", "jvb", "JvbBrewery"),
        (recorder, "recorder", "jibri", "JibriBrewery"),
        (sip, "sip", "jigasi", "JigasiBrewery"),
    ] {
        let again = Token::decode(&token.encode()).expect("decodes");
        assert_eq!((again.kind(), again.username()), (kind, user));
        assert_eq!(
            again.brewery_muc_jid(),
            format!("{brewery}@internal.auth.{DOMAIN}")
        );
        assert_eq!(again.call_login().is_some(), kind == "recorder");
    }
}
