//! Whether this machine has what jibri needs besides jibri itself: a browser and its
//! driver, ffmpeg, an X server with the dummy video driver, a window manager, and ALSA's
//! loopback sound card (the snd-aloop module). The recorder image carries them
//! (image/provision/recorder.sh); a recorder on another image says what it lacks instead of
//! failing its first recording.
//!
//! The list follows jitsi/jibri 62369d55: debian/control's Depends (ffmpeg, icewm,
//! xserver-xorg-video-dummy), jibri-xorg.service (`/usr/bin/Xorg`), jibri-icewm.service
//! (`/usr/bin/icewm-session`), README.md's prerequisites (Chrome, chromedriver, snd_aloop).

use crate::paths::Paths;

/// Executables jibri's services and its Selenium driver start, with what to call each in a
/// message. Chrome is Debian's chromium here (the recorder image's drop-in for
/// jibri.service runs it; chromedriver finds it at /usr/bin/chromium).
const TOOLS: &[(&str, &str)] = &[
    ("/usr/bin/chromium", "chromium"),
    ("/usr/bin/chromedriver", "chromedriver"),
    ("/usr/bin/ffmpeg", "ffmpeg"),
    ("/usr/bin/Xorg", "Xorg"),
    (
        "/usr/lib/xorg/modules/drivers/dummy_drv.so",
        "Xorg's dummy driver",
    ),
    ("/usr/bin/icewm-session", "icewm"),
];

/// The kernel's list of sound cards: snd-aloop's card has the id `Loopback`.
const ASOUND_CARDS: &str = "/proc/asound/cards";

/// What a check found missing, in the order of [`TOOLS`], then the sound card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing(pub Vec<&'static str>);

/// Checks jibri's runtime on this machine (under `paths`' root).
pub fn check(paths: &Paths) -> Missing {
    let mut missing: Vec<&'static str> = TOOLS
        .iter()
        .filter(|(path, _)| !paths.join(path).is_file())
        .map(|(_, name)| *name)
        .collect();
    if !loopback_loaded(&std::fs::read_to_string(paths.join(ASOUND_CARDS)).unwrap_or_default()) {
        missing.push("ALSA's loopback card (the snd-aloop module is not loaded)");
    }
    Missing(missing)
}

/// Whether `/proc/asound/cards` lists snd-aloop's card: lines such as
/// ` 0 [Loopback       ]: Loopback - Loopback`.
fn loopback_loaded(cards: &str) -> bool {
    cards.lines().any(|line| {
        line.split_once('[')
            .and_then(|(_, rest)| rest.split_once(']'))
            .is_some_and(|(id, _)| id.trim().starts_with("Loopback"))
    })
}

impl Missing {
    /// The jitsi step's line: what is in place, or what is missing and where to get it.
    pub fn message(&self) -> Result<String, String> {
        if self.0.is_empty() {
            Ok("jibri's runtime is in place (chromium, chromedriver, ffmpeg, Xorg's dummy driver, icewm, ALSA's loopback card)".into())
        } else {
            Err(format!(
                "this machine lacks jibri's runtime: {}; recorders run the recorder image (image/offline/build --role recorder, Packer's role = \"recorder\"; docs/recording.md)",
                self.0.join(", ")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loopback_card_is_found_by_its_id_only() {
        let cards = " 0 [Loopback       ]: Loopback - Loopback\n                      Loopback 1\n";
        assert!(loopback_loaded(cards));
        assert!(!loopback_loaded(
            " 0 [PCH            ]: HDA-Intel - HDA Intel PCH\n"
        ));
        assert!(!loopback_loaded("--- no soundcards ---\n"));
        assert!(!loopback_loaded(""));
    }

    #[test]
    fn an_empty_root_lacks_everything_and_a_full_one_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = Paths::new(dir.path());
        let missing = check(&paths);
        assert_eq!(missing.0.len(), TOOLS.len() + 1, "{missing:?}");
        let message = missing.message().expect_err("nothing is installed");
        assert!(
            message.contains("chromium, chromedriver, ffmpeg"),
            "{message}"
        );
        assert!(
            message.contains("snd-aloop module is not loaded"),
            "{message}"
        );
        for (path, _) in TOOLS {
            let full = paths.join(path);
            std::fs::create_dir_all(full.parent().expect("a parent")).expect("mkdir");
            std::fs::write(&full, b"").expect("write");
        }
        let cards = paths.join(ASOUND_CARDS);
        std::fs::create_dir_all(cards.parent().expect("a parent")).expect("mkdir");
        std::fs::write(&cards, " 0 [Loopback       ]: Loopback - Loopback\n").expect("write");
        assert_eq!(check(&paths), Missing(Vec::new()));
        assert!(check(&paths).message().is_ok());
    }
}
