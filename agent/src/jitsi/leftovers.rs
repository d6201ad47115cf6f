//! Package-generated configuration that collides with the agent's, disabled at every jitsi
//! step run (and so after every dpkg run that touched a Jitsi package, through the apt hook
//! `/usr/lib/ryo-jitsi/after-dpkg`).
//!
//! Jitsi's packages configure the host name they were installed for. An image is built for
//! the placeholder `meet.invalid` (generalize.sh removes what that left behind), but a
//! package upgrade on a running server writes it again: jitsi-meet-web-config's postinst
//! makes an nginx site with its link in sites-enabled when it takes the install for a first
//! one, and jitsi-meet-prosody's postinst makes `conf.avail/HOST.cfg.lua` with its link in
//! conf.d whenever that file is missing (jitsi/jitsi-meet `debian/jitsi-meet-web-config.postinst`
//! at 7d76d8ac and `debian/jitsi-meet-prosody.postinst` at 3c2247a2, read 2026-12). Such
//! files break the agent's configuration:
//!
//! - an nginx server other than the agent's site that listens on 443 (a site in
//!   sites-enabled/, or a stream server in modules-enabled/ such as jitsi-meet-turnserver's
//!   `60-jitsi-meet.conf` link) makes nginx's bind of 443 fail or takes the agent's
//!   requests;
//! - a prosody conf.d file of another host that sets the globals `external_service_secret`
//!   or `external_services` overrides the agent's TURN credentials, depending on which file
//!   prosody reads last; one that declares the agent's own hosts declares them twice.
//!
//! Nothing is deleted: each such file is moved aside and named in the step's message. nginx
//! includes every file in sites-enabled/ and modules-enabled/, so those move to
//! [`NGINX_DISABLED`]; prosody includes only `conf.d/*.cfg.lua`, so those are renamed in
//! place with [`SUFFIX`]. The files the links point to stay where they are, which also
//! keeps the postinsts from making the links again on the next upgrade (they do only when
//! the target is missing).

use crate::apply::Service;
use crate::paths::Paths;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// The suffix a disabled prosody file gets (prosody includes only `*.cfg.lua`).
pub const SUFFIX: &str = ".meet-agent-disabled";
/// Where disabled nginx files go: a folder Debian's nginx.conf does not include.
pub const NGINX_DISABLED: &str = "/etc/nginx/meet-agent-disabled";
/// nginx's folders of included sites and modules.
const NGINX_DIRS: [&str; 2] = ["/etc/nginx/sites-enabled", "/etc/nginx/modules-enabled"];
/// prosody's folder of included host files.
const PROSODY_DIR: &str = "/etc/prosody/conf.d";
/// prosody globals the agent's file sets for TURN, which another file must not set too.
const PROSODY_GLOBALS: [&str; 2] = ["external_service_secret", "external_services"];

/// One file moved aside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    /// The service that must reload to forget it.
    pub service: Service,
    /// For the step's message: what moved where, and why.
    pub message: String,
}

/// Moves aside every package-generated nginx and prosody file that collides with the
/// agent's (see the module documentation). `domain` is the configured site name, whose
/// prosody hosts only the agent's file may declare. Returns what was moved; an empty list
/// when nothing collides.
pub fn disable(paths: &Paths, domain: Option<&str>) -> Result<Vec<Moved>> {
    disable_with(paths, domain, |_| Ok(()))
}

/// As [`disable`], calling `before_move` with the service that must forget a file before
/// that file moves (to record the refresh it needs durably first).
pub fn disable_with(
    paths: &Paths,
    domain: Option<&str>,
    mut before_move: impl FnMut(Service) -> Result<()>,
) -> Result<Vec<Moved>> {
    let mut moved = Vec::new();
    let ours_nginx = [
        file_name(super::nginx::SITE),
        file_name(super::nginx::STREAM),
    ];
    for dir in NGINX_DIRS {
        for (path, text) in entries(paths, &paths.join(dir))? {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if ours_nginx.contains(&name.as_str()) || !listens_on_443(&text) {
                continue;
            }
            let to = free_name(&paths.join(NGINX_DISABLED).join(&name))?;
            before_move(Service::Nginx)?;
            move_aside(&path, &to)?;
            moved.push(Moved {
                service: Service::Nginx,
                message: format!(
                    "moved {} aside to {} (another nginx server on port 443)",
                    shown(paths, &path),
                    shown(paths, &to)
                ),
            });
        }
    }
    let ours_prosody = file_name(super::prosody::PATH);
    for (path, text) in entries(paths, &paths.join(PROSODY_DIR))? {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name == ours_prosody || !name.ends_with(".cfg.lua") {
            continue;
        }
        let Some(why) = prosody_collision(&text, domain) else {
            continue;
        };
        let to = free_name(&path.with_file_name(format!("{name}{SUFFIX}")))?;
        before_move(Service::Prosody)?;
        move_aside(&path, &to)?;
        moved.push(Moved {
            service: Service::Prosody,
            message: format!(
                "moved {} aside to {} ({why})",
                shown(paths, &path),
                shown(paths, &to)
            ),
        });
    }
    Ok(moved)
}

fn file_name(path: &'static str) -> &'static str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The path as the operator sees it on the machine (below the root).
fn shown(paths: &Paths, path: &Path) -> String {
    let root = paths.join("/");
    match path.strip_prefix(&root) {
        Ok(rel) => format!("/{}", rel.display()),
        Err(_) => path.display().to_string(),
    }
}

/// The entries of `dir` (files and links to files; a missing folder has none) with their
/// text, sorted by name. Links that lead nowhere are not ours to judge and are skipped.
fn entries(paths: &Paths, dir: &Path) -> Result<Vec<(PathBuf, String)>> {
    let read = match std::fs::read_dir(dir) {
        Ok(read) => read,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("failed to list {}", dir.display())),
    };
    let mut out = Vec::new();
    for entry in read {
        let path = entry
            .with_context(|| format!("failed to list {}", dir.display()))?
            .path();
        // Folders and dangling links are left alone.
        let target = resolve(paths, &path);
        if !target.is_file() {
            continue;
        }
        let bytes = std::fs::read(&target)
            .with_context(|| format!("failed to read {}", target.display()))?;
        out.push((path, String::from_utf8_lossy(&bytes).into_owned()));
    }
    out.sort();
    Ok(out)
}

/// Where a link leads, with absolute targets taken below the root (the postinsts make
/// absolute links, and an image build or test works on a tree below a root).
fn resolve(paths: &Paths, path: &Path) -> PathBuf {
    let mut path = path.to_path_buf();
    for _ in 0..16 {
        let Ok(target) = std::fs::read_link(&path) else {
            break;
        };
        path = if target.is_absolute() {
            paths.join(&target.to_string_lossy())
        } else {
            path.parent().unwrap_or(Path::new("/")).join(target)
        };
    }
    path
}

/// Whether an nginx file has a `listen` directive on port 443 (`listen 443 ssl;`,
/// `listen [::]:443`, `listen 0.0.0.0:443`), comments aside.
fn listens_on_443(text: &str) -> bool {
    text.lines().any(|line| {
        let code = line.split('#').next().unwrap_or("");
        // Statements start at the line's start or after `;`, `{` or `}`.
        let spaced = code.replace([';', '{', '}'], " ; ");
        let words: Vec<&str> = spaced.split_whitespace().collect();
        words.iter().enumerate().any(|(i, word)| {
            *word == "listen"
                && (i == 0 || words[i - 1] == ";")
                && words
                    .get(i + 1)
                    .is_some_and(|addr| *addr == "443" || addr.ends_with(":443"))
        })
    })
}

/// Why a prosody host file collides with the agent's, if it does: it sets TURN globals
/// (before its first `VirtualHost` or `Component`, where settings are global), or declares
/// one of the agent's hosts (`domain` or a name below it).
fn prosody_collision(text: &str, domain: Option<&str>) -> Option<String> {
    let mut globals = Vec::new();
    let mut hosts = Vec::new();
    let mut global_section = true;
    for line in text.lines() {
        let code = line.split("--").next().unwrap_or("").trim();
        let declared = ["VirtualHost", "Component"]
            .into_iter()
            .find_map(|kw| code.strip_prefix(kw).filter(|r| r.starts_with([' ', '\t'])));
        if let Some(rest) = declared {
            global_section = false;
            let host = rest.trim().trim_start_matches(['"', '\'']);
            let host = host.split(['"', '\'']).next().unwrap_or("");
            if let Some(domain) = domain {
                if host == domain || host.ends_with(&format!(".{domain}")) {
                    hosts.push(host.to_string());
                }
            }
            continue;
        }
        if global_section {
            for global in PROSODY_GLOBALS {
                let set = code
                    .strip_prefix(global)
                    .is_some_and(|r| r.trim_start().starts_with('='));
                if set && !globals.contains(&global) {
                    globals.push(global);
                }
            }
        }
    }
    let mut why = Vec::new();
    if !globals.is_empty() {
        why.push(format!(
            "its globals {} collide with ours",
            globals.join(", ")
        ));
    }
    if !hosts.is_empty() {
        why.push(format!(
            "it declares {}, which meet-agent's file declares",
            hosts.join(", ")
        ));
    }
    (!why.is_empty()).then(|| why.join("; "))
}

/// `wanted`, or `wanted.1`, `wanted.2`, ... whichever does not exist yet.
fn free_name(wanted: &Path) -> Result<PathBuf> {
    if std::fs::symlink_metadata(wanted).is_err() {
        return Ok(wanted.to_path_buf());
    }
    for n in 1..1000 {
        let candidate = PathBuf::from(format!("{}.{n}", wanted.display()));
        if std::fs::symlink_metadata(&candidate).is_err() {
            return Ok(candidate);
        }
    }
    anyhow::bail!(
        "cannot move a file aside to {}: it and 999 numbered names exist; clean up that folder",
        wanted.display()
    )
}

/// Renames `from` to `to` (a link stays a link), creating `to`'s folder.
fn move_aside(from: &Path, to: &Path) -> Result<()> {
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("failed to create folder {}", dir.display()))?;
    }
    std::fs::rename(from, to)
        .with_context(|| format!("failed to move {} to {}", from.display(), to.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) -> PathBuf {
        let path = root.join(rel.trim_start_matches('/'));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    fn link(root: &Path, target: &str, rel: &str) {
        let path = root.join(rel.trim_start_matches('/'));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, path).unwrap();
    }

    /// What jitsi-meet-web-config's postinst leaves: a site for the build-time host on 443
    /// in sites-available with its link in sites-enabled (shortened).
    const PACKAGE_SITE: &str = "server {\n    listen 80;\n    server_name meet.invalid;\n}\nserver {\n    listen 443 ssl;\n    listen [::]:443 ssl;\n    server_name meet.invalid;\n}\n";
    /// What jitsi-meet-prosody's postinst leaves (shortened): TURN globals first.
    const PACKAGE_PROSODY: &str = "plugin_paths = { \"/usr/share/jitsi-meet/prosody-plugins/\" }\nexternal_service_secret = \"install-time\";\nexternal_services = {\n     { type = \"stun\", host = \"meet.invalid\", port = 3478 },\n};\nVirtualHost \"meet.invalid\"\n    authentication = \"jitsi-anonymous\"\n";

    #[test]
    fn package_generated_site_and_prosody_host_are_moved_aside_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let paths = Paths::new(root);
        write(
            root,
            "/etc/nginx/sites-available/meet.invalid.conf",
            PACKAGE_SITE,
        );
        // The postinst's link is absolute: read below the root.
        link(
            root,
            "/etc/nginx/sites-available/meet.invalid.conf",
            "/etc/nginx/sites-enabled/meet.invalid.conf",
        );
        write(
            root,
            "/etc/nginx/sites-enabled/ryo-jitsi.conf",
            "server { listen 443 ssl; }\n",
        );
        write(
            root,
            "/etc/prosody/conf.avail/meet.invalid.cfg.lua",
            PACKAGE_PROSODY,
        );
        link(
            root,
            "/etc/prosody/conf.avail/meet.invalid.cfg.lua",
            "/etc/prosody/conf.d/meet.invalid.cfg.lua",
        );
        write(
            root,
            "/etc/prosody/conf.d/ryo-jitsi.cfg.lua",
            "external_service_secret = \"ours\"\n",
        );

        let moved = disable(&paths, Some("meet.example.test")).unwrap();
        let messages: Vec<&str> = moved.iter().map(|m| m.message.as_str()).collect();
        assert_eq!(moved.len(), 2, "{messages:?}");
        assert_eq!(moved[0].service, Service::Nginx);
        assert_eq!(
            moved[0].message,
            "moved /etc/nginx/sites-enabled/meet.invalid.conf aside to /etc/nginx/meet-agent-disabled/meet.invalid.conf (another nginx server on port 443)"
        );
        assert_eq!(moved[1].service, Service::Prosody);
        assert_eq!(
            moved[1].message,
            "moved /etc/prosody/conf.d/meet.invalid.cfg.lua aside to /etc/prosody/conf.d/meet.invalid.cfg.lua.meet-agent-disabled (its globals external_service_secret, external_services collide with ours)"
        );
        // Moved, not deleted: the links still lead to the package's files, which stay.
        let nginx_link = root.join("etc/nginx/meet-agent-disabled/meet.invalid.conf");
        assert_eq!(
            std::fs::read_link(&nginx_link).unwrap(),
            Path::new("/etc/nginx/sites-available/meet.invalid.conf")
        );
        assert!(root
            .join("etc/nginx/sites-available/meet.invalid.conf")
            .is_file());
        assert!(!root
            .join("etc/nginx/sites-enabled/meet.invalid.conf")
            .exists());
        assert!(root
            .join("etc/nginx/sites-enabled/ryo-jitsi.conf")
            .is_file());
        let prosody_link = root.join("etc/prosody/conf.d/meet.invalid.cfg.lua.meet-agent-disabled");
        assert_eq!(
            std::fs::read_to_string(resolve(&paths, &prosody_link)).unwrap(),
            PACKAGE_PROSODY
        );
        assert!(root.join("etc/prosody/conf.d/ryo-jitsi.cfg.lua").is_file());

        // A rerun finds nothing more; the same leftover made again gets a numbered name.
        assert!(disable(&paths, Some("meet.example.test"))
            .unwrap()
            .is_empty());
        write(
            root,
            "/etc/nginx/sites-enabled/meet.invalid.conf",
            PACKAGE_SITE,
        );
        let again = disable(&paths, Some("meet.example.test")).unwrap();
        assert_eq!(again.len(), 1);
        assert!(root
            .join("etc/nginx/meet-agent-disabled/meet.invalid.conf.1")
            .is_file());
    }

    #[test]
    fn what_does_not_collide_stays() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let paths = Paths::new(root);
        // Another site on port 80 only, a commented-out 443, a stream module without 443.
        write(
            root,
            "/etc/nginx/sites-enabled/other.conf",
            "server {\n  listen 80;\n  # listen 443 ssl;\n  listen 8443 ssl;\n}\n",
        );
        write(
            root,
            "/etc/nginx/modules-enabled/50-mod-stream.conf",
            "load_module modules/ngx_stream_module.so;\n",
        );
        // Another host's file whose TURN settings are its own (inside its VirtualHost).
        write(
            root,
            "/etc/prosody/conf.d/chat.example.org.cfg.lua",
            "VirtualHost \"chat.example.org\"\n    external_services = {}\n",
        );
        // Not a file prosody includes.
        write(
            root,
            "/etc/prosody/conf.d/notes.txt",
            "external_service_secret = \"x\"\n",
        );
        assert!(disable(&paths, Some("meet.example.test"))
            .unwrap()
            .is_empty());
        assert!(root.join("etc/nginx/sites-enabled/other.conf").is_file());
        assert!(root
            .join("etc/prosody/conf.d/chat.example.org.cfg.lua")
            .is_file());
    }

    #[test]
    fn a_stream_server_on_443_and_a_second_declaration_of_our_hosts_are_moved_aside() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let paths = Paths::new(root);
        write(
            root,
            "/etc/nginx/modules-enabled/60-jitsi-meet.conf",
            "stream {\n    server {\n        listen 443;\n    }\n}\n",
        );
        write(root, "/etc/prosody/conf.d/meet.example.test.cfg.lua", "VirtualHost \"meet.example.test\"\nComponent \"conference.meet.example.test\" \"muc\"\n");
        let moved = disable(&paths, Some("meet.example.test")).unwrap();
        assert_eq!(moved.len(), 2);
        assert!(root
            .join("etc/nginx/meet-agent-disabled/60-jitsi-meet.conf")
            .is_file());
        assert!(moved[1].message.ends_with(
            "(it declares meet.example.test, conference.meet.example.test, which meet-agent's file declares)"
        ));
    }

    #[test]
    fn listen_directives_are_read_as_nginx_does() {
        assert!(listens_on_443("listen 443 ssl;"));
        assert!(listens_on_443("  listen [::]:443 ssl http2;"));
        assert!(listens_on_443("server { listen 0.0.0.0:443; }"));
        assert!(!listens_on_443("listen 4443 ssl;"));
        assert!(!listens_on_443("# listen 443;"));
        assert!(!listens_on_443("proxy_pass https://backend:443;"));
    }
}
