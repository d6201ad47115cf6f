//! The bridge's AWS calls on loopback (tests/standin/aws_standin.py): an IMDSv2 stand-in
//! handing out the role's credentials (issued by moto's STS), moto's server for CloudWatch
//! and SSM and a stand-in for the lifecycle calls moto lacks; both check each request's
//! SigV4 signature with those credentials, independently of the signer.

#[path = "common/aws_standin.rs"]
mod aws_standin;
use aws_standin::{Standin, GROUP, INSTANCE, REGION};
use meet_agent::aws::api::{Aws, Endpoints, LifecycleResult, Metric};
use meet_agent::aws::credentials::RoleCredentials;
use meet_agent::aws::imds::{Imds, LifecycleState};
use meet_agent::aws::sign::{host_header, sign_request, Unsigned};
use meet_agent::aws::AwsError;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

#[tokio::test]
async fn every_call_is_signed_with_the_role_credentials_and_accepted() {
    let standin = Standin::with_moto();
    standin
        .set(serde_json::json!({"lifecycle": "Terminated"}))
        .await;
    let aws = standin.aws_client(standin.imds_client());
    let dims = [("AutoScalingGroupName", GROUP)];
    aws.put_metric_data(&Metric {
        namespace: "RyoJitsi",
        name: "StressLevel",
        dimensions: &dims,
        value: 0.25,
    })
    .await
    .unwrap();
    aws.record_lifecycle_action_heartbeat(&Standin::action())
        .await
        .unwrap();
    aws.complete_lifecycle_action(&Standin::action(), LifecycleResult::Continue)
        .await
        .unwrap();
    assert_eq!(
        aws.get_parameter("/ryo-jitsi/join").await.unwrap(),
        "join-token-secret"
    );

    let log = standin.log().await;
    let calls: Vec<_> = log["aws"].as_array().unwrap().iter().collect();
    let seen: Vec<(&str, &str, bool)> = calls
        .iter()
        .map(|c| {
            (
                c["service"].as_str().unwrap(),
                c["action"].as_str().unwrap(),
                c["ok"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("monitoring", "PutMetricData", true),
            ("autoscaling", "RecordLifecycleActionHeartbeat", true),
            ("autoscaling", "CompleteLifecycleAction", true),
            ("ssm", "GetParameter", true),
        ]
    );
    let put = &calls[0]["params"];
    assert_eq!(put["Namespace"], "RyoJitsi");
    assert_eq!(put["MetricData.member.1.MetricName"], "StressLevel");
    assert_eq!(put["MetricData.member.1.Value"], "0.25");
    assert_eq!(
        put["MetricData.member.1.Dimensions.member.1.Name"],
        "AutoScalingGroupName"
    );
    assert_eq!(put["MetricData.member.1.Dimensions.member.1.Value"], GROUP);
    assert_eq!(calls[2]["params"]["LifecycleActionResult"], "CONTINUE");
    assert_eq!(calls[3]["params"]["WithDecryption"], true);
    // moto kept the data point, under the namespace and dimension the agent sent.
    let metrics = standin
        .harness(
            "cloudwatch",
            "list_metrics",
            serde_json::json!({"Namespace": "RyoJitsi"}),
        )
        .await;
    assert_eq!(
        metrics["Metrics"][0]["MetricName"], "StressLevel",
        "{metrics}"
    );
    assert_eq!(
        metrics["Metrics"][0]["Dimensions"][0]["Value"], GROUP,
        "{metrics}"
    );

    // The role's credentials were read once and reused; every read carried a session token.
    let imds: Vec<&str> = log["imds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let role_reads = imds
        .iter()
        .filter(|l| l.ends_with("/iam/security-credentials/ryo-jitsi-bridge"))
        .count();
    assert_eq!(role_reads, 1, "{imds:?}");
    assert_eq!(imds[0], "PUT /latest/api/token");
}

/// Signs a PutMetricData with `secret` and the stand-in's real key id and token, then
/// lets `tamper` change the body after signing; returns the stand-in's status and body.
async fn forged(standin: &Standin, secret: &str, tamper: bool) -> (u16, String) {
    let (akid, token) = standin.issued().await;
    let credentials = RoleCredentials::parse(
        "forged",
        &serde_json::json!({
            "AccessKeyId": akid,
            "SecretAccessKey": secret,
            "Token": token,
            "Expiration": "2099-01-01T00:00:00Z",
        })
        .to_string(),
    )
    .unwrap();
    let url = reqwest::Url::parse(&standin.aws).unwrap();
    let body = "Action=PutMetricData&Version=2010-08-01&Namespace=RyoJitsi&MetricData.member.1.MetricName=StressLevel&MetricData.member.1.Value=0.1";
    let headers = vec![
        ("host".to_string(), host_header(&url).unwrap()),
        (
            "content-type".to_string(),
            "application/x-www-form-urlencoded; charset=utf-8".to_string(),
        ),
    ];
    let added = sign_request(
        &credentials,
        REGION,
        "monitoring",
        SystemTime::now(),
        &Unsigned {
            method: "POST",
            url: url.as_str(),
            headers: &headers,
            body: body.as_bytes(),
        },
    )
    .unwrap();
    let sent = if tamper {
        body.replace("0.1", "0.9")
    } else {
        body.to_string()
    };
    let mut request = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(url)
        .body(sent);
    for (k, v) in headers.iter().chain(added.iter()) {
        request = request.header(k, v);
    }
    let response = request.send().await.unwrap();
    (
        response.status().as_u16(),
        response.text().await.unwrap_or_default(),
    )
}

#[tokio::test]
async fn the_endpoint_standin_rejects_bad_signatures() {
    let standin = Standin::with_moto();
    // A wrong secret with the right key id and token.
    let (status, body) = forged(&standin, "not-the-secret", false).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("SignatureDoesNotMatch"), "{body}");
    // A body changed after signing.
    let (status, body) = {
        // The real secret is only inside the IMDS stand-in: read it the way the agent does.
        let imds = standin.imds_client();
        let credentials = meet_agent::aws::credentials::CredentialCache::new()
            .get(&imds)
            .await
            .unwrap();
        forged(&standin, &credentials.secret_access_key, true).await
    };
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("SignatureDoesNotMatch"), "{body}");
    // Unsigned: refused. (moto answers 500 rather than AWS's 403
    // MissingAuthenticationToken: it reads the Authorization header without checking that
    // there is one.)
    let response = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(&standin.aws)
        .body("Action=PutMetricData&Version=2010-08-01")
        .send()
        .await
        .unwrap();
    assert!(!response.status().is_success(), "{response:?}");
    // And the same body, signed properly, passes: the stand-in is not simply refusing.
    let imds = standin.imds_client();
    let credentials = meet_agent::aws::credentials::CredentialCache::new()
        .get(&imds)
        .await
        .unwrap();
    let (status, body) = forged(&standin, &credentials.secret_access_key, false).await;
    assert_eq!(status, 200, "{body}");
    let calls = standin.aws_calls().await;
    assert_eq!(
        calls.iter().filter(|(_, ok)| *ok).count(),
        1,
        "only the good one: {calls:?}"
    );
}

#[tokio::test]
async fn refusals_and_dead_endpoints_are_typed_errors() {
    let standin = Standin::with_moto();
    let aws = standin.aws_client(standin.imds_client());
    let e = aws.get_parameter("/ryo-jitsi/missing").await.unwrap_err();
    assert_eq!(e.code(), Some("ParameterNotFound"), "{e}");
    // No lifecycle action is pending while the instance is in service.
    let e = aws
        .complete_lifecycle_action(&Standin::action(), LifecycleResult::Continue)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, AwsError::Api { code, status: 400, .. } if code == "ValidationError"),
        "{e}"
    );
    assert!(e.to_string().contains("CompleteLifecycleAction"), "{e}");

    let dead = format!("http://127.0.0.1:{}/", free_port());
    let endpoints = Endpoints {
        cloudwatch: dead.clone(),
        autoscaling: dead.clone(),
        ssm: dead,
    };
    let offline = Aws::new(
        REGION,
        endpoints,
        standin.imds_client(),
        Duration::from_secs(2),
    )
    .unwrap();
    let e = offline.get_parameter("/ryo-jitsi/join").await.unwrap_err();
    assert!(matches!(e, AwsError::Transport { .. }), "{e}");

    // No metadata service: the credentials cannot be had, and the error says where.
    let nowhere = Arc::new(
        Imds::new(
            &format!("http://127.0.0.1:{}", free_port()),
            Duration::from_secs(1),
        )
        .unwrap(),
    );
    let e = standin
        .aws_client(nowhere)
        .get_parameter("/ryo-jitsi/join")
        .await
        .unwrap_err();
    assert!(matches!(e, AwsError::Imds { .. }), "{e}");
    assert!(e.to_string().contains("PUT /latest/api/token"), "{e}");
}

#[tokio::test]
async fn the_metadata_reads_what_scaling_needs() {
    let standin = Standin::start();
    let imds = standin.imds_client();
    assert_eq!(imds.instance_id().await.unwrap(), INSTANCE);
    assert_eq!(imds.region().await.unwrap(), REGION);
    assert_eq!(
        imds.autoscaling_group().await.unwrap().as_deref(),
        Some(GROUP)
    );
    assert_eq!(
        imds.lifecycle_state().await.unwrap(),
        Some(LifecycleState::InService)
    );
    assert_eq!(imds.spot_notice().await.unwrap(), None);

    standin
        .set(serde_json::json!({
            "lifecycle": "Terminated",
            "tags_in_metadata": false,
            "spot": {"action": "terminate", "time": "2026-12-01T12:00:00Z"},
        }))
        .await;
    assert_eq!(
        imds.lifecycle_state().await.unwrap(),
        Some(LifecycleState::Terminated)
    );
    assert_eq!(imds.autoscaling_group().await.unwrap(), None);
    let notice = imds.spot_notice().await.unwrap().unwrap();
    assert_eq!(notice.action, "terminate");

    standin.set(serde_json::json!({"lifecycle": null})).await;
    assert_eq!(imds.lifecycle_state().await.unwrap(), None);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
