//! The Packer build's Jitsi path, proven with STAND-IN packages: Jitsi's repository cannot
//! be reached here, so `tests/standin/make-debs.sh` builds packages with Jitsi's names whose
//! postinsts make the files upstream's postinsts make for the build-time host meet.invalid
//! (nginx site and link, prosody conf.avail/conf.d file with the TURN secret as a global,
//! the auth.meet.invalid accounts and certificates, jicofo.conf/jvb.conf with install-time
//! passwords, a turnserver.conf with its own secret). They are installed with dpkg into a
//! throwaway root (`--force-script-chrootless`), and the image's own scripts run against it:
//!
//! 1. check-generic.sh finds every leftover, generalize.sh removes them, check-generic.sh
//!    passes;
//! 2. meet-agent's first run renders its files (the turnserver.conf with the marker lines);
//! 3. an "upgrade" to a newer stand-in version rewrites jicofo's client-proxy and makes the
//!    build-time host's nginx site again (not the prosody host: generalize.sh's placeholders
//!    answer jitsi-meet-prosody's checks); apt's hook
//!    (image/files/usr/lib/ryo-jitsi/after-dpkg) puts the agent's files back, moves the
//!    leftovers aside and names the services to restart, and does nothing when no Jitsi
//!    package changed.

mod common;
use common::{text, Root};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const DOMAIN: &str = "meet.example.test";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate is in the repository")
        .to_path_buf()
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn ok(out: Output, what: &str) -> String {
    assert!(out.status.success(), "{what} failed: {}", text(&out));
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Stand-in .debs of `version` in a folder of their own.
fn standins(dir: &Path, version: &str) -> Vec<PathBuf> {
    let out = dir.join(format!("debs-{version}"));
    ok(
        run(Command::new("bash")
            .arg(repo().join("agent/tests/standin/make-debs.sh"))
            .arg(&out)
            .arg(version)),
        "make-debs.sh",
    );
    let mut debs: Vec<PathBuf> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    debs.sort();
    assert_eq!(debs.len(), 5, "{debs:?}");
    debs
}

/// `dpkg -i` into the root, maintainer scripts run below it (DPKG_ROOT).
fn dpkg_install(root: &Path, debs: &[PathBuf]) -> String {
    for dir in [
        "var/lib/dpkg/info",
        "var/lib/dpkg/updates",
        "var/lib/dpkg/triggers",
    ] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    let status = root.join("var/lib/dpkg/status");
    if !status.exists() {
        std::fs::write(&status, "").unwrap();
    }
    ok(
        run(Command::new("dpkg")
            .arg(format!("--root={}", root.display()))
            .args(["--force-script-chrootless", "--log=/dev/null", "-i"])
            .args(debs)),
        "dpkg -i (stand-ins)",
    )
}

fn check_generic(root: &Path) -> Output {
    run(Command::new("bash")
        .arg(repo().join("image/provision/check-generic.sh"))
        .arg(root))
}

/// apt's hook, with the test's meet-agent first in PATH and no system bus.
fn hook(root: &Path) -> Output {
    hook_with(root, &[])
}

/// The hook as a stack unit's ExecStartPre runs it (`--before-start`).
fn before_start(root: &Path) -> Output {
    hook_with(root, &["--before-start"])
}

fn hook_with(root: &Path, args: &[&str]) -> Output {
    let bin = Path::new(env!("CARGO_BIN_EXE_meet-agent"))
        .parent()
        .unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    run(Command::new("bash")
        .arg(repo().join("image/files/usr/lib/ryo-jitsi/after-dpkg"))
        .arg("--root")
        .arg(root)
        .args(args)
        .env("PATH", path)
        .env(
            "DBUS_SYSTEM_BUS_ADDRESS",
            "unix:path=/nonexistent/meet-agent-test-bus",
        )
        .env_remove("NOTIFY_SOCKET")
        .env_remove("JOURNAL_STREAM"))
}

fn read(root: &Path, rel: &str) -> String {
    std::fs::read_to_string(root.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn present(root: &Path, rel: &str) -> bool {
    std::fs::symlink_metadata(root.join(rel)).is_ok()
}

#[test]
fn standin_jitsi_packages_are_generalized_and_their_upgrade_is_repaired_by_the_apt_hook() {
    if Command::new("dpkg").arg("--version").output().is_err() {
        panic!("dpkg is missing (this test needs Debian's dpkg)");
    }
    let site = Root::new();
    let root = site.path();
    let scratch = tempfile::tempdir().unwrap();

    // The image build: the packages install for the build-time host.
    dpkg_install(root, &standins(scratch.path(), "1.0-standin1"));
    for rel in [
        "etc/nginx/sites-enabled/meet.invalid.conf",
        "etc/prosody/conf.d/meet.invalid.cfg.lua",
        "var/lib/prosody/auth%2emeet%2einvalid/accounts/focus.dat",
        "etc/jitsi/jicofo/jicofo.conf",
    ] {
        assert!(present(root, rel), "the stand-ins did not make {rel}");
    }

    // 1. Not generic before generalize.sh, and each leftover is named.
    let before = check_generic(root);
    assert_eq!(before.status.code(), Some(1), "{}", text(&before));
    let findings = String::from_utf8_lossy(&before.stdout);
    for expected in [
        "/etc/nginx/sites-available/meet.invalid.conf",
        "/etc/nginx/sites-enabled/meet.invalid.conf",
        "/etc/prosody/conf.avail/meet.invalid.cfg.lua",
        "/etc/prosody/conf.d/meet.invalid.cfg.lua",
        "/etc/jitsi/meet/meet.invalid-config.js",
        "/usr/local/share/ca-certificates/auth.meet.invalid.crt",
        "prosody accounts and data of auth.meet.invalid",
        "prosody keys in /var/lib/prosody",
        "/etc/jitsi/jicofo/jicofo.conf (install-time account password",
        "/etc/jitsi/videobridge/jvb.conf (install-time account password",
        "install-time password or secret in /etc/jitsi/videobridge/config",
        "install-time TURN secret in /etc/turnserver.conf",
        "a TURN secret (external_service_secret) in /etc/prosody/conf.avail/meet.invalid.cfg.lua",
    ] {
        assert!(
            findings.contains(expected),
            "check-generic.sh did not report {expected}:\n{findings}"
        );
    }
    ok(
        run(Command::new("bash")
            .arg(repo().join("image/provision/generalize.sh"))
            .arg(root)),
        "generalize.sh",
    );
    let after = check_generic(root);
    assert_eq!(
        after.status.code(),
        Some(0),
        "still not generic after generalize.sh: {}",
        text(&after)
    );
    // generalize.sh's ROOT form cleans the whole tree it is given: the fixture's drop-in
    // (first-boot apt off) goes back for the agent's runs below.
    site.write(
        "/usr/lib/meet-agent/config.d/00-test-machine.toml",
        "[updates]\nfirst_boot = false\nreboot_window = \"\"\n",
    );

    // 2. First boot: the agent renders its files for the real domain.
    site.write("/etc/machine-id", "0123456789abcdef0123456789abcdef\n");
    site.config(
        "00.toml",
        &format!("[source]\nprovider = \"none\"\n[server]\ndomain = \"{DOMAIN}\"\npublic_ipv4 = \"203.0.113.7\"\n"),
    );
    ok(
        site.run(&["run", "--step", "secrets"]),
        "run --step secrets",
    );
    ok(site.run(&["run", "--step", "jitsi"]), "run --step jitsi");
    let jicofo = read(root, "etc/jitsi/jicofo/jicofo.conf");
    let turn = read(root, "etc/turnserver.conf");
    let jvb = read(root, "etc/jitsi/videobridge/jvb.conf");
    assert!(jicofo.contains("Managed by meet-agent"), "{jicofo}");
    assert!(turn.contains("jitsi-meet coturn config"), "{turn}");
    // The first service start records the packages (meet-agent has just rendered
    // everything); a dpkg run that changed nothing of Jitsi then ends at once.
    let first = ok(
        before_start(root),
        "after-dpkg --before-start (first start)",
    );
    assert!(first.is_empty(), "{first}");
    assert!(present(root, "var/lib/meet-agent/jitsi-packages.stamp"));
    let quiet = ok(hook(root), "after-dpkg (nothing changed)");
    assert!(
        quiet.is_empty(),
        "the hook acted with nothing changed: {quiet}"
    );

    // The placeholders generalize.sh leaves for jitsi-meet-prosody's checks.
    let placeholder = read(root, "etc/prosody/conf.avail/meet.invalid.cfg.lua");
    assert!(
        placeholder.lines().all(|l| l.starts_with("--")),
        "{placeholder}"
    );
    let restarts_before =
        std::fs::read_to_string(root.join("var/lib/standin/prosody-restarts")).unwrap_or_default();

    // 3. The upgrade: the postinsts run again.
    dpkg_install(root, &standins(scratch.path(), "2.0-standin1"));
    let broken = read(root, "etc/jitsi/jicofo/jicofo.conf");
    assert!(
        broken.contains("client-proxy = \"focus.meet.invalid\""),
        "the stand-in upgrade did not rewrite client-proxy: {broken}"
    );
    // jitsi-meet-prosody's upgrade found generalize.sh's placeholders (issue 19 item 9): no
    // first install again, so no host file included, no accounts, no certificates, nothing
    // new in the trust store, and no prosody restart in the middle of meetings.
    assert!(!present(root, "etc/prosody/conf.d/meet.invalid.cfg.lua"));
    assert_eq!(
        read(root, "etc/prosody/conf.avail/meet.invalid.cfg.lua"),
        placeholder
    );
    for rel in [
        "var/lib/prosody/meet.invalid.key",
        "var/lib/prosody/auth.meet.invalid.key",
        "usr/local/share/ca-certificates/auth.meet.invalid.crt",
        "var/lib/prosody/auth%2emeet%2einvalid/accounts/focus.dat",
    ] {
        assert!(!present(root, rel), "the upgrade made {rel}");
    }
    assert_eq!(
        std::fs::read_to_string(root.join("var/lib/standin/prosody-restarts")).unwrap_or_default(),
        restarts_before,
        "the upgrade restarted prosody"
    );
    assert!(present(root, "etc/nginx/sites-enabled/meet.invalid.conf"));
    // The marker lines kept jitsi-meet-turnserver's postinst away from the agent's file.
    assert_eq!(read(root, "etc/turnserver.conf"), turn);
    assert!(!present(root, "etc/turnserver.conf.bak"));

    let repaired = ok(hook(root), "after-dpkg (after the upgrade)");
    assert_eq!(
        read(root, "etc/jitsi/jicofo/jicofo.conf"),
        jicofo,
        "{repaired}"
    );
    assert_eq!(read(root, "etc/jitsi/videobridge/jvb.conf"), jvb);
    assert_eq!(read(root, "etc/turnserver.conf"), turn);
    assert!(!present(root, "etc/prosody/conf.d/meet.invalid.cfg.lua"));
    assert!(!present(root, "etc/nginx/sites-enabled/meet.invalid.conf"));
    assert!(present(
        root,
        "etc/nginx/meet-agent-disabled/meet.invalid.conf"
    ));
    assert!(
        !repaired.contains("prosody.service"),
        "prosody's files did not change, yet: {repaired}"
    );
    for unit in ["jicofo.service", "nginx.service"] {
        assert!(
            repaired.contains(&format!("{unit}: files changed")),
            "the hook did not restart {unit}: {repaired}"
        );
    }
    assert!(
        !repaired.contains("coturn.service"),
        "coturn's file did not change, yet: {repaired}"
    );
    let message = site.message("jitsi");
    assert!(
        message.contains("moved /etc/nginx/sites-enabled/meet.invalid.conf aside"),
        "the step message does not name what moved: {message}"
    );
    // Done once: the next dpkg run without Jitsi changes leaves everything alone.
    let quiet = ok(hook(root), "after-dpkg (again)");
    assert!(quiet.is_empty(), "{quiet}");

    // An upgrade while a meet-agent run holds its lock (the first boot's updates step runs
    // apt under it): the hook does not wait for the lock (that run waits for apt), and the
    // next dpkg run after the lock is free does the work.
    dpkg_install(root, &standins(scratch.path(), "3.0-standin1"));
    let lock = std::fs::File::open(root.join("var/lib/meet-agent/run.lock")).unwrap();
    let held = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusiveNonblock)
        .map_err(|(_, e)| e)
        .expect("take meet-agent's run lock");
    let waited = ok(hook(root), "after-dpkg (lock held)");
    assert!(waited.contains("while meet-agent runs"), "{waited}");
    assert!(read(root, "etc/jitsi/jicofo/jicofo.conf").contains("focus.meet.invalid"));
    drop(held);
    let repaired = ok(hook(root), "after-dpkg (lock free)");
    assert_eq!(
        read(root, "etc/jitsi/jicofo/jicofo.conf"),
        jicofo,
        "{repaired}"
    );

    // An upgrade whose postinst restarts jicofo: its ExecStartPre renders the agent's files
    // before it starts, and apt's pass after dpkg still runs (the stamp is left for it).
    dpkg_install(root, &standins(scratch.path(), "4.0-standin1"));
    assert!(read(root, "etc/jitsi/jicofo/jicofo.conf").contains("focus.meet.invalid"));
    let started = ok(before_start(root), "after-dpkg --before-start (upgrade)");
    assert!(started.contains("before the service starts"), "{started}");
    assert_eq!(read(root, "etc/jitsi/jicofo/jicofo.conf"), jicofo);
    let after = ok(hook(root), "after-dpkg (after the upgrade with restarts)");
    assert!(after.contains("renders its files again"), "{after}");
    assert!(
        !after.contains("files changed"),
        "nothing was left to change: {after}"
    );
    let quiet = ok(
        before_start(root),
        "after-dpkg --before-start (nothing changed)",
    );
    assert!(quiet.is_empty(), "{quiet}");
}

/// The negative control of the marker lines: the stand-in turnserver postinst moves a file
/// without them aside and writes its own secret, as upstream's does.
#[test]
fn a_turnserver_conf_without_the_markers_is_replaced_by_the_standin_postinst() {
    let root = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("etc")).unwrap();
    std::fs::write(
        root.path().join("etc/turnserver.conf"),
        "static-auth-secret=ours\n",
    )
    .unwrap();
    let debs: Vec<PathBuf> = standins(scratch.path(), "1.0-standin1")
        .into_iter()
        .filter(|d| d.to_string_lossy().contains("turnserver"))
        .collect();
    dpkg_install(root.path(), &debs);
    assert_eq!(
        read(root.path(), "etc/turnserver.conf.bak"),
        "static-auth-secret=ours\n"
    );
    assert!(!read(root.path(), "etc/turnserver.conf").contains("=ours"));
}

/// A package named `nginx-common` (the owner of /etc/nginx/mime.types) at `version`, whose
/// only file is that table with `extra` appended to Debian's (this machine's) mappings.
fn nginx_common(dir: &Path, version: &str, extra: &str) -> PathBuf {
    let pkg = dir.join(format!("nginx-common-{version}"));
    std::fs::create_dir_all(pkg.join("DEBIAN")).unwrap();
    std::fs::create_dir_all(pkg.join("etc/nginx")).unwrap();
    std::fs::write(
        pkg.join("DEBIAN/control"),
        format!(
            "Package: nginx-common\nVersion: {version}\nArchitecture: all\n\
             Maintainer: ryo-jitsi tests <tests@ryo-jitsi.invalid>\n\
             Description: STAND-IN for nginx-common's mime.types (ryo-jitsi tests only)\n"
        ),
    )
    .unwrap();
    let debian = std::fs::read_to_string("/etc/nginx/mime.types").expect("nginx's mime.types");
    let table = debian.replacen("types {", &format!("types {{\n{extra}"), 1);
    std::fs::write(pkg.join("etc/nginx/mime.types"), table).unwrap();
    let deb = dir.join(format!("nginx-common_{version}_all.deb"));
    ok(
        run(Command::new("dpkg-deb")
            .args(["--root-owner-group", "--build"])
            .arg(&pkg)
            .arg(&deb)),
        "dpkg-deb (nginx-common stand-in)",
    );
    deb
}

/// Issue 19 item 10: the site adds only the types nginx's table lacks (Debian 12's maps wasm,
/// not wav), so `nginx -t` warns of no duplicate extension; when an nginx-common upgrade
/// starts mapping one of them, apt's hook renders the site again and the site's own mapping
/// goes, instead of warning until the next boot.
#[test]
fn an_nginx_common_upgrade_that_maps_wav_renders_the_site_without_its_own_mapping() {
    let site = Root::new();
    let root = site.path();
    let scratch = tempfile::tempdir().unwrap();
    dpkg_install(root, &[nginx_common(scratch.path(), "1.0-standin1", "")]);
    site.write("/etc/machine-id", "0123456789abcdef0123456789abcdef\n");
    site.write(
        "/usr/lib/meet-agent/config.d/00-test-machine.toml",
        "[updates]\nfirst_boot = false\nreboot_window = \"\"\n",
    );
    site.config(
        "00.toml",
        &format!("[source]\nprovider = \"none\"\n[server]\ndomain = \"{DOMAIN}\"\npublic_ipv4 = \"203.0.113.7\"\n"),
    );
    ok(
        site.run(&["run", "--step", "secrets"]),
        "run --step secrets",
    );
    ok(site.run(&["run", "--step", "jitsi"]), "run --step jitsi");
    let nginx_site = "etc/nginx/sites-available/ryo-jitsi.conf";
    assert!(read(root, nginx_site).contains("audio/wav wav;"));
    assert!(!read(root, nginx_site).contains("application/wasm wasm;"));
    ok(
        before_start(root),
        "after-dpkg --before-start (first start)",
    );

    dpkg_install(
        root,
        &[nginx_common(
            scratch.path(),
            "2.0-standin1",
            "    audio/wav                             wav;\n",
        )],
    );
    let said = ok(hook(root), "after-dpkg (nginx-common upgraded)");
    assert!(said.contains("renders its files again"), "{said}");
    assert!(
        !read(root, nginx_site).contains("audio/wav"),
        "the site still maps wav, which nginx's table now maps too: {said}"
    );
}
