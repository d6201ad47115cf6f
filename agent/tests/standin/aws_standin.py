#!/usr/bin/env python3
"""Stand-ins, on loopback, for what a videobridge in an AWS Auto Scaling group talks to
and that cannot run here:

- an EC2 instance metadata service (IMDSv2 only: session tokens required), serving the
  instance id, region, the group's name tag, the target lifecycle state, a spot notice and
  the instance role's temporary credentials;
- an AWS API endpoint for CloudWatch PutMetricData, Auto Scaling CompleteLifecycleAction /
  RecordLifecycleActionHeartbeat / DescribeLifecycleHooks and SSM GetParameter, which VERIFIES each request's SigV4
  signature against the credentials the metadata stand-in handed out. The verification
  is written here from AWS's published algorithm with the standard library only
  (hashlib, hmac), independently of the Rust signer under test;
- the videobridge's private REST API (/colibri/stats, /colibri/shutdown).

Why this is not moto's server (which tests/common/moto.rs runs for S3), checked against
moto 5.2.5's source:
- IMDS and the videobridge's API: moto serves neither.
- Auto Scaling CompleteLifecycleAction and RecordLifecycleActionHeartbeat: moto has
  neither (nothing under moto/autoscaling handles lifecycle actions), and the drain tests
  depend on both; DescribeLifecycleHooks exists there but cannot be made to fail as
  `hooks_error` does.
- Signatures: moto verifies no SigV4 signature (its optional check knows only moto's own
  users' keys), so on moto a wrongly signed request would pass and the signing tests
  (aws_calls.rs: forged and tampered requests) could no longer fail for it. CloudWatch
  PutMetricData and SSM GetParameter exist in moto but stay here for that reason: every
  call a run makes lands in one log whose signatures are checked.

Prints one JSON line with the three ports, then serves until stdin closes. Tests steer it
with POST /_standin/set (a JSON object of state fields) and read what it saw with
GET /_standin/log, on any of the three ports.
"""

import datetime
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
    # The bridge exits once graceful shutdown is on and its last conference is gone.
    "exit_when_idle": False,
    "parameters": {"/ryo-jitsi/join": "join-token-secret"},
    # The termination hook's timeouts as DescribeLifecycleHooks reports them; a code in
    # hooks_error (e.g. "AccessDenied") refuses that call.
    "hook_heartbeat": 3600,
    "hook_global": 172800,
    "hooks_error": None,
}
ISSUED = {}  # access key id -> {secret, token, expires}
IMDS_TOKENS = set()
LOG = {"aws": [], "imds": [], "bridge": []}


def issue_credentials():
    akid = "ASIA" + secrets.token_hex(8).upper()
    creds = {
        "secret": secrets.token_urlsafe(30),
        "token": secrets.token_urlsafe(60),
        "expires": time.time() + STATE["expire_in"],
    }
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
    "PutMetricData": ("monitoring", "2010-08-01", "http://monitoring.amazonaws.com/doc/2010-08-01/"),
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
            with LOCK:
                STATE.update(json.loads(self.body() or b"{}"))
            return self.answer(200, "{}")
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
            problem = verify_sigv4(method, self.path, self.headers, body, "ssm")
            if problem:
                entry["rejected"] = problem[0]
                code = "InvalidSignatureException" if problem[0] == "SignatureDoesNotMatch" else problem[0]
                return self.answer(400 if code != "InvalidSignatureException" else 403,
                                   json.dumps({"__type": code, "message": problem[1]}),
                                   "application/x-amz-json-1.1")
            request = json.loads(body or b"{}")
            entry["params"] = request
            if target != "AmazonSSM.GetParameter":
                return self.answer(400, json.dumps({"__type": "UnknownOperationException"}))
            name = request.get("Name")
            value = STATE["parameters"].get(name)
            if value is None:
                return self.answer(400, json.dumps({"__type": "ParameterNotFound", "message": f"{name} not found"}),
                                   "application/x-amz-json-1.1")
            entry["ok"] = True
            if request.get("WithDecryption") is not True:
                value = "AQICAHencrypted"
            return self.answer(200, json.dumps({"Parameter": {"Name": name, "Type": "SecureString", "Value": value,
                                                              "Version": 1}}), "application/x-amz-json-1.1")
        params = dict(urllib.parse.parse_qsl(body.decode()))
        action = params.get("Action", "")
        entry["action"] = action
        entry["params"] = params
        entry["body"] = body.decode()
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
        if action != "PutMetricData":
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

    # --- the videobridge's REST API ---
    def bridge(self, method):
        body = self.body()
        LOG["bridge"].append({"time": time.time(), "request": f"{method} {self.path}", "body": body.decode()})
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
    print(json.dumps(ports), flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
