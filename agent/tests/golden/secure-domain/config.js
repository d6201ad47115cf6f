// Managed by meet-agent and rewritten at every boot from its configuration ([jitsi],
// [jitsi.quality]); put additions in /etc/meet-agent/config.local.js, which is appended below.
var config = {
  "audioQuality": {
    "stereo": false
  },
  "bosh": "https://meet.example.test/http-bind",
  "constraints": {
    "video": {
      "height": {
        "ideal": 720,
        "max": 720,
        "min": 180
      },
      "width": {
        "ideal": 1280,
        "max": 1280,
        "min": 320
      }
    }
  },
  "disableAEC": false,
  "disableAGC": false,
  "disableAP": false,
  "disableHPF": false,
  "disableNS": false,
  "disableSimulcast": false,
  "hideLobbyButton": false,
  "hosts": {
    "anonymousdomain": "guest.meet.example.test",
    "domain": "meet.example.test",
    "muc": "conference.meet.example.test"
  },
  "prejoinConfig": {
    "enabled": true
  },
  "resolution": 720,
  "testing": {
    "disableE2EE": false
  },
  "videoQuality": {
    "codecPreferenceOrder": [
      "AV1",
      "VP9",
      "VP8",
      "H264"
    ]
  },
  "websocket": "wss://meet.example.test/xmpp-websocket"
};
