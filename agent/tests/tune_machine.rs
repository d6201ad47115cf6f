//! The tune step: the sysctl drop-in, the heap environment files the shipped unit drop-ins
//! read and the limits drop-in (directives checked by `systemd-analyze verify`), heaps from
//! the machine's memory or from config, and the capacity estimate in status.

mod common;
use common::{text, Root};
use std::process::Command;

fn machine(extra: &str) -> Root {
    let root = Root::new();
    root.write("/etc/machine-id", "0123456789abcdef0123456789abcdef\n");
    root.config(
        "00.toml",
        &format!(
            "[source]\nprovider = \"none\"\n[server]\ndomain = \"meet.example.test\"\n{extra}"
        ),
    );
    root
}

fn read(root: &Root, path: &str) -> String {
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn drop_ins_carry_limits_and_heaps_and_systemd_accepts_them() {
    let root = machine("[tune]\nnofile = 100000\ntasks_max = 9000\nudp_buffer_bytes = 20971520\n");
    let out = root.run(&["run"]);
    let tune = root.step("tune");
    assert_eq!(tune["state"], "ok", "{}", text(&out));
    let sysctl = read(&root, "/etc/sysctl.d/60-ryo-jitsi.conf");
    assert!(
        sysctl.contains("net.core.rmem_max = 20971520\n"),
        "{sysctl}"
    );
    assert!(
        sysctl.contains("net.core.netdev_max_backlog = 100000\n"),
        "{sysctl}"
    );

    let memory_mib = root.state()["identity"]["memory_mib"].as_u64().unwrap();
    let heaps = meet_agent::tune::heap::size(memory_mib, &Default::default());
    let shipped = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../systemd/usr/lib/systemd/system"
    );
    for (unit, variable, heap) in [
        (
            "jitsi-videobridge2",
            "VIDEOBRIDGE_MAX_MEMORY",
            heaps.videobridge_mib,
        ),
        ("jicofo", "JICOFO_MAX_MEMORY", heaps.jicofo_mib),
    ] {
        // The heap, in the file the shipped drop-in names as EnvironmentFile.
        let env_file = format!("/var/lib/meet-agent/tune/{unit}.env");
        let env = read(&root, &env_file);
        assert!(env.contains(&format!("\n{variable}={heap}m\n")), "{env}");
        let static_dropin =
            std::fs::read_to_string(format!("{shipped}/{unit}.service.d/60-ryo-jitsi.conf"))
                .unwrap();
        assert!(
            static_dropin.contains(&format!("EnvironmentFile=-{env_file}\n")),
            "{static_dropin}"
        );
        // Limits other than the shipped ones: a drop-in of their own.
        let limits = read(
            &root,
            &format!("/etc/systemd/system/{unit}.service.d/61-ryo-jitsi-limits.conf"),
        );
        assert!(
            limits.contains("LimitNOFILE=100000\nTasksMax=9000\n"),
            "{limits}"
        );
        // Both drop-ins' directives, and the environment file, in a unit of the test's own:
        // systemd knows every directive and reads the file.
        let body = |d: &str| {
            d.split("[Service]\n")
                .nth(1)
                .unwrap()
                .replace(&env_file, &root.join(&env_file).display().to_string())
        };
        let unit_file = root.write(
            "/tmp/ryo-tune-check.service",
            format!(
                "[Unit]\nDescription=check\n[Service]\nExecStart=/bin/true\n{}{}",
                body(&static_dropin),
                body(&limits)
            ),
        );
        let verify = Command::new("systemd-analyze")
            .arg("verify")
            .arg(&unit_file)
            .output()
            .unwrap();
        assert!(
            verify.status.success() && verify.stderr.is_empty(),
            "systemd-analyze verify: {}",
            text(&verify)
        );
    }

    // The shipped limits again: the limits drop-in goes away.
    root.config(
        "00.toml",
        "[source]\nprovider = \"none\"\n[server]\ndomain = \"meet.example.test\"\n",
    );
    root.run(&["run"]);
    assert!(!root
        .join("/etc/systemd/system/jicofo.service.d/61-ryo-jitsi-limits.conf")
        .exists());
}

#[test]
fn configured_heaps_are_used_when_they_fit_and_replaced_when_they_do_not() {
    let root = machine("[tune]\nvideobridge_heap_mib = 1000\njicofo_heap_mib = 300\n");
    root.run(&["run"]);
    let dropin = read(&root, "/var/lib/meet-agent/tune/jitsi-videobridge2.env");
    assert!(dropin.contains("VIDEOBRIDGE_MAX_MEMORY=1000m"), "{dropin}");
    assert!(read(&root, "/var/lib/meet-agent/tune/jicofo.env").contains("JICOFO_MAX_MEMORY=300m"));

    // Larger than this machine (4 GiB, as the host facts say): the sized value, and (with
    // the bridge installed) a warning naming the key.
    let root = machine("[tune]\nvideobridge_heap_mib = 65536\n");
    root.write("/usr/share/jitsi-videobridge/jvb.sh", "");
    root.write("/facts.json", r#"{"memory_mib": 4096, "cpus": 2}"#);
    root.config("99-facts.toml", "[source]\nhost_facts = \"/facts.json\"\n");
    root.run(&["run"]);
    let tune = root.step("tune");
    assert_eq!(root.state()["identity"]["memory_mib"], 4096);
    assert_eq!(tune["state"], "degraded", "{tune}");
    assert!(
        tune["message"]
            .as_str()
            .unwrap()
            .contains("tune.videobridge_heap_mib = 65536 does not fit"),
        "{tune}"
    );
    let dropin = read(&root, "/var/lib/meet-agent/tune/jitsi-videobridge2.env");
    assert!(!dropin.contains("=65536m"), "{dropin}");

    // A machine with room for it (128 GiB): used as configured.
    root.write("/facts.json", r#"{"memory_mib": 131072, "cpus": 32}"#);
    root.run(&["run"]);
    let tune = root.step("tune");
    assert_eq!(tune["state"], "ok", "{tune}");
    let dropin = read(&root, "/var/lib/meet-agent/tune/jitsi-videobridge2.env");
    assert!(dropin.contains("VIDEOBRIDGE_MAX_MEMORY=65536m"), "{dropin}");
}

#[test]
fn status_shows_the_capacity_estimate() {
    let root = machine("[tune]\nbandwidth_mbit = 1000\nparticipants_per_cpu = 20\n");
    root.run(&["run"]);
    let cpus = std::thread::available_parallelism().unwrap().get() as u64;
    // The report's model: 9.12 Mbit/s per participant at 720p in meetings of ten.
    let expected = (cpus * 20).min(109);
    let out = root.run(&["status"]);
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(
        screen.contains(&format!("about {expected} participants at 720p")),
        "{screen}"
    );
    assert!(screen.contains("1000 Mbit/s"), "{screen}");
}
