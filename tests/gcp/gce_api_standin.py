#!/usr/bin/env python3
"""A STAND-IN, on loopback, for the Google Cloud APIs deploy/gcp/ryo-jitsi drives through
gcloud, so that its tests run without Google. It is not Google's code and implements only
what the script asks, in the APIs' JSON shapes:

- Compute Engine v1 (`/compute/v1/...`): addresses, firewalls, instances, instance
  templates, regional managed instance groups and autoscalers, images (the image family
  resolves to one image), zones, regions, subnetworks, serial port output. Every mutating
  call answers an Operation that is already DONE (`compute#operation`, with selfLink and
  targetLink); resources carry kind, id, selfLink, creationTimestamp; lists answer
  `{"kind": ..., "items": [...]}` and aggregated lists `{"items": {"zones/Z": {...}}}`;
  a missing resource is a 404 in Google's error shape
  (`{"error": {"code": 404, "message": ..., "errors": [{"reason": "notFound", ...}]}}`).
- Secret Manager v1 (`/secretmanager/v1/...`): secrets, versions (add, access), IAM policy.
- IAM v1 (`/iam/v1/...`): service accounts.
- Resource Manager v1 (`/cloudresourcemanager/v1/...`): the project (gcloud looks it up
  for some commands).
- The instance metadata server (`/computeMetadata/v1/...`, `Metadata-Flavor: Google`
  required), and a videobridge's private REST API (`/colibri/stats`, `/colibri/shutdown`:
  after a graceful shutdown each stats request shows one conference fewer), for the
  tests of the guest scripts.

Every request is recorded (method, path, query, headers, body) in REQUESTS. A test can
make the next insert of a collection fail with a quota error (`inject_quota_error`), as
Compute Engine reports one: an Operation that is DONE with `error.errors[0].code ==
"QUOTA_EXCEEDED"` and no resource made.

Run as a program it prints `PORT` and serves until killed; tests import it and call
`start()`.
"""

import base64
import copy
import itertools
import json
import re
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
REQUESTS = []  # every request seen: dict(method, path, query, headers, body)
STORE = {}  # resource path (below /compute/v1/, /secretmanager/v1/, ...) -> resource
OPERATIONS = {}
FAULTS = []  # dict(method, collection_suffix, kind, message)
SERIAL = {}  # instance path -> serial console text
BANNER_ON_BOOT = True  # whether a new instance's console shows meet-agent's status line
METADATA = {"attributes": {}, "token": "ya29.standin-instance-token"}
COLIBRI = {"conferences": 0, "graceful": False}
IDS = itertools.count(1000000000000000001)
PROJECT_NUMBER = "123456789012"
BASE = {"url": "http://127.0.0.1:0"}
NOW = "2026-01-01T00:00:00.000-00:00"

# Collections whose resources live in a zone, a region or globally, by name in the path.
KINDS = {
    "addresses": "compute#address",
    "firewalls": "compute#firewall",
    "instances": "compute#instance",
    "instanceTemplates": "compute#instanceTemplate",
    "instanceGroupManagers": "compute#instanceGroupManager",
    "autoscalers": "compute#autoscaler",
    "images": "compute#image",
    "subnetworks": "compute#subnetwork",
    "networks": "compute#network",
    "zones": "compute#zone",
    "regions": "compute#region",
}


def reset(project="standin-project", region="europe-west3", zones=("a", "b", "c")):
    """Empties the store and makes the project, its region, zones, default network and
    subnet, and an image in family ryo-jitsi-debian12."""
    with LOCK:
        REQUESTS.clear()
        STORE.clear()
        OPERATIONS.clear()
        FAULTS.clear()
        SERIAL.clear()
        global BANNER_ON_BOOT
        BANNER_ON_BOOT = True
        METADATA["attributes"] = {}
        COLIBRI.update(conferences=0, graceful=False)
        p = f"projects/{project}"
        zone_names = [f"{region}-{z}" for z in zones]
        _put(f"compute/v1/{p}", {"kind": "compute#project", "name": project,
                                 "id": PROJECT_NUMBER, "commonInstanceMetadata": {"items": []}})
        _put(f"compute/v1/{p}/regions/{region}", {
            "name": region, "status": "UP",
            "zones": [_link(f"compute/v1/{p}/zones/{z}") for z in zone_names]})
        for z in zone_names:
            _put(f"compute/v1/{p}/zones/{z}", {"name": z, "status": "UP",
                                               "region": _link(f"compute/v1/{p}/regions/{region}")})
        _put(f"compute/v1/{p}/global/networks/default", {"name": "default", "autoCreateSubnetworks": True})
        _put(f"compute/v1/{p}/regions/{region}/subnetworks/default", {
            "name": "default", "ipCidrRange": "10.156.0.0/20",
            "network": _link(f"compute/v1/{p}/global/networks/default"),
            "region": _link(f"compute/v1/{p}/regions/{region}")})
        _put(f"compute/v1/{p}/global/images/ryo-jitsi-debian12-20260101", {
            "name": "ryo-jitsi-debian12-20260101", "family": "ryo-jitsi-debian12",
            "status": "READY", "diskSizeGb": "10", "archiveSizeBytes": "1"})
        _put(f"cloudresourcemanager/v1/{p}", {"projectId": project, "projectNumber": PROJECT_NUMBER,
                                              "name": project, "lifecycleState": "ACTIVE"})


def inject_quota_error(collection_suffix, method="POST"):
    """The next `method` on a collection whose path ends with `collection_suffix` (e.g.
    `/instanceGroupManagers`) fails as Compute Engine fails an insert over quota."""
    with LOCK:
        FAULTS.append({"method": method, "suffix": collection_suffix})


def requests_seen():
    with LOCK:
        return list(REQUESTS)


def _link(path):
    return f"{BASE['url']}/{path}"


def _put(path, resource):
    kind = KINDS.get(path.split("/")[-2]) if "/" in path else None
    resource = dict(resource)
    resource.setdefault("kind", kind or "compute#resource")
    if path.startswith("compute/"):
        resource.setdefault("id", str(next(IDS)))
        resource.setdefault("creationTimestamp", NOW)
        resource["selfLink"] = _link(path)
    STORE[path] = resource
    return resource


def _error(code, message, reason, status):
    return code, {"error": {"code": code, "message": message, "status": status,
                            "errors": [{"message": message, "domain": "global", "reason": reason}]}}


def _not_found(path):
    what = path.split("/v1/", 1)[-1]
    return _error(404, f"The resource '{what}' was not found", "notFound", "NOT_FOUND")


def _scope_of(path):
    """compute/v1/projects/P/zones/Z/instances -> ('zone', link of zones/Z)."""
    m = re.match(r"(compute/v1/projects/[^/]+)/(zones|regions)/([^/]+)/", path + "/")
    if m:
        return ("zone" if m.group(2) == "zones" else "region"), _link(f"{m.group(1)}/{m.group(2)}/{m.group(3)}")
    return None, None


def _operation(collection_path, target_path, op_type, error=None):
    name = f"operation-{next(IDS)}"
    scope, scope_link = _scope_of(collection_path)
    base = re.match(r"(compute/v1/projects/[^/]+(?:/(?:zones|regions)/[^/]+)?)", collection_path).group(1)
    if scope is None:
        base += "/global"
    op_path = f"{base}/operations/{name}"
    op = {
        "kind": "compute#operation", "id": str(next(IDS)), "name": name,
        "operationType": op_type, "targetLink": _link(target_path),
        "targetId": str(STORE.get(target_path, {}).get("id", next(IDS))),
        "status": "DONE", "user": "standin@example.org", "progress": 100,
        "insertTime": NOW, "startTime": NOW, "endTime": NOW, "selfLink": _link(op_path),
    }
    if scope:
        op[scope] = scope_link
    if error:
        op["error"] = {"errors": [error]}
        op["httpErrorStatusCode"] = 403
        op["httpErrorMessage"] = "FORBIDDEN"
    OPERATIONS[op_path] = op
    return op


def _fingerprint():
    """Fingerprints are bytes in the API: base64 in JSON (gcloud decodes them)."""
    return base64.b64encode(next(IDS).to_bytes(8, "big")).decode()


def _merge_labels(resource, body):
    labels = dict(body.get("labels") or {})
    resource["labels"] = labels
    resource["labelFingerprint"] = _fingerprint()


def _compute(method, path, query, body):
    # Operations: GET and wait answer the stored, finished operation.
    m = re.match(r"(.*/operations/[^/]+)(/wait)?$", path)
    if m:
        op = OPERATIONS.get(m.group(1))
        return (200, op) if op else _not_found(path)
    # The image family resolves to its newest image.
    m = re.match(r"(compute/v1/projects/[^/]+/global/images)/family/([^/]+)$", path)
    if m and method == "GET":
        images = [r for p, r in STORE.items() if p.startswith(m.group(1) + "/") and r.get("family") == m.group(2)]
        return (200, images[-1]) if images else _not_found(path)
    # Aggregated lists: {"items": {"zones/Z": {"instances": [...]}}}.
    m = re.match(r"compute/v1/projects/([^/]+)/aggregated/([^/]+)$", path)
    if m and method == "GET":
        coll = m.group(2)
        items = {}
        for p, r in STORE.items():
            mm = re.match(rf"compute/v1/projects/{m.group(1)}/((?:zones|regions)/[^/]+)/{coll}/[^/]+$", p)
            if mm:
                items.setdefault(mm.group(1), {coll: []})[coll].append(r)
            elif re.match(rf"compute/v1/projects/{m.group(1)}/global/{coll}/[^/]+$", p):
                items.setdefault("global", {coll: []})[coll].append(r)
        return 200, {"kind": f"compute#{coll}AggregatedList", "id": path, "items": items, "selfLink": _link(path)}
    m = re.match(r"(compute/v1/projects/[^/]+/(?:(?:zones|regions)/[^/]+|global))/([A-Za-z]+)$", path)
    if m is None:
        m = re.match(r"(compute/v1/projects/[^/]+)/(regions|zones)$", path)
    if m:
        collection = m.group(2)
        if method == "GET":
            items = [r for p, r in STORE.items()
                     if p.startswith(path + "/") and p.count("/") == path.count("/") + 1]
            return 200, {"kind": KINDS.get(collection, "compute#resource") + "List", "id": path,
                         "items": items, "selfLink": _link(path)}
        if method == "POST":
            name = body.get("name")
            target = f"{path}/{name}"
            for fault in FAULTS:
                if fault["method"] == method and path.endswith(fault["suffix"]):
                    FAULTS.remove(fault)
                    scope = path.split("/")[-2]
                    return 200, _operation(path, target, "insert", {
                        "code": "QUOTA_EXCEEDED",
                        "message": f"Quota 'INSTANCE_GROUP_MANAGERS' exceeded.  Limit: 0.0 in region {scope}.",
                        "errorDetails": [{"quotaInfo": {"metricName": "compute.googleapis.com/instance_group_managers",
                                                        "limitName": "INSTANCE-GROUP-MANAGERS-per-project-region",
                                                        "limit": 0}}]})
            if target in STORE:
                return _error(409, f"The resource '{target.split('/v1/', 1)[1]}' already exists",
                              "alreadyExists", "ALREADY_EXISTS")
            resource = copy.deepcopy(body)
            scope, scope_link = _scope_of(path)
            if scope:
                resource[scope] = scope_link
            if collection == "addresses":
                resource.setdefault("address", f"203.0.113.{len(STORE) % 200 + 10}")
                resource["status"] = "RESERVED"
                resource.setdefault("addressType", "EXTERNAL")
            if collection == "instances":
                resource["status"] = "RUNNING"
                for nic in resource.get("networkInterfaces", []):
                    nic.setdefault("networkIP", "10.156.0.2")
                    for ac in nic.get("accessConfigs", []):
                        ac.setdefault("natIP", "203.0.113.99")
                resource.setdefault("metadata", {}).setdefault("fingerprint", _fingerprint())
                # What meet-agent prints on the console at the end of its run (the banner:
                # `ryo-jitsi  https://DOMAIN/  HEALTH`), for the domain of the instance's
                # meet-agent-config; nothing when a test turned the first run off.
                config = next((i.get("value", "") for i in resource.get("metadata", {}).get("items", [])
                               if i.get("key") == "meet-agent-config"), "")
                domain = re.search(r'domain\s*=\s*"([^"]+)"', config)
                SERIAL[target] = "[  OK  ] Started meet-agent.service (stand-in serial console)\r\n"
                if BANNER_ON_BOOT and domain:
                    SERIAL[target] += (f"ryo-jitsi  https://{domain.group(1)}/  healthy\r\n"
                                       "The whole report: meet-agent status\r\n")
            if collection == "instanceGroupManagers":
                resource["status"] = {"isStable": True}
                resource["currentActions"] = {"none": resource.get("targetSize", 0)}
                resource["fingerprint"] = _fingerprint()
            if collection == "autoscalers":
                igm = resource.get("target", "")
                igm_path = igm.split(BASE["url"] + "/", 1)[-1]
                if igm_path in STORE:
                    STORE[igm_path].setdefault("status", {})["autoscaler"] = _link(target)
                resource["status"] = "ACTIVE"
            if "labels" in body:
                _merge_labels(resource, body)
            _put(target, resource)
            return 200, _operation(path, target, "insert")
    m = re.match(r"(compute/v1/projects/[^/]+/(?:(?:zones|regions)/[^/]+|global)/[A-Za-z]+/[^/]+)(?:/([A-Za-z]+))?$", path)
    if m is None:
        m = re.match(r"(compute/v1/projects/[^/]+(?:/(?:regions|zones)/[^/]+)?)(?:/([A-Za-z]+))?$", path)
    if m:
        target, action = m.group(1), m.group(2)
        resource = STORE.get(target)
        if resource is None:
            return _not_found(target)
        if method == "GET" and action is None:
            return 200, resource
        if method == "GET" and action == "serialPort":
            text = SERIAL.get(target, "")
            start = min(int(query.get("start", ["0"])[0] or 0), len(text))
            return 200, {"kind": "compute#serialPortOutput", "contents": text[start:],
                         "start": str(start), "next": str(len(text)), "selfLink": _link(path)}
        if method == "DELETE" and action is None:
            del STORE[target]
            return 200, _operation(target.rsplit("/", 2)[0] + "/" + target.split("/")[-2], target, "delete")
        if method == "POST" and action == "setLabels":
            _merge_labels(resource, body)
            return 200, _operation(target, target, "setLabels")
        if method == "POST" and action == "setMetadata":
            resource["metadata"] = dict(body, fingerprint=_fingerprint())
            return 200, _operation(target, target, "setMetadata")
        if method == "POST" and action == "setInstanceTemplate":
            resource["instanceTemplate"] = body.get("instanceTemplate")
            return 200, _operation(target, target, "setInstanceTemplate")
        if method == "POST" and action == "listManagedInstances":
            return 200, {"managedInstances": []}
        if method in ("PATCH", "PUT") and action is None:
            resource.update(body)
            return 200, _operation(target, target, "patch")
    # Autoscaler updates name the autoscaler in the query: PATCH .../autoscalers?autoscaler=N
    m = re.match(r"(compute/v1/projects/[^/]+/(?:zones|regions)/[^/]+/autoscalers)$", path)
    if m and method in ("PATCH", "PUT"):
        name = query.get("autoscaler", [body.get("name")])[0]
        target = f"{path}/{name}"
        if target not in STORE:
            return _not_found(target)
        STORE[target].update(body)
        return 200, _operation(path, target, "compute.autoscalers.update")
    return _error(501, f"the stand-in does not implement {method} {path}", "notImplemented", "UNIMPLEMENTED")


def _secretmanager(method, path, query, body):
    m = re.match(r"secretmanager/v1/projects/([^/]+)/secrets$", path)
    if m:
        if method == "GET":
            secrets = [r for p, r in STORE.items() if p.startswith(path + "/") and p.count("/") == path.count("/") + 1]
            return 200, {"secrets": secrets, "totalSize": len(secrets)} if secrets else {}
        if method == "POST":
            sid = query.get("secretId", [""])[0]
            target = f"{path}/{sid}"
            if target in STORE:
                return _error(409, f"Secret [projects/{PROJECT_NUMBER}/secrets/{sid}] already exists.",
                              "alreadyExists", "ALREADY_EXISTS")
            secret = dict(body, name=f"projects/{PROJECT_NUMBER}/secrets/{sid}", createTime=NOW, etag='"1"')
            STORE[target] = secret
            STORE[target + ":iam"] = {"version": 1, "etag": "BwAAAAA="}
            return 200, secret
    m = re.match(r"(secretmanager/v1/projects/([^/]+)/secrets/([^/:]+))(?::([A-Za-z]+))?$", path)
    if m:
        target, action = m.group(1), m.group(4)
        secret = STORE.get(target)
        if secret is None:
            return _error(404, f"Secret [projects/{PROJECT_NUMBER}/secrets/{m.group(3)}] not found.",
                          "notFound", "NOT_FOUND")
        if method == "GET" and action is None:
            return 200, secret
        if method == "DELETE" and action is None:
            for p in [p for p in STORE if p == target or p.startswith(target + "/") or p.startswith(target + ":")]:
                del STORE[p]
            return 200, {}
        if method == "PATCH" and action is None:
            secret.update({k: v for k, v in body.items() if k != "name"})
            return 200, secret
        if action == "getIamPolicy":
            return 200, STORE[target + ":iam"]
        if action == "setIamPolicy" and method == "POST":
            policy = dict(body.get("policy", {}))
            policy["etag"] = base64.b64encode(str(next(IDS)).encode()).decode()
            STORE[target + ":iam"] = policy
            return 200, policy
        if action == "addVersion" and method == "POST":
            n = 1 + sum(1 for p in STORE if p.startswith(target + "/versions/"))
            version = {"name": f"{secret['name']}/versions/{n}", "createTime": NOW, "state": "ENABLED",
                       "_payload": body.get("payload", {}).get("data", "")}
            STORE[f"{target}/versions/{n}"] = version
            return 200, {k: v for k, v in version.items() if not k.startswith("_")}
    m = re.match(r"(secretmanager/v1/projects/[^/]+/secrets/[^/]+)/versions(?:/([^/:]+)(?::access)?)?$", path)
    if m and method == "GET":
        target = m.group(1)
        if target not in STORE:
            return _error(404, "Secret not found.", "notFound", "NOT_FOUND")
        versions = sorted(((p, r) for p, r in STORE.items() if p.startswith(target + "/versions/")),
                          key=lambda pr: int(pr[0].rsplit("/", 1)[1]))
        if m.group(2) is None:
            return 200, {"versions": [{k: v for k, v in r.items() if not k.startswith("_")} for _, r in versions][::-1],
                         "totalSize": len(versions)}
        wanted = versions[-1:] if m.group(2) == "latest" else [(p, r) for p, r in versions if p.endswith("/" + m.group(2))]
        if not wanted:
            return _error(404, f"Secret Version [{target.split('/v1/', 1)[1]}/versions/{m.group(2)}] not found.",
                          "notFound", "NOT_FOUND")
        _, version = wanted[0]
        if path.endswith(":access"):
            return 200, {"name": version["name"], "payload": {"data": version["_payload"]}}
        return 200, {k: v for k, v in version.items() if not k.startswith("_")}
    return _error(501, f"the stand-in does not implement {method} {path}", "notImplemented", "UNIMPLEMENTED")


def _iam(method, path, query, body):
    m = re.match(r"iam/v1/projects/([^/]+)/serviceAccounts$", path)
    if m:
        if method == "GET":
            accounts = [r for p, r in STORE.items() if p.startswith(path + "/")]
            return 200, {"accounts": accounts} if accounts else {}
        if method == "POST":
            email = f"{body['accountId']}@{m.group(1)}.iam.gserviceaccount.com"
            target = f"{path}/{email}"
            if target in STORE:
                return _error(409, f"Service account {body['accountId']} already exists within project projects/{m.group(1)}.",
                              "alreadyExists", "ALREADY_EXISTS")
            sa = dict(body.get("serviceAccount", {}), name=f"projects/{m.group(1)}/serviceAccounts/{email}",
                      email=email, projectId=m.group(1), uniqueId=str(next(IDS)), etag="MDEwMjE5MjA=")
            STORE[target] = sa
            return 200, sa
    m = re.match(r"iam/v1/projects/([^/]+)/serviceAccounts/([^/:]+)$", path)
    if m and m.group(1) == "-":
        # "-": the project the account's email names, as IAM reads it.
        project = m.group(2).split("@", 1)[-1].split(".", 1)[0]
        path = f"iam/v1/projects/{project}/serviceAccounts/{m.group(2)}"
    m = re.match(r"(iam/v1/projects/[^/]+/serviceAccounts/[^/:]+)$", path)
    if m:
        sa = STORE.get(m.group(1))
        if sa is None:
            return _error(404, f"Unknown service account {path.rsplit('/', 1)[1]}", "notFound", "NOT_FOUND")
        if method == "GET":
            return 200, sa
        if method == "DELETE":
            del STORE[m.group(1)]
            return 200, {}
    return _error(501, f"the stand-in does not implement {method} {path}", "notImplemented", "UNIMPLEMENTED")


def _resourcemanager(method, path, query, body):
    resource = STORE.get(path)
    if resource is not None and method == "GET":
        return 200, resource
    return _error(403, "The caller does not have permission", "forbidden", "PERMISSION_DENIED")


def _metadata(method, path, headers):
    """The instance metadata server, for the guest scripts' tests."""
    if headers.get("Metadata-Flavor") != "Google":
        return 403, "Missing Metadata-Flavor:Google header.\n"
    rest = path[len("computeMetadata/v1/"):]
    if rest == "instance/service-accounts/default/token":
        return 200, {"access_token": METADATA["token"], "expires_in": 3599, "token_type": "Bearer"}
    if rest == "project/project-id":
        return 200, "standin-project"
    if rest.startswith("instance/attributes/"):
        value = METADATA["attributes"].get(rest.split("/", 2)[2])
        return (200, value) if value is not None else (404, "not found\n")
    return 404, "not found\n"


def _colibri(method, path):
    if path == "colibri/shutdown" and method == "POST":
        COLIBRI["graceful"] = True
        return 200, {}
    if path == "colibri/stats" and method == "GET":
        if COLIBRI["graceful"] and COLIBRI["conferences"] > 0:
            COLIBRI["conferences"] -= 1
        return 200, {"conferences": COLIBRI["conferences"], "graceful_shutdown": COLIBRI["graceful"],
                     "stress_level": 0.1}
    return 404, {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _serve(self):
        url = urllib.parse.urlsplit(self.path)
        path = url.path.lstrip("/")
        query = urllib.parse.parse_qs(url.query)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            body = {}
        with LOCK:
            REQUESTS.append({"method": self.command, "path": url.path, "query": url.query,
                             "headers": dict(self.headers.items()), "body": raw.decode("utf-8", "replace")})
            if path.startswith("compute/v1/"):
                code, answer = _compute(self.command, path, query, body)
            elif path.startswith("secretmanager/v1/"):
                code, answer = _secretmanager(self.command, path, query, body)
            elif path.startswith("iam/v1/"):
                code, answer = _iam(self.command, path, query, body)
            elif path.startswith("cloudresourcemanager/v1/"):
                code, answer = _resourcemanager(self.command, path, query, body)
            elif path.startswith("colibri/"):
                code, answer = _colibri(self.command, path)
            elif path.startswith("computeMetadata/v1/"):
                code, answer = _metadata(self.command, path, self.headers)
            else:
                code, answer = _error(404, f"no such API in the stand-in: {url.path}", "notFound", "NOT_FOUND")
        if isinstance(answer, str):
            data, ctype = answer.encode(), "text/plain"
        else:
            data, ctype = json.dumps(answer).encode(), "application/json; charset=UTF-8"
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        if path.startswith("computeMetadata/"):
            self.send_header("Metadata-Flavor", "Google")
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve


def start(port=0):
    """Starts the stand-in on 127.0.0.1 in a thread; returns the server (its port is
    server.server_port)."""
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    BASE["url"] = f"http://127.0.0.1:{server.server_port}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


if __name__ == "__main__":
    srv = start(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    reset()
    print(srv.server_port, flush=True)
    while True:
        time.sleep(3600)
