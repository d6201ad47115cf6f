// Managed by meet-agent and rewritten at every boot from its configuration ([jitsi],
// [jitsi.quality]); put additions in /etc/meet-agent/config.local.js, which is appended below.
// Keys as jitsi/docker-jitsi-meet web/rootfs/defaults/system-config.js and
// settings-config.js (afb8c24df670, 2026-08-18) write them.
var config = {
  "audioQuality": {
    "stereo": false
  },
  "bosh": "https://meet.example.test/http-bind",
  "bridgeChannel": {
    "preferSctp": true
  },
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
  "dialInConfCodeUrl": "https://meet.example.test/_api/conference-mapper",
  "dialInNumbersUrl": "https://meet.example.test/_api/dial-in-numbers",
  "disableAEC": false,
  "disableAGC": false,
  "disableAP": false,
  "disableNS": false,
  "disableSimulcast": false,
  "e2ee": {
    "disabled": false
  },
  "hosts": {
    "domain": "meet.example.test",
    "muc": "conference.meet.example.test"
  },
  "p2p": {
    "codecPreferenceOrder": [
      "AV1",
      "VP9",
      "VP8",
      "H264"
    ],
    "enabled": true,
    "stunServers": [
      {
        "urls": "stun:meet.example.test:3478"
      }
    ]
  },
  "prejoinConfig": {
    "enabled": true
  },
  "resolution": 720,
  "securityUi": {
    "hideLobbyButton": false
  },
  "videoQuality": {
    "codecPreferenceOrder": [
      "AV1",
      "VP9",
      "VP8",
      "H264"
    ]
  },
  "virtualBackground": {
    "enableV2": true
  },
  "websocket": "wss://meet.example.test/xmpp-websocket"
};
