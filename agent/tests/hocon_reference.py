"""Checks rendered HOCON files against the components' own reference.conf files.

Usage: hocon_reference.py REFERENCE_DIR KIND=FILE...   (KIND: jvb, jicofo or jibri)

Every leaf path of each rendered file must exist in the component's reference.conf files
(parsed with pyhocon, or documented there in a commented-out `key =` line inside the same
block, as jicofo documents `client-proxy` and ice4j the fields of `static-mappings`), with a
value of the reference's type. Paths under the bridge's free-form maps (the per-server
blocks of `videobridge.apis.xmpp-client.configs` and of `videobridge.http-servers`) may
hold any key. The elements of jibri's `jibri.api.xmpp.environments`, whose keys
reference.conf does not list, are checked against ELEMENTS below, written from the parser
that reads them. Prints one line per problem and exits 1 if there is any.
"""

import datetime
import re
import sys

from pyhocon import ConfigFactory, ConfigTree

try:
    from dateutil.relativedelta import relativedelta
except ImportError:  # pyhocon without dateutil parses durations as timedelta only
    relativedelta = datetime.timedelta

REFERENCES = {
    "jvb": [
        "jitsi-videobridge.reference.conf",
        "jitsi-media-transform.reference.conf",
        "ice4j.reference.conf",
    ],
    "jicofo": [
        "jicofo-common.reference.conf",
        "jicofo-selector.reference.conf",
        "jicofo.reference.conf",
    ],
    "jibri": ["jibri.reference.conf"],
}

# The keys of list elements that reference.conf leaves empty, with a value of each key's
# type, as the component's parser reads them: jibri's XMPP environments, from
# jitsi/jibri src/main/kotlin/org/jitsi/jibri/config/JibriConfig.kt (toXmppEnvironment,
# toXmppCredentials, toXmppMuc) at 62369d55eaf5 (2026-08-05).
ELEMENTS = {
    "jibri": """
jibri { api { xmpp { ELEMENT {
  name = "", xmpp-server-hosts = [], xmpp-domain = "", base-url = ""
  control-login { domain = "", port = 5222, username = "", password = "", randomize-username = false }
  control-muc { domain = "", room-name = "", nickname = "" }
  sip-control-muc { domain = "", room-name = "", nickname = "" }
  call-login { domain = "", port = 5222, username = "", password = "", randomize-username = false }
  strip-from-room-domain = "", usage-timeout = "", trust-all-xmpp-certs = false, security-mode = ""
} } } }
""",
}

# Blocks whose keys the component reads as a map of named entries.
FREE_FORM = [
    ("videobridge", "apis", "xmpp-client", "configs"),
    ("videobridge", "http-servers"),
]


def kind_of(value):
    """The HOCON type of a parsed value, as the config library would coerce it."""
    if isinstance(value, ConfigTree):
        return "object"
    if isinstance(value, list):
        return "list"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if value is None:
        return "null"
    # Durations are strings to Typesafe config ("24 hours"); pyhocon parses them.
    if isinstance(value, (str, datetime.timedelta, relativedelta)):
        return "string"
    return type(value).__name__


def literal_kind(text):
    """The type of a commented-out example value, or None when it gives none."""
    text = text.strip().rstrip(",")
    if not text:
        return None
    if text in ("true", "false"):
        return "boolean"
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return "number"
    if text.startswith("["):
        return "list"
    if text.startswith("{"):
        return "object"
    return "string"


def commented_keys(path):
    """(block path, key) -> example type, for each `# key = value` line, by block.

    The block a line is in comes from the uncommented `name {` and `name = [` openers and
    their closers; a list's object elements are under the list's name plus "[]".
    """
    found = {}
    frames = []  # one list of path parts per open brace or bracket
    opener = re.compile(r'^\s*"?([A-Za-z0-9_.-]+)"?\s*[=:]?\s*([{\[])')
    for raw in open(path, encoding="utf-8"):
        stripped = raw.strip()
        comment = re.match(r"^(#|//)\s*([A-Za-z][A-Za-z0-9_-]*)\s*[=:]\s*(.*)$", stripped)
        if comment:
            block = tuple(part for frame in frames for part in frame)
            found[(block, comment.group(2))] = literal_kind(comment.group(3))
            continue
        if stripped.startswith("#") or stripped.startswith("//"):
            continue
        line = re.split(r"\s(?:#|//)", raw)[0]
        m = opener.match(line)
        rest = line
        if m:
            names = m.group(1).split(".")
            if m.group(2) == "[":
                names[-1] += "[]"
            frames.append(names)
            rest = line[m.end():]
        for ch in rest:
            if ch in "{[":
                frames.append([])
            elif ch in "}]" and frames:
                frames.pop()
    return found


def load(kind, refdir):
    tree = ConfigTree()
    documented = {}
    for name in REFERENCES[kind]:
        path = f"{refdir}/{name}"
        try:
            parsed = ConfigFactory.parse_file(path)
        except Exception:  # jibri's ffmpeg commands are substitutions pyhocon cannot resolve
            parsed = ConfigFactory.parse_file(path, resolve=False)
        tree = ConfigTree.merge_configs(tree, parsed)
        documented.update(commented_keys(path))
    if kind in ELEMENTS:
        # pyhocon keeps a quoted key's quotes: the element's block is named ELEMENT in
        # the text and renamed to the walker's `name[]` here.
        extra = ConfigFactory.parse_string(ELEMENTS[kind])
        holder = extra["jibri"]["api"]["xmpp"]
        holder["environments[]"] = holder.pop("ELEMENT")
        return [tree, extra], documented
    return [tree], documented


def lookup(trees, path):
    """The value at `path` in the first of `trees` that has it."""
    for tree in trees:
        node = tree
        for part in path:
            # The dict's own lookup: pyhocon's would parse `name[]` as a path.
            if not isinstance(node, ConfigTree) or part not in node.keys():
                break
            node = dict.__getitem__(node, part)
        else:
            return node, True
    return None, False


def check(kind, rendered, tree, documented, label, problems):
    """Appends a problem for each leaf of `rendered` the reference does not have."""

    def walk(node, path):
        for key in node:
            value = node[key]
            here = path + (key,)
            shown = ".".join(here)
            free = any(here[: len(f)] == f and len(here) > len(f) for f in FREE_FORM)
            ref, exists = lookup(tree, here)
            if exists:
                want = kind_of(ref)
            elif (path, key) in documented:
                want = documented[(path, key)]
            elif free:
                want = None
            else:
                problems.append(f"{label}: {shown} is not in {kind}'s reference.conf files")
                continue
            got = kind_of(value)
            # A key the reference leaves null (unset) may take any value.
            if want not in (None, "null") and want != got:
                problems.append(f"{label}: {shown} is a {got}, the reference has a {want}")
                continue
            if isinstance(value, ConfigTree):
                walk(value, here)
            elif isinstance(value, list):
                element = path + (key + "[]",)
                for item in value:
                    if isinstance(item, ConfigTree):
                        walk(item, element)

    walk(rendered, ())


def main():
    refdir = sys.argv[1]
    problems = []
    refs = {}
    for arg in sys.argv[2:]:
        kind, path = arg.split("=", 1)
        if kind not in refs:
            refs[kind] = load(kind, refdir)
        tree, documented = refs[kind]
        check(kind, ConfigFactory.parse_file(path), tree, documented, path, problems)
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)


main()
