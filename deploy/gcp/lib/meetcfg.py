#!/usr/bin/env python3
"""Helpers of deploy/gcp/ryo-jitsi that shell does badly: the machines' meet-agent
configurations (the user's TOML merged with what the deployment needs) and reading fields
out of gcloud's JSON. Needs Python 3.11 (tomllib). Never prints a secret to stderr.

  meetcfg.py signaling --domain D --region R --allow-cidr C [--site FILE]
  meetcfg.py bridge --domain D --region R [--site FILE]
  meetcfg.py attr KEY < instance.json          the value of metadata item KEY (exit 1: none)
  meetcfg.py field PATH < resource.json        a dotted field (exit 1: none)
  meetcfg.py find NAME < list.json             the item of a gcloud list named (or whose
                                               email is) NAME, as JSON (exit 1: none)
"""

import argparse
import json
import re
import sys

try:
    import tomllib
except ImportError:  # Python < 3.11
    sys.exit("deploy/gcp/ryo-jitsi needs Python 3.11 or later (tomllib) to merge --config")

BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(k):
    return k if BARE_KEY.match(k) else json.dumps(k)


def _scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(_scalar(x) for x in v) + "]"
    if hasattr(v, "isoformat"):
        return v.isoformat()
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_scalar(x)}" for k, x in v.items()) + " }"
    raise SystemExit(f"cannot write a value of type {type(v).__name__} back as TOML")


def dumps(table, prefix=()):
    """TOML text of a dict from tomllib (tables, arrays of tables, scalars, arrays)."""
    out = []
    plain = {k: v for k, v in table.items()
             if not isinstance(v, dict) and not (isinstance(v, list) and v and all(isinstance(x, dict) for x in v))}
    for k, v in plain.items():
        out.append(f"{_key(k)} = {_scalar(v)}")
    for k, v in table.items():
        if k in plain:
            continue
        path = prefix + (k,)
        name = ".".join(_key(p) for p in path)
        if isinstance(v, dict):
            out.append(f"\n[{name}]")
            out.append(dumps(v, path))
        else:
            for item in v:
                out.append(f"\n[[{name}]]")
                out.append(dumps(item, path))
    return "\n".join(x for x in out if x != "")


def load_site(path):
    if not path:
        return {}
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except OSError as e:
        sys.exit(f"cannot read --config {path}: {e.strerror}")
    except tomllib.TOMLDecodeError as e:
        # tomllib's message names a line and column, never the value.
        sys.exit(f"--config {path} is not TOML: {e}")


def table(cfg, name, origin):
    value = cfg.setdefault(name, {})
    if not isinstance(value, dict):
        sys.exit(f"{origin}: `{name}` must be a table")
    return value


def insist(t, key, want, origin, dotted):
    have = t.get(key)
    if have is not None and have != want:
        sys.exit(f"{origin}: key `{dotted}` is {json.dumps(have)} but this deployment needs {json.dumps(want)}; "
                 f"remove it from the file (the script sets it)")
    t[key] = want


def machine(args):
    origin = args.site or "the configuration"
    cfg = load_site(args.site)
    server = table(cfg, "server", origin)
    insist(server, "domain", args.domain, origin, "server.domain")
    insist(server, "role", args.role, origin, "server.role")
    bridge = table(cfg, "bridge", origin)
    if "join" in bridge or "auth_key" in bridge:
        sys.exit(f"{origin}: key `bridge.join`/`bridge.auth_key` is not for this script: the signaling node "
                 "makes the token and the bridges read it from Secret Manager")
    bridge.setdefault("region", args.region)
    if args.role == "signaling":
        bridges = table(cfg, "bridges", origin)
        bridges.setdefault("local", False)
        bridges.setdefault("allow_cidrs", [args.allow_cidr])
    print("# made by deploy/gcp/ryo-jitsi; the instance attribute meet-agent-config")
    print(dumps(cfg))


def field(doc, dotted):
    for part in dotted.split("."):
        if isinstance(doc, dict) and part in doc:
            doc = doc[part]
        else:
            return None
    return doc


def main():
    ap = argparse.ArgumentParser(prog="meetcfg.py")
    sub = ap.add_subparsers(dest="cmd", required=True)
    for role in ("signaling", "bridge"):
        p = sub.add_parser(role)
        p.add_argument("--domain", required=True)
        p.add_argument("--region", required=True)
        p.add_argument("--site")
        if role == "signaling":
            p.add_argument("--allow-cidr", required=True)
    sub.add_parser("attr").add_argument("key")
    sub.add_parser("field").add_argument("path")
    sub.add_parser("find").add_argument("name")
    args = ap.parse_args()
    if args.cmd in ("signaling", "bridge"):
        args.role = "signaling" if args.cmd == "signaling" else "videobridge"
        machine(args)
        return
    doc = json.load(sys.stdin)
    if args.cmd == "attr":
        for item in field(doc, "metadata.items") or field(doc, "properties.metadata.items") or []:
            if item.get("key") == args.key:
                sys.stdout.write(item.get("value", ""))
                return
        sys.exit(1)
    if args.cmd == "field":
        value = field(doc, args.path)
        if value is None:
            sys.exit(1)
        print(value if isinstance(value, str) else json.dumps(value, sort_keys=True))
        return
    if args.cmd == "find":
        for item in doc or []:
            if args.name in (item.get("name"), item.get("email")):
                print(json.dumps(item))
                return
        sys.exit(1)


if __name__ == "__main__":
    main()
