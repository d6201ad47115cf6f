//! Boot scenario 4 (issue 5): two instances booted from one image share no identity: each
//! has its own machine-id and its own SSH host keys (made at first boot, never baked in).
//! Nor any of the Jitsi secrets the agent makes per instance (compared by the fingerprints
//! status shows; the values never leave the machine).

use boot_tests::{BootSpec, Guest};
use std::time::Duration;

fn identity(report: &boot_tests::Report) -> (String, Vec<String>) {
    let machine_id = report
        .instance
        .iter()
        .find_map(|l| l.strip_prefix("machine-id "))
        .unwrap_or_default()
        .to_string();
    // `ssh-keygen -l` lines: BITS SHA256:... COMMENT (TYPE); the fingerprint is the key.
    let keys: Vec<String> = report
        .instance
        .iter()
        .filter(|l| l.contains("SHA256:"))
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
        .collect();
    (machine_id, keys)
}

#[test]
fn two_instances_from_one_image_have_their_own_machine_id_and_host_keys() {
    // Both run at once: the same image, each on its own throwaway overlay.
    let spec = BootSpec::default();
    let mut first = Guest::boot(&spec, None).unwrap();
    let mut second = Guest::boot(&spec, None).unwrap();
    let a = first
        .report(Duration::from_secs(300))
        .unwrap_or_else(|e| panic!("{e:#}"));
    let b = second
        .report(Duration::from_secs(300))
        .unwrap_or_else(|e| panic!("{e:#}"));
    let (id_a, keys_a) = identity(&a);
    let (id_b, keys_b) = identity(&b);
    assert_eq!(id_a.len(), 32, "machine-id of the first: {:?}", a.instance);
    assert_eq!(id_b.len(), 32, "machine-id of the second: {:?}", b.instance);
    assert_ne!(id_a, id_b, "two instances share a machine-id");
    assert!(
        keys_a.len() >= 2,
        "SSH host keys of the first: {:?}",
        a.instance
    );
    assert_eq!(keys_a.len(), keys_b.len());
    for key in &keys_a {
        assert!(
            !keys_b.contains(key),
            "two instances share SSH host key {key}"
        );
    }
    let prints = |r: &boot_tests::Report| r.status["secrets"]["fingerprints"].clone();
    let (pa, pb) = (prints(&a), prints(&b));
    let names = pa.as_object().map(|o| o.len()).unwrap_or(0);
    assert_eq!(names, 4, "secrets of the first: {pa}");
    for (name, print) in pa.as_object().into_iter().flatten() {
        assert_ne!(&pb[name], print, "two instances share {name}");
    }
    // And both came up without a failed unit.
    assert!(
        a.failed_units.is_empty() && b.failed_units.is_empty(),
        "failed units: {:?} / {:?}\n{:#}",
        a.failed_units,
        b.failed_units,
        a.status
    );
}
