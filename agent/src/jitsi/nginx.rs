//! nginx's site for the server: HTTP only for ACME challenges and the redirect to HTTPS;
//! HTTPS with the installed certificate (the shipped snippet), HSTS, the web app's static
//! files and `config.js`, XMPP over BOSH (`/http-bind`) and websocket (`/xmpp-websocket`)
//! to prosody, and the bridge's colibri websockets (`/colibri-ws/`). With
//! `jitsi.turn.tls_host` set, a stream server owns port 443 and hands connections for that
//! name (TLS SNI, read without decrypting) to coturn's TLS port and all others to the site,
//! which then listens on loopback.

use super::videobridge::COLIBRI_WS_PORT;
use std::fmt::Write;

/// The site (Debian's nginx includes sites-enabled/, which links here).
pub const SITE: &str = "/etc/nginx/sites-available/ryo-jitsi.conf";
/// The stream server for TURN on 443 (main context: Debian includes modules-enabled/*.conf
/// there, after 50-mod-stream.conf loads the module).
pub const STREAM: &str = "/etc/nginx/modules-enabled/60-ryo-jitsi-turn.conf";
/// Debian's file that loads the stream module (libnginx-mod-stream).
pub const STREAM_MODULE: &str = "/etc/nginx/modules-enabled/50-mod-stream.conf";
/// The installed jitsi-meet web app.
pub const JITSI_MEET: &str = "/usr/share/jitsi-meet";
/// The appliance's own page, served until jitsi-meet is installed.
pub const PLACEHOLDER: &str = "/usr/share/ryo-jitsi/www";
/// Where the site listens when the stream server owns 443.
const BEHIND_STREAM: &str = "127.0.0.1:4444";
/// prosody's HTTP port (BOSH and websocket), loopback.
const PROSODY_HTTP: u16 = 5280;

/// What the renderer needs.
pub struct Inputs<'a> {
    /// The site's domain, if one is configured.
    pub domain: Option<&'a str>,
    /// Whether jitsi-meet's web app is installed (else the placeholder page is served).
    pub jitsi_meet: bool,
    /// TURN on 443: the name and coturn's TLS port.
    pub turn_on_443: Option<(&'a str, u16)>,
}

/// Renders the site.
pub fn render_site(i: &Inputs<'_>) -> String {
    let mut o = String::new();
    let listen = if i.turn_on_443.is_some() {
        format!("    listen {BEHIND_STREAM} ssl http2;\n")
    } else {
        "    listen 443 ssl http2 default_server;\n    listen [::]:443 ssl http2 default_server;\n"
            .to_string()
    };
    let root = if i.jitsi_meet {
        JITSI_MEET
    } else {
        PLACEHOLDER
    };
    // `writeln!` into a String cannot fail.
    let _ = writeln!(
        o,
        "# Managed by meet-agent and rewritten at every boot ([server], [jitsi]). Put your own\n\
         # server blocks in another file in /etc/nginx/sites-enabled/.\n\
         server {{\n    \
             listen 80 default_server;\n    \
             listen [::]:80 default_server;\n    \
             # ACME HTTP-01 challenges answered from meet-agent's webroot.\n    \
             location ^~ /.well-known/acme-challenge/ {{\n        \
                 root /var/lib/meet-agent/acme-webroot;\n    \
             }}\n    \
             location / {{\n        \
                 return 301 https://$host$request_uri;\n    \
             }}\n\
         }}\n\n\
         server {{\n\
         {listen}    \
             include /etc/nginx/snippets/meet-agent-tls.conf;\n    \
             ssl_protocols TLSv1.2 TLSv1.3;\n    \
             add_header Strict-Transport-Security \"max-age=63072000\" always;\n    \
             root {root};\n    \
             index index.html;\n    \
             client_max_body_size 0;"
    );
    if let Some(domain) = i.domain {
        let _ = writeln!(
            o,
            "\n    location = /config.js {{\n        \
                 alias {};\n        \
                 default_type application/javascript;\n    \
             }}",
            super::web::path(domain)
        );
    }
    let _ = writeln!(
        o,
        "\n    # XMPP for the web app: BOSH and websocket to prosody.\n    \
         location = /http-bind {{\n        \
             proxy_pass http://127.0.0.1:{PROSODY_HTTP}/http-bind$is_args$args;\n        \
             proxy_set_header X-Forwarded-For $remote_addr;\n        \
             proxy_set_header Host $http_host;\n    \
         }}\n    \
         location = /xmpp-websocket {{\n        \
             proxy_pass http://127.0.0.1:{PROSODY_HTTP}/xmpp-websocket$is_args$args;\n        \
             proxy_http_version 1.1;\n        \
             proxy_set_header Upgrade $http_upgrade;\n        \
             proxy_set_header Connection \"upgrade\";\n        \
             proxy_set_header Host $http_host;\n        \
             tcp_nodelay on;\n    \
         }}\n    \
         # The bridge channel (colibri websockets) to the videobridge.\n    \
         location ~ ^/colibri-ws/([a-zA-Z0-9._-]+)/(.*) {{\n        \
             proxy_pass http://127.0.0.1:{COLIBRI_WS_PORT}/colibri-ws/$1/$2$is_args$args;\n        \
             proxy_http_version 1.1;\n        \
             proxy_set_header Upgrade $http_upgrade;\n        \
             proxy_set_header Connection \"upgrade\";\n        \
             tcp_nodelay on;\n    \
         }}"
    );
    if i.jitsi_meet {
        let _ = writeln!(
            o,
            "\n    # The web app's static files; any other single-segment path is a room.\n    \
             location ~ ^/(libs|css|static|images|fonts|lang|sounds)/(.*)$ {{\n        \
                 add_header Access-Control-Allow-Origin \"*\";\n        \
                 add_header Strict-Transport-Security \"max-age=63072000\" always;\n        \
                 alias {JITSI_MEET}/$1/$2;\n        \
                 expires 1h;\n    \
             }}\n    \
             location = /external_api.js {{\n        \
                 alias {JITSI_MEET}/libs/external_api.min.js;\n    \
             }}\n    \
             location ~ ^/([^/?&:'\"]+)$ {{\n        \
                 try_files $uri @room;\n    \
             }}\n    \
             location @room {{\n        \
                 rewrite ^/(.*)$ / break;\n    \
             }}"
        );
    } else {
        let _ = writeln!(
            o,
            "\n    # jitsi-meet's web app is not installed: the appliance's page.\n    \
             location / {{\n        \
                 try_files $uri /index.html;\n    \
             }}"
        );
    }
    let _ = writeln!(o, "}}");
    o
}

/// Renders the stream server that shares port 443 between the site and coturn.
pub fn render_stream(turn_host: &str, turn_tls_port: u16) -> String {
    format!(
        "# Managed by meet-agent ([jitsi.turn] tls_host): port 443 is shared by name. TLS\n\
         # connections for {turn_host} go to coturn's TLS port, all others to the web site.\n\
         stream {{\n    \
             map $ssl_preread_server_name $ryo_jitsi_upstream {{\n        \
                 {turn_host} 127.0.0.1:{turn_tls_port};\n        \
                 default {BEHIND_STREAM};\n    \
             }}\n    \
             server {{\n        \
                 listen 443;\n        \
                 listen [::]:443;\n        \
                 ssl_preread on;\n        \
                 proxy_pass $ryo_jitsi_upstream;\n    \
             }}\n\
         }}\n"
    )
}
