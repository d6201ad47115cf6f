//! The web app's and the stack's settings as the jitsi step renders them: config builds
//! [`JitsiSettings`] (and parses `[jitsi.quality]` straight into [`Quality`]).

pub use crate::vocab::AuthMode;
use serde::{Deserialize, Serialize};

/// Validated `[jitsi]` settings.
#[derive(Debug, Clone)]
pub struct JitsiSettings {
    /// Who may create rooms.
    pub auth: AuthMode,
    /// JWT application id (JWT mode).
    pub jwt_app_id: Option<String>,
    /// A configured JWT secret (else the per-instance one).
    pub jwt_app_secret: Option<crate::secret::Secret>,
    /// TURN (coturn).
    pub turn: super::coturn::TurnSettings,
    /// The lobby.
    pub lobby: bool,
    /// The pre-join page.
    pub prejoin: bool,
    /// End-to-end encryption offered.
    pub e2ee: bool,
    /// Audio and video quality (codec names upper-cased).
    pub quality: Quality,
}

/// `[jitsi.quality]`: what the web app asks of browsers.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Quality {
    /// Opus maximum average bitrate in bit/s (6000..=510000); unset: Jitsi's default.
    pub opus_max_average_bitrate: Option<u32>,
    /// Stereo audio.
    pub stereo: bool,
    /// Browser audio processing (echo cancellation, noise suppression, gain control,
    /// high-pass filter); false sends the microphone as it is, for music.
    pub audio_processing: bool,
    /// Highest camera resolution (video height, 180..=1080).
    pub max_resolution: u32,
    /// Video codecs in order of preference: VP8, VP9, H264, AV1.
    pub codec_preference: Vec<String>,
    /// Simulcast (each sender sends several qualities; the bridge picks per receiver).
    pub simulcast: bool,
}

impl Default for Quality {
    fn default() -> Self {
        Self {
            opus_max_average_bitrate: None,
            stereo: false,
            audio_processing: true,
            max_resolution: 720,
            codec_preference: ["AV1", "VP9", "VP8", "H264"].map(String::from).to_vec(),
            simulcast: true,
        }
    }
}
