//! RFC 2136 dynamic update signed with TSIG (RFC 8945), for operators running their own
//! DNS (bind, knot, PowerDNS): replaces the name's A (and AAAA) records in one message.

use super::{Target, UpdateError};
use futures_util::StreamExt;
use hickory_client::client::Client;
use hickory_proto::dnssec::rdata::tsig::TsigAlgorithm;
use hickory_proto::dnssec::tsig::TSigner;
use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode, UpdateMessage};
use hickory_proto::rr::rdata::{A, AAAA};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_proto::runtime::TokioRuntimeProvider;
use hickory_proto::tcp::TcpClientStream;
use hickory_proto::xfer::{DnsHandle, DnsResponse};
use std::fmt;
use std::time::Duration;

/// One RFC 2136 server.
#[derive(Clone)]
pub struct Rfc2136Update {
    /// The primary server as configured (`host:port`), resolved at send time.
    pub server: String,
    /// The zone to update.
    pub zone: String,
    /// TSIG key name.
    pub key_name: String,
    /// TSIG algorithm.
    pub algorithm: TsigAlgorithm,
    /// TSIG secret (decoded); never printed.
    pub key: Vec<u8>,
    /// TTL of the records written.
    pub ttl: u32,
}

impl fmt::Debug for Rfc2136Update {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rfc2136Update")
            .field("server", &self.server)
            .field("zone", &self.zone)
            .field("key_name", &self.key_name)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// Seconds of clock difference the server may accept (RFC 8945 recommends 300).
const FUDGE: u16 = 300;

impl Rfc2136Update {
    /// Server and zone, safe to log.
    pub fn label(&self) -> String {
        format!("rfc2136 {} zone {}", self.server, self.zone)
    }

    /// Sends one update message over TCP and checks the server's answer.
    ///
    /// The message is signed here rather than by hickory's client, because the client
    /// also insists on verifying every answer, and a server that rejects the key answers
    /// NOTAUTH with an empty MAC (RFC 8945 5.3.2) that it reports as an unrelated error.
    /// A NOERROR answer is verified against the key before the update counts as done.
    pub async fn send(&self, target: &Target) -> Result<String, UpdateError> {
        let mut message = self.message(target).map_err(UpdateError::fatal)?;
        let addr = tokio::net::lookup_host(&self.server)
            .await
            .ok()
            .and_then(|mut a| a.next())
            .ok_or_else(|| UpdateError::retry(format!("cannot resolve {}", self.server)))?;
        let name = Name::from_ascii(&self.key_name)
            .map_err(|e| UpdateError::fatal(format!("key name `{}`: {e}", self.key_name)))?;
        let signer = TSigner::new(self.key.clone(), self.algorithm.clone(), name, FUDGE)
            .map_err(|e| UpdateError::fatal(format!("TSIG key: {e}")))?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as u32);
        let mut verifier = message
            .finalize(&signer, now)
            .map_err(|e| UpdateError::fatal(format!("cannot sign the update: {e}")))?;
        let (stream, sender) = TcpClientStream::new(
            addr,
            None,
            Some(Duration::from_secs(10)),
            TokioRuntimeProvider::new(),
        );
        let (client, background) =
            Client::with_timeout(stream, sender, Duration::from_secs(10), None)
                .await
                .map_err(|e| UpdateError::retry(format!("cannot connect to {addr}: {e}")))?;
        let task = tokio::spawn(background);
        let answer = client.send(message).next().await;
        task.abort();
        let response: DnsResponse = match answer {
            Some(Ok(r)) => r,
            Some(Err(e)) => return Err(UpdateError::retry(format!("{addr}: {e}"))),
            None => {
                return Err(UpdateError::retry(format!(
                    "{addr} closed without answering"
                )))
            }
        };
        match response.response_code() {
            ResponseCode::NoError => {
                if let Some(verify) = verifier.as_mut() {
                    verify(response.as_buffer()).map_err(|e| {
                        UpdateError::fatal(format!(
                            "{addr} answered NOERROR, but its TSIG signature does not verify: {e}"
                        ))
                    })?;
                }
                Ok(format!("{} set to {}", target.domain, addresses(target)))
            }
            // RFC mnemonics (NOTAUTH, REFUSED, SERVFAIL), as the server's logs say them.
            ResponseCode::ServFail => Err(UpdateError::retry(format!("{addr} answered SERVFAIL"))),
            code => Err(UpdateError::fatal(format!(
                "{addr} answered {}{}",
                format!("{code:?}").to_uppercase(),
                hint(code)
            ))),
        }
    }

    /// Deletes the A/AAAA sets of the name and adds the new records, in one update.
    fn message(&self, target: &Target) -> Result<Message, String> {
        let zone = Name::from_ascii(format!("{}.", self.zone.trim_end_matches('.')))
            .map_err(|e| format!("zone `{}`: {e}", self.zone))?;
        let name = Name::from_ascii(format!("{}.", target.domain))
            .map_err(|e| format!("domain `{}`: {e}", target.domain))?;
        if !zone.zone_of(&name) {
            return Err(format!(
                "{} is not inside zone {}",
                target.domain, self.zone
            ));
        }
        let mut query = Query::new();
        query
            .set_name(zone)
            .set_query_class(DNSClass::IN)
            .set_query_type(RecordType::SOA);
        let mut message = Message::new();
        message
            .set_id(rand_id())
            .set_message_type(MessageType::Query)
            .set_op_code(OpCode::Update)
            .set_recursion_desired(false);
        message.add_zone(query);
        let mut records = Vec::new();
        for (kind, rdata) in [
            (RecordType::A, target.ipv4.map(|ip| RData::A(A(ip)))),
            (
                RecordType::AAAA,
                target.ipv6.map(|ip| RData::AAAA(AAAA(ip))),
            ),
        ] {
            // RFC 2136 2.5.2: class ANY, TTL 0, no data deletes the whole set.
            let mut delete = Record::update0(name.clone(), 0, kind);
            delete.set_dns_class(DNSClass::ANY);
            records.push(delete);
            if let Some(rdata) = rdata {
                records.push(Record::from_rdata(name.clone(), self.ttl, rdata));
            }
        }
        message.add_updates(records);
        Ok(message)
    }
}

fn addresses(target: &Target) -> String {
    let mut all: Vec<String> = Vec::new();
    all.extend(target.ipv4.map(|ip| ip.to_string()));
    all.extend(target.ipv6.map(|ip| ip.to_string()));
    all.join(", ")
}

fn hint(code: ResponseCode) -> &'static str {
    match code {
        ResponseCode::NotAuth => {
            " (the server does not accept this TSIG key for the zone: check key_name, key_algorithm and key_secret)"
        }
        ResponseCode::Refused => " (the server's update policy does not allow this key to change the name)",
        ResponseCode::NotZone => " (the name is not in the zone: check dns.update zone)",
        _ => "",
    }
}

/// A message id; predictability does not matter over TCP with TSIG.
fn rand_id() -> u16 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    (nanos ^ std::process::id()) as u16
}
