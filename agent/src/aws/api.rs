//! The five AWS API calls a bridge makes, over reqwest, signed with the instance role's
//! credentials: CloudWatch and Auto Scaling speak the query protocol (form-encoded POST,
//! XML answers), SSM the JSON 1.1 protocol (`X-Amz-Target`).

use super::credentials::CredentialCache;
use super::imds::Imds;
use super::sign::{host_header, sign_request, Unsigned};
use super::{one_line, AwsError};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// RFC 3986 unreserved characters stay; everything else is percent-encoded, as AWS's
/// query protocol expects.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The API endpoints (base URLs), injectable for tests.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// CloudWatch (signing name `monitoring`).
    pub cloudwatch: String,
    /// EC2 Auto Scaling (signing name `autoscaling`).
    pub autoscaling: String,
    /// Systems Manager (signing name `ssm`).
    pub ssm: String,
}

impl Endpoints {
    /// AWS's public endpoints in `region`.
    pub fn for_region(region: &str) -> Self {
        Self {
            cloudwatch: format!("https://monitoring.{region}.amazonaws.com/"),
            autoscaling: format!("https://autoscaling.{region}.amazonaws.com/"),
            ssm: format!("https://ssm.{region}.amazonaws.com/"),
        }
    }

    /// One base URL for every service (`source.aws_endpoint`).
    pub fn same(base: &str) -> Self {
        Self {
            cloudwatch: base.to_string(),
            autoscaling: base.to_string(),
            ssm: base.to_string(),
        }
    }
}

/// One data point for CloudWatch.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric<'a> {
    /// The namespace, e.g. `RyoJitsi`.
    pub namespace: &'a str,
    /// The metric, e.g. `StressLevel`.
    pub name: &'a str,
    /// Dimension name and value pairs, e.g. `AutoScalingGroupName` and the group.
    pub dimensions: &'a [(&'a str, &'a str)],
    /// The value.
    pub value: f64,
}

/// Which lifecycle action to complete or extend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleAction {
    /// The Auto Scaling group.
    pub group: String,
    /// The termination lifecycle hook's name (from the CloudFormation template, passed in
    /// by the wiring).
    pub hook: String,
    /// This instance.
    pub instance_id: String,
}

/// How a lifecycle action ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifecycleResult {
    /// Go on terminating.
    Continue,
    /// Abandon (for termination hooks AWS terminates all the same).
    Abandon,
}

/// A lifecycle hook's timeouts, as Auto Scaling's `DescribeLifecycleHooks` gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HookTimeouts {
    /// `HeartbeatTimeout`: without a heartbeat or completion, Auto Scaling goes on (with the
    /// hook's default result) this long after the wait started or the last heartbeat.
    pub heartbeat: Duration,
    /// `GlobalTimeout`: the longest an instance may stay in the wait state, heartbeats or
    /// not (AWS: 48 hours or 100 heartbeat timeouts, whichever is smaller).
    pub global: Duration,
}

/// A signed-call client for the bridge's AWS APIs.
pub struct Aws {
    http: reqwest::Client,
    region: String,
    endpoints: Endpoints,
    imds: Arc<Imds>,
    credentials: CredentialCache,
}

impl Aws {
    /// A client calling `endpoints` in `region` with the role credentials from `imds`;
    /// each request gives up after `timeout`.
    pub fn new(
        region: &str,
        endpoints: Endpoints,
        imds: Arc<Imds>,
        timeout: Duration,
    ) -> Result<Self, AwsError> {
        let http = super::http_client("client", timeout)?;
        Ok(Self {
            http,
            region: region.to_string(),
            endpoints,
            imds,
            credentials: CredentialCache::new(),
        })
    }

    /// CloudWatch `PutMetricData` with one data point.
    pub async fn put_metric_data(&self, metric: &Metric<'_>) -> Result<(), AwsError> {
        let value = metric.value.to_string();
        let mut params: Vec<(String, &str)> = vec![
            ("Action".into(), "PutMetricData"),
            ("Version".into(), "2010-08-01"),
            ("Namespace".into(), metric.namespace),
            ("MetricData.member.1.MetricName".into(), metric.name),
            ("MetricData.member.1.Value".into(), &value),
            ("MetricData.member.1.Unit".into(), "None"),
        ];
        for (i, (name, value)) in metric.dimensions.iter().enumerate() {
            let at = format!("MetricData.member.1.Dimensions.member.{}", i + 1);
            params.push((format!("{at}.Name"), name));
            params.push((format!("{at}.Value"), value));
        }
        let endpoint = self.endpoints.cloudwatch.clone();
        self.query("monitoring", "PutMetricData", &endpoint, &params)
            .await
            .map(drop)
    }

    /// Auto Scaling `CompleteLifecycleAction`: the drain is over, terminate.
    pub async fn complete_lifecycle_action(
        &self,
        action: &LifecycleAction,
        result: LifecycleResult,
    ) -> Result<(), AwsError> {
        let result = match result {
            LifecycleResult::Continue => "CONTINUE",
            LifecycleResult::Abandon => "ABANDON",
        };
        let params: Vec<(String, &str)> = vec![
            ("Action".into(), "CompleteLifecycleAction"),
            ("Version".into(), "2011-01-01"),
            ("AutoScalingGroupName".into(), &action.group),
            ("LifecycleHookName".into(), &action.hook),
            ("InstanceId".into(), &action.instance_id),
            ("LifecycleActionResult".into(), result),
        ];
        let endpoint = self.endpoints.autoscaling.clone();
        self.query("autoscaling", "CompleteLifecycleAction", &endpoint, &params)
            .await
            .map(drop)
    }

    /// Auto Scaling `RecordLifecycleActionHeartbeat`: restart the hook's heartbeat timeout.
    pub async fn record_lifecycle_action_heartbeat(
        &self,
        action: &LifecycleAction,
    ) -> Result<(), AwsError> {
        let params: Vec<(String, &str)> = vec![
            ("Action".into(), "RecordLifecycleActionHeartbeat"),
            ("Version".into(), "2011-01-01"),
            ("AutoScalingGroupName".into(), &action.group),
            ("LifecycleHookName".into(), &action.hook),
            ("InstanceId".into(), &action.instance_id),
        ];
        let endpoint = self.endpoints.autoscaling.clone();
        self.query(
            "autoscaling",
            "RecordLifecycleActionHeartbeat",
            &endpoint,
            &params,
        )
        .await
        .map(drop)
    }

    /// Auto Scaling `DescribeLifecycleHooks` for `hook` of `group`: its timeouts, or `None`
    /// when the group has no hook of that name.
    pub async fn describe_lifecycle_hook(
        &self,
        group: &str,
        hook: &str,
    ) -> Result<Option<HookTimeouts>, AwsError> {
        let (service, action) = ("autoscaling", "DescribeLifecycleHooks");
        let params: Vec<(String, &str)> = vec![
            ("Action".into(), action),
            ("Version".into(), "2011-01-01"),
            ("AutoScalingGroupName".into(), group),
            ("LifecycleHookNames.member.1".into(), hook),
        ];
        let endpoint = self.endpoints.autoscaling.clone();
        let xml = self.query(service, action, &endpoint, &params).await?;
        hook_timeouts(&xml, hook).map_err(|detail| AwsError::Answer {
            service,
            action,
            detail,
        })
    }

    /// SSM `GetParameter` with `WithDecryption=true` (a SecureString such as the join
    /// token); returns the plain value. Never log it.
    pub async fn get_parameter(&self, name: &str) -> Result<String, AwsError> {
        let (service, action) = ("ssm", "GetParameter");
        let body = serde_json::json!({ "Name": name, "WithDecryption": true }).to_string();
        let endpoint = self.endpoints.ssm.clone();
        let headers = [
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", "AmazonSSM.GetParameter"),
        ];
        let (status, text) = self
            .send(service, action, &endpoint, &headers, body.into_bytes())
            .await?;
        if !(200..300).contains(&status) {
            let (code, message) = json_error(&text);
            return Err(AwsError::Api {
                service,
                action,
                status,
                code,
                message,
            });
        }
        let answer: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| AwsError::Answer {
                service,
                action,
                detail: format!("not JSON ({e})"),
            })?;
        answer
            .pointer("/Parameter/Value")
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .ok_or_else(|| AwsError::Answer {
                service,
                action,
                detail: format!("no Parameter.Value for {name}"),
            })
    }

    async fn query(
        &self,
        service: &'static str,
        action: &'static str,
        endpoint: &str,
        params: &[(String, &str)],
    ) -> Result<String, AwsError> {
        let body = params
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    utf8_percent_encode(k, QUERY),
                    utf8_percent_encode(v, QUERY)
                )
            })
            .collect::<Vec<_>>()
            .join("&");
        let headers = [(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )];
        let (status, text) = self
            .send(service, action, endpoint, &headers, body.into_bytes())
            .await?;
        if (200..300).contains(&status) {
            return Ok(text);
        }
        let (code, message) = xml_error(&text);
        Err(AwsError::Api {
            service,
            action,
            status,
            code,
            message,
        })
    }

    /// Signs and sends one POST; returns the status and body. Credentials AWS calls
    /// expired are dropped so the next call reads fresh ones.
    async fn send(
        &self,
        service: &'static str,
        action: &'static str,
        endpoint: &str,
        extra: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<(u16, String), AwsError> {
        let signing = |detail: String| AwsError::Signing {
            service,
            action,
            detail,
        };
        let url = reqwest::Url::parse(endpoint)
            .map_err(|e| signing(format!("endpoint `{endpoint}` is not a URL ({e})")))?;
        let host = host_header(&url)
            .ok_or_else(|| signing(format!("endpoint `{endpoint}` has no host")))?;
        let credentials = self.credentials.get(&self.imds).await?;
        let mut headers: Vec<(String, String)> = vec![("host".into(), host)];
        headers.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let added = sign_request(
            &credentials,
            &self.region,
            service,
            SystemTime::now(),
            &Unsigned {
                method: "POST",
                url: url.as_str(),
                headers: &headers,
                body: &body,
            },
        )
        .map_err(signing)?;
        let mut request = self.http.post(url.clone()).body(body);
        for (k, v) in headers.iter().chain(added.iter()) {
            request = request.header(k.as_str(), v.as_str());
        }
        let transport = |detail: String| AwsError::Transport {
            service,
            action,
            endpoint: endpoint.to_string(),
            detail,
        };
        let response = request.send().await.map_err(|e| transport(one_line(&e)))?;
        let status = response.status().as_u16();
        if response.status().is_redirection() {
            // The client follows no redirect (http_body::builder); one is refused here so
            // that it is not taken for AWS's error answer.
            return Err(AwsError::Redirect {
                service,
                action,
                endpoint: endpoint.to_string(),
                status,
            });
        }
        // AWS's answers here are a few KiB; a MiB ceiling keeps a stand-in or a proxy
        // from filling memory.
        let bytes = crate::http_body::read_capped(response, 1 << 20)
            .await
            .map_err(|e| {
                transport(match e {
                    crate::http_body::BodyError::Transport(e) => one_line(&e),
                    too_large => too_large.to_string(),
                })
            })?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if status == 403 && text.contains("ExpiredToken") {
            self.credentials.forget();
        }
        Ok((status, text))
    }
}

/// The text between `<tag>` and `</tag>`, if any.
fn xml_text(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(xml[start..end].trim().to_string())
}

/// The timeouts of `hook` in a `DescribeLifecycleHooksResponse`
/// (`<DescribeLifecycleHooksResult><LifecycleHooks><member>...`); `None` when no member
/// is that hook.
fn hook_timeouts(xml: &str, hook: &str) -> Result<Option<HookTimeouts>, String> {
    let Some(hooks) = xml_text(xml, "LifecycleHooks") else {
        // An empty list may come as `<LifecycleHooks/>`.
        if xml.contains("DescribeLifecycleHooksResult") {
            return Ok(None);
        }
        return Err("no LifecycleHooks element".into());
    };
    for member in hooks.split("<member>").skip(1) {
        if xml_text(member, "LifecycleHookName").as_deref() != Some(hook) {
            continue;
        }
        let seconds = |tag: &str| -> Result<Option<u64>, String> {
            xml_text(member, tag)
                .map(|t| {
                    t.parse::<u64>()
                        .map_err(|_| format!("{tag} of {hook} is `{t}`, not seconds"))
                })
                .transpose()
        };
        let heartbeat = seconds("HeartbeatTimeout")?
            .ok_or_else(|| format!("{hook} has no HeartbeatTimeout"))?;
        // AWS always reports it; should it not, it is what AWS documents as the limit.
        let global =
            seconds("GlobalTimeout")?.unwrap_or(heartbeat.saturating_mul(100).min(172_800));
        // AWS documents HeartbeatTimeout 30..7200 s and GlobalTimeout at most 48 h. Beyond
        // those bounds it is not Auto Scaling talking; the lower bound is looser (1 s) so
        // the tests' stand-in can hold a drain for seconds, not minutes. Within them the
        // drain's time arithmetic cannot overflow and a zero never means "heartbeat always".
        if !(1..=7200).contains(&heartbeat) || !(heartbeat..=172_800).contains(&global) {
            return Err(format!(
                "{hook}'s timeouts (heartbeat {heartbeat} s, global {global} s) are outside AWS's ranges"
            ));
        }
        return Ok(Some(HookTimeouts {
            heartbeat: Duration::from_secs(heartbeat),
            global: Duration::from_secs(global),
        }));
    }
    Ok(None)
}

/// Code and message of a query-protocol error (`<ErrorResponse><Error><Code>`...).
fn xml_error(xml: &str) -> (String, String) {
    let (code, message) = (
        xml_text(xml, "Code").unwrap_or_else(|| "Unknown".into()),
        xml_text(xml, "Message").unwrap_or_else(|| short(xml)),
    );
    shown(code, message)
}

/// An error's code and message as they may be logged and shown: whoever answered (AWS, or
/// whatever answers in its place) chose them, so they pass the one terminal filter.
fn shown(code: String, message: String) -> (String, String) {
    (
        crate::printable::printable(&code, 100),
        crate::printable::printable(&message, 300),
    )
}

/// Code and message of a JSON-protocol error (`__type`, `message`).
fn json_error(text: &str) -> (String, String) {
    let v: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    let code = v
        .get("__type")
        .and_then(|t| t.as_str())
        // `__type` may be namespaced: `com.amazonaws.ssm#ParameterNotFound`.
        .map(|t| t.rsplit('#').next().unwrap_or(t).to_string())
        .unwrap_or_else(|| "Unknown".into());
    let message = ["message", "Message"]
        .iter()
        .find_map(|k| v.get(k).and_then(|m| m.as_str()))
        .map(str::to_string)
        .unwrap_or_else(|| short(text));
    shown(code, message)
}

fn short(text: &str) -> String {
    text.chars()
        .take(200)
        .collect::<String>()
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_errors_give_code_and_message() {
        let xml = "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>no cloudwatch:PutMetricData</Message></Error></ErrorResponse>";
        assert_eq!(
            xml_error(xml),
            ("AccessDenied".into(), "no cloudwatch:PutMetricData".into())
        );
        assert_eq!(xml_error("oops").0, "Unknown");
        // Whatever answers chooses the text: no control character reaches a log or status.
        let hostile = "<Error><Code>Access\u{1b}]0;x\u{7}Denied</Code><Message>a\u{1b}[2Jb\nc</Message></Error>";
        assert_eq!(
            xml_error(hostile),
            ("Access?]0;x?Denied".into(), "a?[2Jb?c".into())
        );
        let json = "{\"__type\":\"X\\u001b[31m\",\"message\":\"m\\u0007\"}";
        assert_eq!(json_error(json), ("X?[31m".into(), "m?".into()));
    }

    #[test]
    fn a_hook_description_gives_its_timeouts() {
        let xml = r#"<DescribeLifecycleHooksResponse xmlns="https://autoscaling.amazonaws.com/doc/2011-01-01/">
  <DescribeLifecycleHooksResult>
    <LifecycleHooks>
      <member>
        <DefaultResult>ABANDON</DefaultResult>
        <LifecycleHookName>other</LifecycleHookName>
        <GlobalTimeout>6000</GlobalTimeout>
        <AutoScalingGroupName>my-asg</AutoScalingGroupName>
        <HeartbeatTimeout>60</HeartbeatTimeout>
        <LifecycleTransition>autoscaling:EC2_INSTANCE_LAUNCHING</LifecycleTransition>
      </member>
      <member>
        <DefaultResult>CONTINUE</DefaultResult>
        <LifecycleHookName>ryo-jitsi-drain</LifecycleHookName>
        <GlobalTimeout>172800</GlobalTimeout>
        <AutoScalingGroupName>my-asg</AutoScalingGroupName>
        <HeartbeatTimeout>3600</HeartbeatTimeout>
        <LifecycleTransition>autoscaling:EC2_INSTANCE_TERMINATING</LifecycleTransition>
      </member>
    </LifecycleHooks>
  </DescribeLifecycleHooksResult>
  <ResponseMetadata><RequestId>8d798a29-f083-11e1-bdfb-cb223EXAMPLE</RequestId></ResponseMetadata>
</DescribeLifecycleHooksResponse>"#;
        assert_eq!(
            hook_timeouts(xml, "ryo-jitsi-drain"),
            Ok(Some(HookTimeouts {
                heartbeat: Duration::from_secs(3600),
                global: Duration::from_secs(172_800),
            }))
        );
        // Values no Auto Scaling hook can have are refused, not computed with.
        for (heartbeat, global) in [
            ("0", "100"),
            ("18446744073709551615", "172800"),
            ("60", "172801"),
            ("60", "30"),
        ] {
            let odd = xml
                .replace(
                    "<HeartbeatTimeout>3600<",
                    &format!("<HeartbeatTimeout>{heartbeat}<"),
                )
                .replace(
                    "<GlobalTimeout>172800<",
                    &format!("<GlobalTimeout>{global}<"),
                );
            let got = hook_timeouts(&odd, "ryo-jitsi-drain");
            assert!(
                got.as_ref()
                    .is_err_and(|e| e.contains("outside AWS's ranges")),
                "{heartbeat}/{global}: {got:?}"
            );
        }
        assert_eq!(hook_timeouts(xml, "missing"), Ok(None));
        let empty = "<DescribeLifecycleHooksResponse><DescribeLifecycleHooksResult><LifecycleHooks/></DescribeLifecycleHooksResult></DescribeLifecycleHooksResponse>";
        assert_eq!(hook_timeouts(empty, "ryo-jitsi-drain"), Ok(None));
        let bad = xml.replace("<HeartbeatTimeout>3600<", "<HeartbeatTimeout>soon<");
        assert!(hook_timeouts(&bad, "ryo-jitsi-drain").is_err());
    }

    #[test]
    fn json_errors_give_code_and_message() {
        let j = r#"{"__type":"com.amazonaws.ssm#ParameterNotFound","message":"nope"}"#;
        assert_eq!(json_error(j), ("ParameterNotFound".into(), "nope".into()));
    }
}
