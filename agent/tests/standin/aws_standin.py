#!/usr/bin/env python3
"""Stand-ins, on loopback, for what a videobridge or recorder on AWS talks to and that no
kept implementation serves here, in front of moto's server (a real implementation of the
AWS APIs, PyPI moto[server]) for what moto does serve:

- an EC2 instance metadata service (IMDSv2 only: session tokens required), serving the
  instance id, region, the group's name tag, the target lifecycle state, a spot notice and
  the instance role's temporary credentials;
- Auto Scaling CompleteLifecycleAction, RecordLifecycleActionHeartbeat and
  DescribeLifecycleHooks, which VERIFY each request's SigV4 signature against the
  credentials the metadata stand-in handed out (written here from AWS's published
  algorithm with the standard library only, independently of the Rust signer under test);
- the videobridge's private REST API (/colibri/stats, /colibri/shutdown), and on the same
  port jibri's health and gracefulShutdown (jitsi/jibri doc/http_api.md, HttpApi.kt,
  InternalHttpApi.kt) for a recorder's scaling.

With --moto, the process also runs moto's server (in a thread) with its IAM checks ON:
the instance role's credentials are moto's own (STS AssumeRole of a role whose policy is
the one docs/aws/scale-out.yaml and docs/recording.md grant), so moto verifies every
signature and refuses what the role may not do. CloudWatch PutMetricData and SSM
GetParameter sent to the AWS port are forwarded to moto byte for byte (and logged here);
S3 goes to moto directly. Without --moto those two calls are refused.

Why the rest is not moto's, checked against moto 5.2.5's source:
- IMDS and the videobridge's API: moto serves neither.
- CompleteLifecycleAction and RecordLifecycleActionHeartbeat: nothing under
  moto/autoscaling handles lifecycle actions, and the drain tests depend on both.
- DescribeLifecycleHooks exists in moto but cannot be made to fail as `hooks_error`
  does, and its group would have to exist in moto with the instance in it; it stays
  with the other lifecycle calls.

Prints one JSON line with the ports, then serves until stdin closes. Tests steer it with
POST /_standin/set (a JSON object of state fields), read what it saw with GET
/_standin/log, and (with --moto) ask moto through AWS's own SDK with POST /_standin/aws.
"""

import datetime
import http.client
import hashlib
import hmac
import json
import secrets
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REGION = "eu-central-1"
ROLE = "ryo-jitsi-bridge"
LOCK = threading.Lock()
STATE = {
    "instance_id": "i-0123456789abcdef0",
    "group": "ryo-jitsi-bridges",
    "hook": "ryo-jitsi-drain",
    "tags_in_metadata": True,
    "lifecycle": "InService",  # None: not in a group (404)
    "spot": None,  # e.g. {"action": "terminate", "time": "..."}
    "expire_in": 3600,  # seconds the credentials handed out are valid
    "conferences": 0,
    "stress_level": 0.0,
    "bridge_up": True,
    "graceful_shutdown": False,
    # The bridge exits once graceful shutdown is on and its last conference is gone (jibri
    # once it is on and its recording has ended).
    "exit_when_idle": False,
    # jibri (on the bridge port, under /jibri/): recording or not.
    "jibri_busy": False,
    "parameters": {"/ryo-jitsi/join": "join-token-secret"},
    # The termination hook's timeouts as DescribeLifecycleHooks reports them; a code in
    # hooks_error (e.g. "AccessDenied") refuses that call.
    "hook_heartbeat": 3600,
    "hook_global": 172800,
    "hooks_error": None,
}
ISSUED = {}  # access key id -> {secret, token, expires}
MOTO = {}  # with --moto: url, and the harness's boto3 session (every permission)
# The instance role's permissions as docs/aws/scale-out.yaml and docs/recording.md grant
# them (the lifecycle calls, verified by this stand-in, are not moto's).
ROLE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        # moto names the action after the signing name ("monitoring"), AWS's IAM after
        # the service ("cloudwatch"); the role may do both, i.e. the one call.
        {"Effect": "Allow", "Action": ["cloudwatch:PutMetricData", "monitoring:PutMetricData"], "Resource": "*"},
        {"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": "*"},
        {"Effect": "Allow", "Action": ["s3:PutObject", "s3:AbortMultipartUpload"], "Resource": "*"},
    ],
}
IMDS_TOKENS = set()
LOG = {"aws": [], "imds": [], "bridge": []}


def issue_credentials():
    if MOTO:
        # moto's STS issues them, so moto can verify what is signed with them.
        sts = MOTO["harness"].client("sts", endpoint_url=MOTO["url"])
        got = sts.assume_role(RoleArn=MOTO["role_arn"], RoleSessionName=STATE["instance_id"])["Credentials"]
        akid, secret, token = got["AccessKeyId"], got["SecretAccessKey"], got["SessionToken"]
    else:
        akid = "ASIA" + secrets.token_hex(8).upper()
        secret, token = secrets.token_urlsafe(30), secrets.token_urlsafe(60)
    creds = {"secret": secret, "token": token, "expires": time.time() + STATE["expire_in"]}
    ISSUED[akid] = creds
    return akid, creds


CURRENT = {}


def current_credentials():
    akid = CURRENT.get("akid")
    if akid is None or ISSUED[akid]["expires"] - time.time() < STATE["expire_in"] / 2:
        akid, _ = issue_credentials()
        CURRENT["akid"] = akid
    return akid, ISSUED[akid]


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def hmac_sha256(key, text):
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def uri_encode(text):
    return urllib.parse.quote(text, safe="-_.~")


def verify_sigv4(method, raw_path, headers, body, service):
    """Returns None when the request carries a valid SigV4 signature made with
    credentials this stand-in handed out, else (code, message)."""
    auth = headers.get("Authorization")
    if not auth:
        return ("MissingAuthenticationToken", "no Authorization header")
    algorithm, _, rest = auth.partition(" ")
    if algorithm != "AWS4-HMAC-SHA256":
        return ("IncompleteSignature", f"algorithm {algorithm}")
    fields = {}
    for part in rest.split(","):
        key, _, value = part.strip().partition("=")
        fields[key] = value
    try:
        akid, date, region, svc, terminator = fields["Credential"].split("/")
        signed = fields["SignedHeaders"].split(";")
        signature = fields["Signature"]
    except (KeyError, ValueError):
        return ("IncompleteSignature", f"Authorization header is malformed: {auth}")
    creds = ISSUED.get(akid)
    if creds is None:
        return ("InvalidClientTokenId", f"unknown access key {akid}")
    if creds["expires"] < time.time():
        return ("ExpiredToken", "the security token included in the request is expired")
    if headers.get("X-Amz-Security-Token") != creds["token"]:
        return ("InvalidClientTokenId", "security token missing or not the one issued with the key")
    for must in ("host", "x-amz-date", "x-amz-security-token"):
        if must not in signed:
            return ("SignatureDoesNotMatch", f"{must} is not signed")
    if signed != sorted(signed):
        return ("SignatureDoesNotMatch", "SignedHeaders not sorted")
    if terminator != "aws4_request" or region != REGION or svc != service:
        return ("SignatureDoesNotMatch", f"scope {date}/{region}/{svc}/{terminator}, expected {REGION}/{service}")
    amz_date = headers.get("X-Amz-Date", "")
    try:
        when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return ("IncompleteSignature", f"X-Amz-Date {amz_date!r}")
    if abs(time.time() - when.timestamp()) > 300 or amz_date[:8] != date:
        return ("SignatureDoesNotMatch", "signature not yet current or expired")
    path, _, query = raw_path.partition("?")
    canonical_uri = "/".join(uri_encode(urllib.parse.unquote(seg)) for seg in path.split("/")) or "/"
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    canonical_query = "&".join(f"{uri_encode(k)}={uri_encode(v)}" for k, v in sorted(pairs))
    canonical_headers = ""
    for name in signed:
        values = headers.get_all(name) or []
        if not values:
            return ("SignatureDoesNotMatch", f"signed header {name} is absent")
        value = ",".join(" ".join(v.split()) for v in values)
        canonical_headers += f"{name}:{value}\n"
    canonical_request = "\n".join(
        [method, canonical_uri, canonical_query, canonical_headers, ";".join(signed), sha256_hex(body)]
    )
    scope = f"{date}/{region}/{svc}/aws4_request"
    string_to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, sha256_hex(canonical_request.encode())])
    key = hmac_sha256(("AWS4" + creds["secret"]).encode(), date)
    for part in (region, svc, "aws4_request"):
        key = hmac_sha256(key, part)
    expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        return ("SignatureDoesNotMatch", "the request signature we calculated does not match the signature provided")
    return None


QUERY_ACTIONS = {
    "CompleteLifecycleAction": ("autoscaling", "2011-01-01", "http://autoscaling.amazonaws.com/doc/2011-01-01/"),
    "RecordLifecycleActionHeartbeat": ("autoscaling", "2011-01-01", "http://autoscaling.amazonaws.com/doc/2011-01-01/"),
    "DescribeLifecycleHooks": ("autoscaling", "2011-01-01", "https://autoscaling.amazonaws.com/doc/2011-01-01/"),
}


def lifecycle_hooks_xml(xmlns, names):
    """A DescribeLifecycleHooksResponse in the shape of AWS's API reference (its sample
    response): the group's hooks, filtered by LifecycleHookNames.member.N when given."""
    hooks = [{"LifecycleHookName": STATE["hook"], "AutoScalingGroupName": STATE["group"],
              "LifecycleTransition": "autoscaling:EC2_INSTANCE_TERMINATING",
              "HeartbeatTimeout": STATE["hook_heartbeat"], "GlobalTimeout": STATE["hook_global"],
              "DefaultResult": "CONTINUE"}]
    members = "".join(
        "<member>" + "".join(f"<{k}>{v}</{k}>" for k, v in hook.items()) + "</member>"
        for hook in hooks if not names or hook["LifecycleHookName"] in names)
    return (f'<DescribeLifecycleHooksResponse xmlns="{xmlns}"><DescribeLifecycleHooksResult>'
            f'<LifecycleHooks>{members}</LifecycleHooks></DescribeLifecycleHooksResult>'
            f'<ResponseMetadata><RequestId>{secrets.token_hex(8)}</RequestId></ResponseMetadata>'
            f'</DescribeLifecycleHooksResponse>')


class Handler(BaseHTTPRequestHandler):
    kind = "?"
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body, content_type="application/json"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def control(self, method):
        if method == "POST" and self.path == "/_standin/set":
            update = json.loads(self.body() or b"{}")
            with LOCK:
                STATE.update(update)
                if MOTO and "parameters" in update:
                    put_parameters(update["parameters"])
            return self.answer(200, "{}")
        if method == "POST" and self.path == "/_standin/aws" and MOTO:
            return self.answer(200, json.dumps(harness_call(json.loads(self.body()))))
        if method == "GET" and self.path == "/_standin/log":
            with LOCK:
                return self.answer(200, json.dumps(LOG))
        if method == "POST" and self.path == "/_standin/forged":
            # Credentials the metadata stand-in handed out, for a test that signs with a
            # wrong secret on purpose.
            with LOCK:
                akid, creds = current_credentials()
                return self.answer(200, json.dumps({"akid": akid, "token": creds["token"]}))
        return self.answer(404, "{}")

    def do_GET(self):
        self.route("GET")

    def do_PUT(self):
        self.route("PUT")

    def do_POST(self):
        self.route("POST")

    def route(self, method):
        if self.path.startswith("/_standin/"):
            return self.control(method)
        with LOCK:
            getattr(self, self.kind)(method)

    # --- IMDSv2 ---
    def imds(self, method):
        LOG["imds"].append(f"{method} {self.path}")
        if self.path == "/latest/api/token":
            if method != "PUT":
                return self.answer(405, "")
            if not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
                return self.answer(400, "")
            token = secrets.token_urlsafe(24)
            IMDS_TOKENS.add(token)
            return self.answer(200, token, "text/plain")
        if self.headers.get("X-aws-ec2-metadata-token") not in IMDS_TOKENS:
            return self.answer(401, "", "text/plain")
        md = "/latest/meta-data/"
        if not self.path.startswith(md):
            return self.answer(404, "", "text/plain")
        key = self.path[len(md):]
        value = None
        if key == "instance-id":
            value = STATE["instance_id"]
        elif key == "placement/region":
            value = REGION
        elif key == "tags/instance/aws:autoscaling:groupName" and STATE["tags_in_metadata"]:
            value = STATE["group"]
        elif key == "autoscaling/target-lifecycle-state":
            value = STATE["lifecycle"]
        elif key == "spot/instance-action" and STATE["spot"] is not None:
            value = json.dumps(STATE["spot"])
        elif key == "iam/security-credentials/":
            value = ROLE
        elif key == f"iam/security-credentials/{ROLE}":
            akid, creds = current_credentials()
            expires = datetime.datetime.fromtimestamp(creds["expires"], datetime.timezone.utc)
            value = json.dumps({
                "Code": "Success",
                "LastUpdated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "Type": "AWS-HMAC",
                "AccessKeyId": akid,
                "SecretAccessKey": creds["secret"],
                "Token": creds["token"],
                "Expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
            })
        if value is None:
            return self.answer(404, "", "text/plain")
        return self.answer(200, value, "text/plain")

    # --- AWS APIs ---
    def aws(self, method):
        body = self.body()
        entry = {"time": time.time(), "ok": False}
        LOG["aws"].append(entry)
        target = self.headers.get("X-Amz-Target")
        if target:
            entry["action"] = target.split(".")[-1]
            entry["service"] = "ssm"
            entry["params"] = json.loads(body or b"{}")
            return self.forward(method, body, entry)
        params = dict(urllib.parse.parse_qsl(body.decode()))
        action = params.get("Action", "")
        entry["action"] = action
        entry["params"] = params
        entry["body"] = body.decode()
        if action == "PutMetricData":
            entry["service"] = "monitoring"
            return self.forward(method, body, entry)
        if action not in QUERY_ACTIONS:
            return self.answer(400, error_xml("InvalidAction", f"unknown action {action}"), "text/xml")
        service, version, xmlns = QUERY_ACTIONS[action]
        entry["service"] = service
        problem = verify_sigv4(method, self.path, self.headers, body, service)
        if problem:
            entry["rejected"] = problem[0]
            return self.answer(403, error_xml(*problem), "text/xml")
        if params.get("Version") != version:
            return self.answer(400, error_xml("InvalidParameterValue", "Version"), "text/xml")
        if action == "DescribeLifecycleHooks":
            if params.get("AutoScalingGroupName") != STATE["group"]:
                return self.answer(400, error_xml("ValidationError", "no such group"), "text/xml")
            if STATE["hooks_error"]:
                return self.answer(403, error_xml(STATE["hooks_error"], "not authorized to perform "
                                                  "autoscaling:DescribeLifecycleHooks"), "text/xml")
            names = [v for k, v in params.items() if k.startswith("LifecycleHookNames.member.")]
            entry["ok"] = True
            return self.answer(200, lifecycle_hooks_xml(xmlns, names), "text/xml")
        want = {"AutoScalingGroupName": STATE["group"], "LifecycleHookName": STATE["hook"],
                "InstanceId": STATE["instance_id"]}
        if action == "CompleteLifecycleAction":
            want["LifecycleActionResult"] = "CONTINUE"
        for key, value in want.items():
            if params.get(key) != value:
                return self.answer(400, error_xml("ValidationError", f"{key} is {params.get(key)!r}"), "text/xml")
        if STATE["lifecycle"] != "Terminated":
            return self.answer(400, error_xml("ValidationError", "no active lifecycle action"), "text/xml")
        entry["ok"] = True
        return self.answer(200, f'<{action}Response xmlns="{xmlns}"><ResponseMetadata><RequestId>'
                                f'{secrets.token_hex(8)}</RequestId></ResponseMetadata></{action}Response>',
                           "text/xml")

    def forward(self, method, body, entry):
        """Hands the request to moto unchanged (Host included, so the signature still
        covers what moto sees) and relays its answer; logs moto's verdict."""
        if not MOTO:
            return self.answer(400, error_xml("InvalidAction", "this stand-in runs without --moto"), "text/xml")
        connection = http.client.HTTPConnection(MOTO["host"], MOTO["port"], timeout=30)
        connection.putrequest(method, self.path, skip_host=True, skip_accept_encoding=True)
        for name, value in self.headers.items():
            if name.lower() not in ("connection", "keep-alive"):
                connection.putheader(name, value)
        connection.endheaders(body)
        response = connection.getresponse()
        data = response.read()
        connection.close()
        entry["ok"] = response.status == 200
        if response.status != 200:
            entry["rejected"] = error_code(data)
        return self.answer(response.status, data, response.getheader("Content-Type") or "text/xml")

    def jibri(self, method):
        return jibri_answer(self, method)

    # --- the videobridge's REST API ---
    def bridge(self, method):
        body = self.body()
        LOG["bridge"].append({"time": time.time(), "request": f"{method} {self.path}", "body": body.decode()})
        if self.path.startswith("/jibri/"):
            return self.jibri(method)
        gone = STATE["exit_when_idle"] and STATE["graceful_shutdown"] and STATE["conferences"] == 0
        if not STATE["bridge_up"] or gone:
            return self.answer(503, "")
        if method == "GET" and self.path == "/colibri/stats":
            return self.answer(200, json.dumps({
                "stress_level": STATE["stress_level"], "conferences": STATE["conferences"],
                "participants": STATE["conferences"] * 3, "mucs_joined": 1, "muc_clients_connected": 1,
                "drain": False, "graceful_shutdown": STATE["graceful_shutdown"], "threads": 60,
                "version": "2.3.160"}))
        if method == "POST" and self.path == "/colibri/shutdown":
            if not (self.headers.get("Content-Type") or "").startswith("application/json"):
                return self.answer(415, "")
            try:
                graceful = json.loads(body).get("graceful-shutdown")
            except (ValueError, AttributeError):
                return self.answer(400, "")
            if graceful not in (True, "true"):
                return self.answer(400, "")
            STATE["graceful_shutdown"] = True
            return self.answer(200, "")
        return self.answer(404, "")


def jibri_answer(handler, method):
    """jibri's two APIs: health (busy or idle, always healthy) and gracefulShutdown."""
    gone = STATE["exit_when_idle"] and STATE["graceful_shutdown"] and not STATE["jibri_busy"]
    if gone:
        return handler.answer(503, "")
    if method == "GET" and handler.path == "/jibri/api/v1.0/health":
        busy = "BUSY" if STATE["jibri_busy"] else "IDLE"
        return handler.answer(200, json.dumps({"status": {"busyStatus": busy, "health": {"healthStatus": "HEALTHY"}}}))
    if method == "POST" and handler.path == "/jibri/api/internal/v1.0/gracefulShutdown":
        STATE["graceful_shutdown"] = True
        return handler.answer(200, "")
    return handler.answer(404, "")


def error_code(data):
    """The error code in an AWS error answer, JSON (SSM) or XML (query APIs)."""
    try:
        code = json.loads(data).get("__type", "")
        return code.split("#")[-1]
    except (ValueError, AttributeError):
        text = data.decode(errors="replace")
        return text.partition("<Code>")[2].partition("</Code>")[0] or text[:100]


def start_moto():
    """Runs moto's server in a thread, with IAM checks on from the first call after
    the harness's own setup: a harness user allowed everything (for the tests' own
    look-ups) and the instance role (ROLE_POLICY) whose STS credentials the metadata
    stand-in hands out."""
    import logging

    from moto.server import ThreadedMotoServer
    import boto3

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request on stderr

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    setup = boto3.Session(aws_access_key_id="setup", aws_secret_access_key="setup", region_name=REGION)
    iam = setup.client("iam", endpoint_url=url)
    iam.create_user(UserName="harness")
    everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    iam.put_user_policy(UserName="harness", PolicyName="everything", PolicyDocument=json.dumps(everything))
    key = iam.create_access_key(UserName="harness")["AccessKey"]
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    iam.put_role_policy(RoleName=ROLE, PolicyName="instance", PolicyDocument=json.dumps(ROLE_POLICY))
    # From here on moto authenticates and authorizes every request.
    reset = http.client.HTTPConnection(host, port, timeout=30)
    reset.request("POST", "/moto-api/reset-auth", body=b"0")
    assert reset.getresponse().status == 200
    MOTO.update(url=url, host=host, port=port, role_arn=role["Arn"], harness=boto3.Session(
        aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"], region_name=REGION))
    put_parameters(STATE["parameters"])
    return port


def put_parameters(parameters):
    ssm = MOTO["harness"].client("ssm", endpoint_url=MOTO["url"])
    for name, value in parameters.items():
        ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)


def harness_call(request):
    """One call through AWS's own SDK with the harness's credentials: {"service",
    "operation" (boto3's snake_case name), "params"}. Bytes in the answer (an object's
    body) come back as their length and SHA-256 so a failing test prints no megabytes."""
    import botocore.exceptions

    client = MOTO["harness"].client(request["service"], endpoint_url=MOTO["url"])
    try:
        result = getattr(client, request["operation"])(**request.get("params", {}))
    except botocore.exceptions.ClientError as e:
        return {"error": e.response["Error"]["Code"]}
    result.pop("ResponseMetadata", None)
    if "Body" in result:
        data = result.pop("Body").read()
        result["Body"] = {"len": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    return json.loads(json.dumps(result, default=str))


def error_xml(code, message):
    return (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
            f"</Error><RequestId>{secrets.token_hex(8)}</RequestId></ErrorResponse>")


def serve(kind):
    handler = type(kind, (Handler,), {"kind": kind})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1]


def main():
    ports = {kind: serve(kind) for kind in ("imds", "aws", "bridge")}
    if "--moto" in sys.argv[1:]:
        ports["moto"] = start_moto()
    print(json.dumps(ports), flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
