#!/usr/bin/env python3
"""deploy/gcp/ryo-jitsi against a stand-in of Google's APIs (gce_api_standin.py), with the
real gcloud. Run through tests/gcp/run, which puts this process (stand-in and gcloud alike)
into a private network namespace with only loopback: a call that is not pointed at the
stand-in fails instead of reaching Google.

What this proves, and what it does not: the script's calls, their order, idempotence,
labels, what `down` deletes, and where secrets travel, as gcloud 528 turns them into
REST requests. Google's real answers (quota, IAM propagation, the guest environment
running the scripts, zonal DNS) are only as good as the stand-in's imitation of them.
"""

import base64
import json
import os
import re
import stat
import subprocess
import time
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SCRIPT = os.path.join(ROOT, "deploy", "gcp", "ryo-jitsi")
GUEST = os.path.join(ROOT, "deploy", "gcp", "guest")
sys.path.insert(0, HERE)
import gce_api_standin as standin  # noqa: E402

PROJECT = "standin-project"
REGION = "europe-west3"
DOMAIN = "meet.example.org"
# What must never appear in a URL, a query string, a label or a command line.
JOIN_TOKEN = "ryojvb1.H4sIAAAAAAAA_standin-join-token-NOT-FOR-URLS"
DNS_PASSWORD = "dns-password-NOT-FOR-URLS"
TLS_KEY_MARK = "standin-private-key-NOT-FOR-URLS"
SITE = f"""
[tls.acme]
enabled = true

[[dns.update]]
type = "url"
url = "https://dyn.example.net/update?hostname={{domain}}&myip={{ip}}"
username = "meet"
password = "{DNS_PASSWORD}"

[tls]
key = \"\"\"
-----BEGIN PRIVATE KEY-----
{TLS_KEY_MARK}
-----END PRIVATE KEY-----
\"\"\"
"""
MUTATING = ("POST", "PUT", "PATCH", "DELETE")
READ_ONLY_POSTS = (":getIamPolicy", "/wait")


def mutating(requests):
    return [r for r in requests
            if r["method"] in MUTATING and not r["path"].endswith(READ_ONLY_POSTS)
            and not r["path"].startswith("/computeMetadata/")]


def only_loopback():
    """This process's network namespace has no interface but loopback (/proc/net/dev is
    per namespace; /sys/class/net may still show the host's)."""
    with open("/proc/net/dev") as f:
        names = [line.split(":", 1)[0].strip() for line in f.readlines()[2:]]
    return names == ["lo"]


class GcpDeploy(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not only_loopback():
            raise unittest.SkipTest("run through tests/gcp/run (a private network namespace), never on the host's network")
        cls.server = standin.start()
        cls.base = f"http://127.0.0.1:{cls.server.server_port}"
        cls.tmp = tempfile.TemporaryDirectory(prefix="ryo-gcp-test-")
        tmp = cls.tmp.name
        token_file = os.path.join(tmp, "access-token")
        with open(token_file, "w") as f:
            f.write("ya29.standin-user-token\n")
        cls.argv_log = os.path.join(tmp, "gcloud-argv.log")
        # gcloud through a wrapper that writes down every command line it is given.
        cls.wrapper = os.path.join(tmp, "gcloud")
        with open(cls.wrapper, "w") as f:
            f.write(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{cls.argv_log}"\nexec /usr/bin/env gcloud "$@"\n')
        os.chmod(cls.wrapper, 0o755)
        cls.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": tmp,
            "LANG": "C.UTF-8",
            "GCLOUD": cls.wrapper,
            "CLOUDSDK_CONFIG": os.path.join(tmp, "gcloud-config"),
            "CLOUDSDK_CORE_PROJECT": PROJECT,
            "CLOUDSDK_CORE_DISABLE_PROMPTS": "1",
            "CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK": "1",
            "CLOUDSDK_CORE_DISABLE_USAGE_REPORTING": "1",
            "CLOUDSDK_AUTH_ACCESS_TOKEN_FILE": token_file,
            # Were gcloud to look for the metadata server (credentials, "am I on GCE"),
            # it would ask the stand-in, which records it: the tests require it never does.
            "GCE_METADATA_ROOT": f"127.0.0.1:{cls.server.server_port}",
            "CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE": f"{cls.base}/compute/v1/",
            "CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER": f"{cls.base}/secretmanager/",
            "CLOUDSDK_API_ENDPOINT_OVERRIDES_IAM": f"{cls.base}/iam/",
            "CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER": f"{cls.base}/cloudresourcemanager/",
            "HTTPS_PROXY": "", "https_proxy": "", "HTTP_PROXY": "", "http_proxy": "",
            "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
        }
        # gcloud asks the metadata server once per configuration folder whether it runs on
        # Compute Engine (project/numeric-project-id) and caches the answer in the folder's
        # `gce` file, whatever the credentials. This machine is no GCE VM: the answer is
        # given beforehand, so that the request log holds only what ryo-jitsi causes and a
        # credentials lookup on the metadata server still shows up in it.
        os.makedirs(cls.env["CLOUDSDK_CONFIG"], exist_ok=True)
        with open(os.path.join(cls.env["CLOUDSDK_CONFIG"], "gce"), "w") as f:
            f.write("False")
        cls.site = os.path.join(tmp, "site.toml")
        with open(cls.site, "w") as f:
            f.write(SITE)

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.tmp.cleanup()

    def setUp(self):
        standin.reset(project=PROJECT, region=REGION)
        open(self.argv_log, "w").close()

    # ------------------------------------------------------------ helpers
    def run_script(self, *args, ok=True):
        proc = subprocess.run([SCRIPT, *args, f"--region={REGION}"], env=self.env, cwd=ROOT,
                              capture_output=True, text=True, timeout=600)
        if ok and proc.returncode != 0:
            self.fail(f"ryo-jitsi {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
        return proc

    def up(self, *extra, ok=True):
        return self.run_script("up", f"--domain={DOMAIN}", f"--config={self.site}", *extra, ok=ok)

    def stored(self, path):
        return standin.STORE.get(path)

    def compute(self, rest):
        return self.stored(f"compute/v1/projects/{PROJECT}/{rest}")

    def made_names(self):
        return sorted(p for p in standin.STORE if not p.startswith(("cloudresourcemanager/",)))

    def assert_no_metadata_server(self):
        asked = [r["path"] for r in standin.requests_seen() if r["path"].startswith("/computeMetadata/")]
        self.assertEqual(asked, [], "gcloud asked the metadata server (it must use the access-token file)")

    def publish_token(self):
        """What the signaling node's startup script does once its first run is done."""
        secret = f"secretmanager/v1/projects/{PROJECT}/secrets/meet-join-token"
        n = 1 + sum(1 for p in standin.STORE if p.startswith(secret + "/versions/"))
        standin.STORE[f"{secret}/versions/{n}"] = {
            "name": f"projects/{standin.PROJECT_NUMBER}/secrets/meet-join-token/versions/{n}",
            "createTime": standin.NOW, "state": "ENABLED",
            "_payload": base64.b64encode(JOIN_TOKEN.encode()).decode()}

    # ------------------------------------------------------------ up
    def test_up_makes_every_resource_with_labels_and_a_second_up_changes_nothing(self):
        self.up()
        address = self.compute(f"regions/{REGION}/addresses/meet-ip")
        self.assertEqual(address["labels"], {"ryo-jitsi-deployment": "meet", "managed-by": "ryo-jitsi"})
        rules = {n: self.compute(f"global/firewalls/meet-{n}") for n in ("web", "turn", "xmpp", "media")}
        for name, rule in rules.items():
            self.assertEqual(rule["description"], "ryo-jitsi deployment meet (deploy/gcp/ryo-jitsi)", name)
        self.assertEqual(rules["xmpp"]["sourceTags"], ["meet-bridge"])
        self.assertNotIn("sourceRanges", rules["xmpp"], "5222 is open to the bridges' tag only")
        self.assertEqual(rules["xmpp"]["targetTags"], ["meet-signaling"])
        self.assertEqual(rules["xmpp"]["allowed"], [{"IPProtocol": "tcp", "ports": ["5222"]}])
        self.assertEqual(rules["media"]["targetTags"], ["meet-bridge"])
        self.assertEqual(rules["media"]["allowed"], [{"IPProtocol": "udp", "ports": ["10000"]}])
        self.assertEqual(sorted(a["IPProtocol"] + ":" + ",".join(a.get("ports", []))
                                for a in rules["web"]["allowed"]), ["tcp:443", "tcp:80"])
        turn = sorted(a["IPProtocol"] + ":" + ",".join(a.get("ports", [])) for a in rules["turn"]["allowed"])
        self.assertEqual(turn, ["tcp:3478", "tcp:5349", "udp:3478", "udp:49152-65535"])

        vm = self.compute(f"zones/{REGION}-b/instances/meet-signaling")
        self.assertEqual(vm["labels"]["ryo-jitsi-deployment"], "meet")
        self.assertEqual(vm["tags"]["items"], ["meet-signaling"])
        self.assertEqual(vm["serviceAccounts"][0]["email"], f"meet-signaling@{PROJECT}.iam.gserviceaccount.com")
        self.assertEqual(vm["networkInterfaces"][0]["accessConfigs"][0]["natIP"], address["address"])
        self.assertTrue(vm["disks"][0]["initializeParams"]["sourceImage"].endswith(
            f"projects/{PROJECT}/global/images/family/ryo-jitsi-debian12")
            or "ryo-jitsi-debian12" in vm["disks"][0]["initializeParams"]["sourceImage"])
        meta = {i["key"]: i["value"] for i in vm["metadata"]["items"]}
        config = meta["meet-agent-config"]
        self.assertIn('role = "signaling"', config)
        self.assertIn(f'domain = "{DOMAIN}"', config)
        self.assertIn('allow_cidrs = ["10.156.0.0/20"]', config)
        self.assertIn("[[dns.update]]", config, "the user's --config is merged in")
        self.assertIn(DNS_PASSWORD, config)
        self.assertEqual(meta["ryo-jitsi-join-secret"], f"projects/{PROJECT}/secrets/meet-join-token")
        self.assertEqual(meta["ryo-jitsi-join-host"], f"meet-signaling.{REGION}-b.c.{PROJECT}.internal")
        self.assertNotIn('/common.sh"', meta["startup-script"], "the guest script is self-contained")
        self.assertIn("auth_header()", meta["startup-script"])

        templates = [r for p, r in standin.STORE.items() if "/instanceTemplates/" in p]
        self.assertEqual(len(templates), 1)
        props = templates[0]["properties"]
        self.assertEqual(props["labels"]["ryo-jitsi-deployment"], "meet")
        self.assertEqual(props["tags"]["items"], ["meet-bridge"])
        self.assertEqual(props["serviceAccounts"][0]["email"], f"meet-bridge@{PROJECT}.iam.gserviceaccount.com")
        bmeta = {i["key"]: i["value"] for i in props["metadata"]["items"]}
        self.assertIn('role = "videobridge"', bmeta["meet-agent-config"])
        self.assertNotIn("join =", bmeta["meet-agent-config"], "the token is not in metadata")
        self.assertNotIn(DNS_PASSWORD, bmeta["meet-agent-config"], "bridges do not get the site's secrets")
        self.assertIn('"graceful-shutdown": true', bmeta["shutdown-script"])

        group = self.compute(f"regions/{REGION}/instanceGroupManagers/meet-bridges")
        self.assertTrue(group["instanceTemplate"].endswith("/" + templates[0]["name"]))
        self.assertEqual(group["targetSize"], 1)
        scalers = [r for p, r in standin.STORE.items() if "/autoscalers/" in p]
        self.assertEqual(len(scalers), 1)
        policy = scalers[0]["autoscalingPolicy"]
        self.assertEqual((policy["minNumReplicas"], policy["maxNumReplicas"]), (1, 4))
        self.assertEqual(policy["cpuUtilization"]["utilizationTarget"], 0.6)

        secret = self.stored(f"secretmanager/v1/projects/{PROJECT}/secrets/meet-join-token")
        self.assertEqual(secret["labels"], {"ryo-jitsi-deployment": "meet", "managed-by": "ryo-jitsi"})
        iam = self.stored(f"secretmanager/v1/projects/{PROJECT}/secrets/meet-join-token:iam")
        bindings = {(b["role"], m) for b in iam["bindings"] for m in b["members"]}
        self.assertEqual(bindings, {
            ("roles/secretmanager.secretAccessor", f"serviceAccount:meet-signaling@{PROJECT}.iam.gserviceaccount.com"),
            ("roles/secretmanager.secretVersionAdder", f"serviceAccount:meet-signaling@{PROJECT}.iam.gserviceaccount.com"),
            ("roles/secretmanager.secretAccessor", f"serviceAccount:meet-bridge@{PROJECT}.iam.gserviceaccount.com"),
        })
        self.assertEqual(sum(1 for p in standin.STORE if "/versions/" in p), 0, "up makes no token")
        for sa in ("meet-signaling", "meet-bridge"):
            account = self.stored(f"iam/v1/projects/{PROJECT}/serviceAccounts/{sa}@{PROJECT}.iam.gserviceaccount.com")
            self.assertEqual(account["description"], "ryo-jitsi deployment meet (deploy/gcp/ryo-jitsi)")

        before = json.dumps(standin.STORE, sort_keys=True)
        first = len(standin.requests_seen())
        second = self.up()
        again = standin.requests_seen()[first:]
        self.assertEqual(mutating(again), [], "the second up made a change")
        self.assertEqual(json.dumps(standin.STORE, sort_keys=True), before)
        self.assertIn("exists", second.stderr)
        self.assert_no_metadata_server()

        # A changed configuration and bridge range change just those.
        first = len(standin.requests_seen())
        with open(self.site, "a") as f:
            f.write("\n[jitsi]\nauth = \"secure-domain\"\n")
        try:
            self.up("--bridges=2:6")
        finally:
            with open(self.site, "w") as f:
                f.write(SITE)
        changed = [(r["method"], re.sub(r"\?.*", "", r["path"]).rsplit("/", 2)[-2:]) for r in mutating(standin.requests_seen()[first:])]
        self.assertEqual(changed, [("POST", ["meet-signaling", "setMetadata"]), ("PUT", ["europe-west3", "autoscalers"])],
                         changed)
        vm = self.compute(f"zones/{REGION}-b/instances/meet-signaling")
        config = {i["key"]: i["value"] for i in vm["metadata"]["items"]}["meet-agent-config"]
        self.assertIn('auth = "secure-domain"', config)
        scaler = [r for p, r in standin.STORE.items() if "/autoscalers/" in p][0]
        self.assertEqual(scaler["autoscalingPolicy"]["maxNumReplicas"], 6)

    # ------------------------------------------------------------ down
    def seed_foreign_resources(self):
        """Things in the same project that are not this deployment's."""
        p = f"compute/v1/projects/{PROJECT}"
        standin._put(f"{p}/zones/{REGION}-b/instances/web-1", {"name": "web-1", "labels": {"team": "web"}})
        standin._put(f"{p}/global/firewalls/default-allow-ssh", {"name": "default-allow-ssh"})
        standin._put(f"{p}/regions/{REGION}/addresses/other-ip",
                     {"name": "other-ip", "address": "198.51.100.7", "labels": {"ryo-jitsi-deployment": "other"}})
        # A template whose name looks like ours but that this script did not make.
        standin._put(f"{p}/global/instanceTemplates/meet-bridge-handmade",
                     {"name": "meet-bridge-handmade", "properties": {}})
        standin.STORE[f"secretmanager/v1/projects/{PROJECT}/secrets/other-secret"] = {
            "name": f"projects/{standin.PROJECT_NUMBER}/secrets/other-secret"}

    def test_down_deletes_only_what_carries_the_labels_and_keeps_the_address_for_the_next_up(self):
        self.seed_foreign_resources()
        foreign = {p for p in standin.STORE}
        self.up()
        self.publish_token()
        self.run_script("down")
        left = set(standin.STORE) - foreign
        self.assertEqual(sorted(left), [f"compute/v1/projects/{PROJECT}/regions/{REGION}/addresses/meet-ip"],
                         "down left more than the address")
        self.assertTrue(foreign <= set(standin.STORE), f"down deleted {sorted(foreign - set(standin.STORE))}")
        deletes = [r["path"] for r in standin.requests_seen() if r["method"] == "DELETE"]
        self.assertFalse([d for d in deletes if "web-1" in d or "other" in d or "handmade" in d or "default-allow" in d])

        first = len(standin.requests_seen())
        self.run_script("down")  # a second down has nothing left to do
        self.assertEqual(mutating(standin.requests_seen()[first:]), [])

        # Up again: the kept address is the new signaling node's.
        ip = self.compute(f"regions/{REGION}/addresses/meet-ip")["address"]
        self.up()
        vm = self.compute(f"zones/{REGION}-b/instances/meet-signaling")
        self.assertEqual(vm["networkInterfaces"][0]["accessConfigs"][0]["natIP"], ip)

        self.run_script("down", "--release-address")
        self.assertNotIn(f"compute/v1/projects/{PROJECT}/regions/{REGION}/addresses/meet-ip", standin.STORE)
        self.assertIn(f"compute/v1/projects/{PROJECT}/regions/{REGION}/addresses/other-ip", standin.STORE)
        self.assertTrue(foreign <= set(standin.STORE))
        self.assert_no_metadata_server()

    # ------------------------------------------------------------ dry run
    def test_dry_run_prints_every_call_and_makes_no_request(self):
        up = self.up("--dry-run")
        down = self.run_script("down", "--dry-run", "--release-address")
        status = self.run_script("status", "--dry-run")
        self.assertEqual(standin.requests_seen(), [], "a dry run reached the API")
        with open(self.argv_log) as f:
            self.assertEqual(f.read(), "", "a dry run ran gcloud")
        for call in ("compute addresses create meet-ip", "compute firewall-rules create meet-xmpp",
                     "iam service-accounts create meet-bridge", "secrets create meet-join-token",
                     "secrets set-iam-policy meet-join-token", "compute instances create meet-signaling",
                     "compute instance-templates create meet-bridge-", "compute instance-groups managed create meet-bridges",
                     "compute instance-groups managed set-autoscaling meet-bridges"):
            self.assertIn("gcloud " + call, up.stdout)
        self.assertIn("gcloud compute addresses describe meet-ip", down.stdout)
        self.assertIn("gcloud compute ssh meet-signaling", status.stdout)

    # ------------------------------------------------------------ failure half-way
    def test_a_quota_error_on_the_group_leaves_a_state_a_second_up_completes(self):
        standin.inject_quota_error("/instanceGroupManagers")
        failed = self.up(ok=False)
        self.assertEqual(failed.returncode, 1)
        self.assertIn("Quota 'INSTANCE_GROUP_MANAGERS' exceeded", failed.stderr)
        self.assertIn("gcloud compute instance-groups managed create meet-bridges failed", failed.stderr)
        self.assertIn("run up again", failed.stderr)
        self.assertIsNone(self.compute(f"regions/{REGION}/instanceGroupManagers/meet-bridges"))
        self.assertIsNotNone(self.compute(f"zones/{REGION}-b/instances/meet-signaling"))
        first = len(standin.requests_seen())
        self.up()
        made = [r["path"].split("?")[0].rsplit("/", 1)[-1] for r in mutating(standin.requests_seen()[first:])]
        self.assertEqual(made, ["instanceGroupManagers", "autoscalers"], "the second up redid more than the group")
        self.assertIsNotNone(self.compute(f"regions/{REGION}/instanceGroupManagers/meet-bridges"))

    # ------------------------------------------------------------ ready
    def test_up_waits_for_meet_agents_status_line_on_the_console_then_prints_the_url(self):
        proc = self.up()
        self.assertIn(f"Ready: https://{DOMAIN}/ (healthy", proc.stdout)
        reads = [r for r in standin.requests_seen() if r["path"].endswith("/serialPort")]
        self.assertTrue(reads, "up did not read the serial console")

    def test_up_stops_waiting_at_its_bound_and_says_where_to_look(self):
        standin.BANNER_ON_BOOT = False
        started = time.monotonic()
        proc = self.up("--wait=3")
        self.assertLess(time.monotonic() - started, 120)
        self.assertNotIn("Ready:", proc.stdout)
        self.assertIn("has not reported on meet-signaling's serial console within 3 s", proc.stderr)
        reads = [r for r in standin.requests_seen() if r["path"].endswith("/serialPort")]
        self.assertGreaterEqual(len(reads), 1)
        # Later reads start where the last one ended (gcloud's --start).
        self.assertTrue(all("start=" in r["query"] for r in reads), [r["query"] for r in reads])

    # ------------------------------------------------------------ secrets
    def test_status_and_no_url_query_label_or_command_line_carries_the_token_or_a_password(self):
        self.up()
        out = self.run_script("status", "--serial").stdout
        self.assertIn("meet-ip 203.0.113.", out)
        self.assertIn("no token yet", out)
        self.assertIn("meet-bridges: 1 bridge(s)", out)
        self.assertIn("meet-signaling RUNNING", out)
        self.assertIn(f"ryo-jitsi  https://{DOMAIN}/  healthy", out, "the serial console's status line")
        self.publish_token()
        self.up()
        out = self.run_script("status", "--serial").stdout
        self.assertIn("token published", out)
        self.assertNotIn(JOIN_TOKEN, out)
        self.run_script("down", "--release-address")
        secrets = (JOIN_TOKEN, DNS_PASSWORD, TLS_KEY_MARK, base64.b64encode(JOIN_TOKEN.encode()).decode())
        requests = standin.requests_seen()
        self.assertGreater(len(requests), 50)
        for r in requests:
            for s in secrets:
                self.assertNotIn(s, r["path"] + "?" + r["query"], f"{r['method']} {r['path']}")
                for k, v in r["headers"].items():
                    self.assertNotIn(s, v, f"header {k} of {r['path']}")
        for p, resource in list(standin.STORE.items()):
            for s in secrets:
                self.assertNotIn(s, json.dumps(resource.get("labels", {})), p)
        # The password reached the signaling VM's metadata (instances.insert or
        # setMetadata) in a request body only.
        bodies = [r for r in requests if DNS_PASSWORD in r["body"]]
        self.assertTrue(bodies and all(r["path"].endswith(("/instances", "/setMetadata")) for r in bodies),
                        [r["path"] for r in bodies])
        self.assertFalse([r for r in requests if JOIN_TOKEN in r["body"]], "the token went through this machine")
        with open(self.argv_log) as f:
            argv = f.read()
        self.assertIn("--metadata-from-file", argv)
        for s in secrets:
            self.assertNotIn(s, argv, "a secret was on a gcloud command line")
        self.assert_no_metadata_server()


class GuestScripts(unittest.TestCase):
    """The scripts the VMs run, against the stand-in's metadata server, Secret Manager and
    colibri API, with a stand-in meet-agent."""

    @classmethod
    def setUpClass(cls):
        if not only_loopback():
            raise unittest.SkipTest("run through tests/gcp/run")
        cls.server = standin.start()
        cls.base = f"http://127.0.0.1:{cls.server.server_port}"

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()

    def setUp(self):
        standin.reset(project=PROJECT, region=REGION)
        self.tmp = tempfile.TemporaryDirectory(prefix="ryo-gcp-guest-")
        self.addCleanup(self.tmp.cleanup)
        d = self.tmp.name
        self.calls = os.path.join(d, "meet-agent.calls")
        self.agent = os.path.join(d, "meet-agent")
        self.token_ready = os.path.join(d, "token-ready")
        with open(self.agent, "w") as f:
            f.write(f"""#!/bin/sh
echo "$*" >> "{self.calls}"
case "$1 $2" in
  "bridge token")
    [ -e "{self.token_ready}" ] || {{ echo "/etc/meet-agent/xmpp/auth.crt is missing: run meet-agent run first" >&2; exit 1; }}
    echo "{JOIN_TOKEN}" ;;
esac
""")
        os.chmod(self.agent, 0o755)
        self.config_dir = os.path.join(d, "config.d")
        standin.METADATA["attributes"] = {
            "ryo-jitsi-join-secret": f"projects/{PROJECT}/secrets/meet-join-token",
            "ryo-jitsi-join-host": f"meet-signaling.{REGION}-b.c.{PROJECT}.internal"}
        standin.STORE[f"secretmanager/v1/projects/{PROJECT}/secrets/meet-join-token"] = {
            "name": f"projects/{standin.PROJECT_NUMBER}/secrets/meet-join-token"}
        self.env = dict(os.environ, RYO_METADATA_URL=f"{self.base}/computeMetadata/v1",
                        RYO_SECRETMANAGER_URL=f"{self.base}/secretmanager/v1", RYO_MEET_AGENT=self.agent,
                        RYO_RETRY_SECONDS="0.2", RYO_DEADLINE_SECONDS="30", RYO_CONFIG_DIR=self.config_dir,
                        RYO_COLIBRI_URL=f"{self.base}/colibri", RYO_DRAIN_SECONDS="20",
                        HTTPS_PROXY="", https_proxy="", HTTP_PROXY="", http_proxy="")

    def guest(self, name, **env):
        return subprocess.run(["bash", os.path.join(GUEST, name)], env=dict(self.env, **env),
                              capture_output=True, text=True, timeout=60)

    def versions(self):
        return sorted(p for p in standin.STORE if "/versions/" in p)

    def agent_calls(self):
        try:
            with open(self.calls) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def test_the_signaling_node_publishes_its_token_once_its_first_run_made_it(self):
        # Not ready at first: the script waits, then publishes when the token exists.
        waiter = subprocess.Popen(["bash", os.path.join(GUEST, "signaling-startup.sh")], env=self.env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        import time
        time.sleep(1)
        self.assertEqual(self.versions(), [])
        open(self.token_ready, "w").close()
        _, err = waiter.communicate(timeout=30)
        self.assertEqual(waiter.returncode, 0, err)
        self.assertIn("no join token yet", err)
        self.assertIn("published the join token sha256:", err)
        self.assertNotIn(JOIN_TOKEN, err)
        self.assertEqual(len(self.versions()), 1)
        payload = standin.STORE[self.versions()[0]]["_payload"]
        self.assertEqual(base64.b64decode(payload).decode(), JOIN_TOKEN, "the secret holds the token without a newline")
        host = f"meet-signaling.{REGION}-b.c.{PROJECT}.internal"
        self.assertIn(f"bridge token --host {host}", self.agent_calls())
        # At the next boot the same token is not published again.
        again = self.guest("signaling-startup.sh")
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertIn("already the latest version", again.stderr)
        self.assertEqual(len(self.versions()), 1)
        sm = [r for r in standin.requests_seen() if r["path"].startswith("/secretmanager/")]
        self.assertTrue(all(r["headers"].get("Authorization") == "Bearer ya29.standin-instance-token" for r in sm))
        self.assertFalse([r for r in standin.requests_seen() if JOIN_TOKEN in r["path"] + r["query"]])

    def test_a_bridge_waits_for_the_token_writes_it_0600_and_reruns_the_agent_only_on_change(self):
        waiter = subprocess.Popen(["bash", os.path.join(GUEST, "bridge-startup.sh")], env=self.env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        import time
        time.sleep(1)
        open(self.token_ready, "w").close()
        publish = self.guest("signaling-startup.sh")
        self.assertEqual(publish.returncode, 0, publish.stderr)
        _, err = waiter.communicate(timeout=30)
        self.assertEqual(waiter.returncode, 0, err)
        self.assertIn("has no version yet", err)
        self.assertNotIn(JOIN_TOKEN, err)
        drop_in = os.path.join(self.config_dir, "60-gcp-join.toml")
        self.assertEqual(stat.S_IMODE(os.stat(drop_in).st_mode), 0o600)
        with open(drop_in) as f:
            self.assertIn(f'[bridge]\njoin = "{JOIN_TOKEN}"\n', f.read())
        self.assertEqual(self.agent_calls().count("run"), 1)
        # The next boot: same token, no second run.
        again = self.guest("bridge-startup.sh")
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertIn("already", again.stderr)
        self.assertEqual(self.agent_calls().count("run"), 1)

    def test_a_bridge_refuses_a_secret_that_is_not_a_token(self):
        secret = f"secretmanager/v1/projects/{PROJECT}/secrets/meet-join-token"
        standin.STORE[f"{secret}/versions/1"] = {"name": "v1", "state": "ENABLED",
                                                  "_payload": base64.b64encode(b'x"\n[server]\nrole="all"').decode()}
        out = self.guest("bridge-startup.sh")
        self.assertEqual(out.returncode, 1)
        self.assertIn("not a join token", out.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.config_dir, "60-gcp-join.toml")))

    def test_the_shutdown_script_drains_the_bridge_before_it_goes(self):
        standin.COLIBRI["conferences"] = 3
        out = self.guest("bridge-shutdown.sh")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertTrue(standin.COLIBRI["graceful"])
        self.assertIn("draining: 2 conference(s) left", out.stderr)
        self.assertIn("drained: no conferences left", out.stderr)

    def test_the_shutdown_script_stops_waiting_at_the_end_of_its_window(self):
        standin.COLIBRI["conferences"] = 10 ** 6
        out = self.guest("bridge-shutdown.sh", RYO_DRAIN_SECONDS="3")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("drain window over", out.stderr)


if __name__ == "__main__":
    unittest.main()
