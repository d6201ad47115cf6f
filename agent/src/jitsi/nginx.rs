//! nginx's site for the server: HTTP only for ACME challenges and the redirect to HTTPS;
//! HTTPS with the installed certificate (the shipped snippet), HSTS, the web app's static
//! files and `config.js` (pulled into index.html by server-side includes), XMPP over BOSH
//! (`/http-bind`) and websocket (`/xmpp-websocket`) to prosody, and `/_api/room-info`.
//! There is no `/colibri-ws/`: the bridge channel is SCTP (upstream removed colibri
//! websockets in 2026). With `jitsi.turn.tls_host` set, a stream server owns port 443 and
//! hands connections for that name (TLS SNI, read without decrypting) to coturn's TLS port
//! and all others to the site, which then listens on loopback.
//!
//! The site follows upstream's two current nginx sites, read side by side (2026-12):
//! jitsi/jitsi-meet `doc/debian/jitsi-meet/jitsi-meet.example` (stored version
//! 6e49cfeb00cc; the Debian package's site) and jitsi/docker-jitsi-meet
//! `web/rootfs/defaults/meet.conf` (9ea0cbba255c, 2026-07-29) with its `nginx.conf`
//! (086d047f8a62, 2026-06-19, the http-level `types` and gzip settings). Left out, because
//! a single-tenant appliance without JaaS, jibri or load tests does not use them: tenant
//! subpaths (`/TENANT/...`), `/_api/public/`, `/_unlock`, `/conference-request/v1`,
//! `/_load-test/` and the per-bridge `upstream` blocks.

use std::fmt::Write;

/// The site (Debian's nginx includes sites-enabled/, which links here).
pub const SITE: &str = "/etc/nginx/sites-available/ryo-jitsi.conf";
/// The stream server for TURN on 443 (main context: Debian includes modules-enabled/*.conf
/// there, after 50-mod-stream.conf loads the module).
pub const STREAM: &str = "/etc/nginx/modules-enabled/60-ryo-jitsi-turn.conf";
/// Debian's file that loads the stream module (libnginx-mod-stream).
pub const STREAM_MODULE: &str = "/etc/nginx/modules-enabled/50-mod-stream.conf";
/// nginx's table of file types, which Debian's nginx.conf includes before the sites.
pub const MIME_TYPES: &str = "/etc/nginx/mime.types";
/// The installed jitsi-meet web app.
pub const JITSI_MEET: &str = "/usr/share/jitsi-meet";
/// The appliance's own page, served until jitsi-meet is installed.
pub const PLACEHOLDER: &str = "/usr/share/ryo-jitsi/www";
/// Where the site listens (127.0.0.1) when the stream server owns 443.
const BEHIND_STREAM: u16 = crate::vocab::ports::SITE_BEHIND_STREAM;
/// Where the stream server hands TURN connections (127.0.0.1) to take the PROXY protocol
/// header off.
const TURN_BEHIND_STREAM: u16 = crate::vocab::ports::TURN_BEHIND_STREAM;
/// prosody's HTTP port (BOSH, websocket, room-info), loopback.
const PROSODY_HTTP: u16 = crate::vocab::ports::PROSODY_HTTP;

/// The types the web app needs that older mime.types files lack (upstream's site adds both:
/// WebAssembly for the noise suppression and virtual background code, wav for sounds that
/// Firefox only plays with the right type).
const WEB_APP_TYPES: [(&str, &str); 2] = [("application/wasm", "wasm"), ("audio/wav", "wav")];

/// What the renderer needs.
pub struct Inputs<'a> {
    /// The site's domain, if one is configured.
    pub domain: Option<&'a str>,
    /// Whether jitsi-meet's web app is installed (else the placeholder page is served).
    pub jitsi_meet: bool,
    /// TURN on 443: the name and coturn's TLS port.
    pub turn_on_443: Option<(&'a str, u16)>,
    /// The installed mime.types, if readable: only the web app's types it lacks are added
    /// (nginx warns about every extension mapped twice, at each test and reload).
    pub mime_types: Option<&'a str>,
    /// The site serves dial-in: the numbers file and the PIN service (jitsi/dial_in.rs).
    pub dial_in: bool,
}

/// The web app's (type, extension) pairs that `mime_types` does not map yet.
pub fn missing_types(mime_types: Option<&str>) -> Vec<(&'static str, &'static str)> {
    let mapped = |ext: &str| {
        mime_types.is_some_and(|text| {
            text.lines()
                .map(|line| line.split('#').next().unwrap_or(""))
                .any(|line| {
                    line.split_whitespace()
                        .skip(1)
                        .any(|word| word.trim_end_matches(';') == ext)
                })
        })
    };
    WEB_APP_TYPES
        .into_iter()
        .filter(|(_, ext)| !mapped(ext))
        .collect()
}

/// Renders the site.
pub fn render_site(i: &Inputs<'_>) -> String {
    let mut o = String::new();
    // `writeln!` into a String cannot fail.
    header(&mut o);
    mime_types(&mut o, i);
    if i.dial_in {
        dial_in_limits(&mut o);
    }
    servers(&mut o, i);
    if let Some(domain) = i.domain {
        config_js(&mut o, domain);
    }
    xmpp_proxies(&mut o);
    if let (true, Some(domain)) = (i.dial_in, i.domain) {
        dial_in(&mut o, domain);
    }
    if i.jitsi_meet {
        web_app(&mut o);
    } else {
        placeholder(&mut o);
    }
    let _ = writeln!(o, "}}");
    o
}

/// Where the file comes from and which upstream files it follows.
fn header(o: &mut String) {
    let _ = writeln!(
        o,
        "# Managed by meet-agent and rewritten at every boot ([server], [jitsi]). Put your own\n\
         # server blocks in another file in /etc/nginx/sites-enabled/.\n\
         # Follows jitsi/jitsi-meet doc/debian/jitsi-meet/jitsi-meet.example (6e49cfeb00cc) and\n\
         # jitsi/docker-jitsi-meet web/rootfs/defaults/meet.conf (9ea0cbba255c, 2026-07-29)."
    );
}

/// The MIME types the web app needs that the system's table lacks.
fn mime_types(o: &mut String, i: &Inputs<'_>) {
    let missing = missing_types(i.mime_types);
    if !missing.is_empty() {
        // http context (this file is included inside Debian's http block): a `types` block
        // inside the server would replace the whole table instead of adding to it.
        let _ = writeln!(
            o,
            "\n# Types the web app needs that {MIME_TYPES} lacks (upstream's site adds them).\ntypes {{"
        );
        for (kind, ext) in missing {
            let _ = writeln!(o, "    {kind} {ext};");
        }
        let _ = writeln!(o, "}}");
    }
}

/// Port 80 (ACME and the redirect) and the opening of the HTTPS server.
fn servers(o: &mut String, i: &Inputs<'_>) {
    // `listen ... ssl http2` rather than the `http2 on;` directive: `http2 on;` only exists
    // from nginx 1.25.1, and every image's nginx is older (Debian 12: 1.22.1, Ubuntu 22.04:
    // 1.18.0, Ubuntu 24.04: 1.24.0), where it is an unknown directive that stops nginx.
    // The parameter is deprecated (a warning, not an error) only from 1.25.1 on.
    let listen = if i.turn_on_443.is_some() {
        // Every connection comes from the stream server, which sends the client's address
        // first (PROXY protocol). Ours: upstream's site behind its stream server
        // (jitsi-meet.conf, see render_stream) reads no address and sees 127.0.0.1.
        format!(
            "    listen 127.0.0.1:{BEHIND_STREAM} ssl http2 proxy_protocol;\n    \
             set_real_ip_from 127.0.0.1;\n    \
             real_ip_header proxy_protocol;\n"
        )
    } else {
        "    listen 443 ssl http2 default_server;\n    listen [::]:443 ssl http2 default_server;\n"
            .to_string()
    };
    let root = if i.jitsi_meet {
        JITSI_MEET
    } else {
        PLACEHOLDER
    };
    let _ = writeln!(
        o,
        "\nserver {{\n    \
             listen 80 default_server;\n    \
             listen [::]:80 default_server;\n    \
             # ACME HTTP-01 challenges answered from meet-agent's webroot.\n    \
             location ^~ /.well-known/acme-challenge/ {{\n        \
                 default_type \"text/plain\";\n        \
                 root /var/lib/meet-agent/acme-webroot;\n    \
             }}\n    \
             location = /.well-known/acme-challenge/ {{\n        \
                 return 404;\n    \
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
             client_max_body_size 0;\n    \
             # The room name prefix prosody's HTTP modules expect (no tenants here).\n    \
             set $prefix \"\";\n\n    \
             # index.html pulls config.js, interface_config.js and logging_config.js in\n    \
             # through server-side includes; config.js itself may use them too.\n    \
             ssi on;\n    \
             ssi_types application/x-javascript application/javascript;\n\n    \
             gzip on;\n    \
             gzip_types text/plain text/css application/javascript application/json image/x-icon application/octet-stream application/wasm;\n    \
             gzip_vary on;\n    \
             gzip_proxied no-cache no-store private expired auth;\n    \
             gzip_min_length 512;"
    );
}

/// config.js from the agent's file for `domain`.
fn config_js(o: &mut String, domain: &str) {
    let _ = writeln!(
        o,
        "\n    location = /config.js {{\n        \
             alias {};\n        \
             default_type application/javascript;\n    \
         }}",
        super::web::path(domain)
    );
}

/// BOSH, the websocket and room-info, proxied to prosody.
fn xmpp_proxies(o: &mut String) {
    let _ = writeln!(
        o,
        "\n    # XMPP for the web app: BOSH and websocket to prosody.\n    \
         location = /http-bind {{\n        \
             proxy_pass http://127.0.0.1:{PROSODY_HTTP}/http-bind?prefix=$prefix&$args;\n        \
             proxy_http_version 1.1;\n        \
             proxy_set_header X-Forwarded-For $remote_addr;\n        \
             proxy_set_header Host $http_host;\n        \
             proxy_set_header Connection \"\";\n    \
         }}\n    \
         location = /xmpp-websocket {{\n        \
             proxy_pass http://127.0.0.1:{PROSODY_HTTP}/xmpp-websocket?prefix=$prefix&$args;\n        \
             proxy_http_version 1.1;\n        \
             proxy_set_header Upgrade $http_upgrade;\n        \
             proxy_set_header Connection \"upgrade\";\n        \
             proxy_set_header Host $http_host;\n        \
             proxy_set_header X-Forwarded-For $remote_addr;\n        \
             tcp_nodelay on;\n    \
         }}\n    \
         # Who is in a room, for the pre-join screen (prosody's room-info endpoint).\n    \
         location = /_api/room-info {{\n        \
             proxy_pass http://127.0.0.1:{PROSODY_HTTP}/room-info?prefix=$prefix&$args;\n        \
             proxy_http_version 1.1;\n        \
             proxy_set_header X-Forwarded-For $remote_addr;\n        \
             proxy_set_header Host $http_host;\n    \
         }}"
    );
}

/// The PIN service's rate limits (http context). Ours: upstream's mapper is a hosted
/// service. Looking a meeting up by PIN is what guessing would use, so it is slow per
/// client (2 a second, bursts of 10: with 10,000 meetings holding 10-digit PINs, about
/// five days per hit); asking a meeting's PIN, which the web app does, is looser. A client
/// is an IPv4 address or an IPv6 /64 (one network, which a single host often holds whole).
/// The limit is picked from the raw query, which the location only lets through in the two
/// forms the module reads the same way.
fn dial_in_limits(o: &mut String) {
    let h = "[0-9a-f]+";
    let _ = writeln!(
        o,
        "\n# The dial-in PIN service's rate limits (ours; see location {mapper}).\n\
         # A client: an IPv4 address, or an IPv6 address's first four groups written out (nginx\n\
         # prints addresses compressed, RFC 5952, so each place '::' can stand is matched).\n\
         map $remote_addr $ryo_mapper_client {{\n    \
             \"~^::ffff:[0-9.]+$\" $binary_remote_addr;\n    \
             \"~^({h}:{h}:{h}:{h}):\" $1;\n    \
             \"~^({h}:{h}:{h})::\" $1:0;\n    \
             \"~^({h}:{h})::\" $1:0:0;\n    \
             \"~^({h})::({h})(?::{h}){{4}}$\" $1:0:0:$2;\n    \
             \"~^({h})::\" $1:0:0:0;\n    \
             \"~^::({h}):({h})(?::{h}){{4}}$\" 0:0:$1:$2;\n    \
             \"~^::({h})(?::{h}){{4}}$\" 0:0:0:$1;\n    \
             \"~^::\" 0:0:0:0;\n    \
             default $binary_remote_addr;\n\
         }}\n\
         map $args $ryo_mapper_pin_client {{\n    \
             \"~^id=\" $ryo_mapper_client;\n    \
             default \"\";\n\
         }}\n\
         map $args $ryo_mapper_room_client {{\n    \
             \"~^id=\" \"\";\n    \
             default $ryo_mapper_client;\n\
         }}\n\
         limit_req_zone $ryo_mapper_pin_client zone=ryo_mapper_pins:1m rate=2r/s;\n\
         limit_req_zone $ryo_mapper_room_client zone=ryo_mapper_rooms:1m rate=10r/s;",
        mapper = super::dial_in::MAPPER_URL_PATH
    );
}

/// Dial-in for the web app: the numbers file and the PIN service, proxied to prosody like
/// room-info (docker-jitsi-meet 2e6b31d8 `web/rootfs/defaults/meet.conf`'s
/// `/_api/room-info`).
fn dial_in(o: &mut String, domain: &str) {
    let _ = writeln!(
        o,
        "\n    # Dial-in: the numbers callers dial, and each meeting's PIN (our prosody module).\n    \
         location = {numbers_path} {{\n        \
             alias {numbers};\n        \
             default_type application/json;\n    \
         }}\n    \
         location = {mapper_path} {{\n        \
             default_type application/json;\n        \
             # Only the two queries the web app and IVRs send: the rate limit is picked from\n        \
             # the query as sent, so nothing prosody would read differently gets through.\n        \
             if ($args !~ \"^(id=[1-9][0-9]{{{more_digits}}}|conference=[^&]*(&url=[^&]*)?)$\") {{\n            \
                 return 400 '{{\"message\": \"Ask with ?id=PIN ({digits} digits) or ?conference=ROOM@MUC\"}}\\n';\n        \
             }}\n        \
             limit_req zone=ryo_mapper_pins burst=10 nodelay;\n        \
             limit_req zone=ryo_mapper_rooms burst=50 nodelay;\n        \
             limit_req_status 429;\n        \
             proxy_pass http://127.0.0.1:{PROSODY_HTTP}{prosody_path}$is_args$args;\n        \
             proxy_http_version 1.1;\n        \
             proxy_set_header X-Forwarded-For $remote_addr;\n        \
             # The module runs on prosody's auth. host, whose storage is kept.\n        \
             proxy_set_header Host {auth_host};\n    \
         }}",
        numbers_path = super::dial_in::NUMBERS_URL_PATH,
        numbers = super::dial_in::NUMBERS,
        mapper_path = super::dial_in::MAPPER_URL_PATH,
        prosody_path = super::dial_in::MAPPER_PROSODY_PATH,
        auth_host = crate::plan::xmpp::XmppNames::new(domain).auth,
        digits = super::dial_in::PIN_DIGITS,
        more_digits = super::dial_in::PIN_DIGITS - 1,
    );
}

/// jitsi-meet's web app: its static files and rooms.
fn web_app(o: &mut String) {
    let _ = writeln!(
        o,
        "\n    error_page 404 /static/404.html;\n\n    \
         location = /interface_config.js {{\n        \
             alias {JITSI_MEET}/interface_config.js;\n    \
         }}\n    \
         location = /logging_config.js {{\n        \
             alias {JITSI_MEET}/logging_config.js;\n    \
         }}\n    \
         location = /external_api.js {{\n        \
             alias {JITSI_MEET}/libs/external_api.min.js;\n    \
         }}\n\n    \
         # The web app's static files (and its .well-known files), found before any room.\n    \
         location ~ ^/(libs|css|static|images|fonts|lang|sounds|connection_optimization|\\.well-known)/(.*)$ {{\n        \
             add_header Access-Control-Allow-Origin \"*\";\n        \
             # add_header here drops the server's, so HSTS is repeated.\n        \
             add_header Strict-Transport-Security \"max-age=63072000\" always;\n        \
             alias {JITSI_MEET}/$1/$2;\n        \
             # Versioned files (?v=...) never change.\n        \
             if ($arg_v) {{\n            \
                 expires 1y;\n        \
             }}\n    \
         }}\n\n    \
         # Any other single-segment path that is not a file is a room: the app's page.\n    \
         location ~ ^/([^/?&:'\"]+)$ {{\n        \
             try_files $uri @room;\n    \
         }}\n    \
         location @room {{\n        \
             rewrite ^/(.*)$ / break;\n    \
         }}"
    );
}

/// Without the web app: the appliance's placeholder page.
fn placeholder(o: &mut String) {
    let _ = writeln!(
        o,
        "\n    # jitsi-meet's web app is not installed: the appliance's page.\n    \
         location / {{\n        \
             try_files $uri /index.html;\n    \
         }}"
    );
}

/// Renders the stream server that shares port 443 between the site and coturn. It follows
/// jitsi/jitsi-meet `doc/debian/jitsi-meet/jitsi-meet.conf` (stored version 47cffeb00ab2:
/// `ssl_preread`, the site on 127.0.0.1:4444, TURN on 4445), but picks by name (SNI)
/// where that file picks by ALPN, and adds what upstream leaves out: the PROXY protocol
/// header, so the site sees each client's address (for its
/// per-address limits and prosody's X-Forwarded-For) instead of 127.0.0.1 for all. coturn
/// does not read that header, so TURN goes through a second server that takes it off.
pub fn render_stream(turn_host: &str, turn_tls_port: u16) -> String {
    format!(
        "# Managed by meet-agent ([jitsi.turn] tls_host): port 443 is shared by name. TLS\n\
         # connections for {turn_host} go to coturn's TLS port, all others to the web site.\n\
         stream {{\n    \
             map $ssl_preread_server_name $ryo_jitsi_upstream {{\n        \
                 {turn_host} 127.0.0.1:{TURN_BEHIND_STREAM};\n        \
                 default 127.0.0.1:{BEHIND_STREAM};\n    \
             }}\n    \
             server {{\n        \
                 listen 443;\n        \
                 listen [::]:443;\n        \
                 ssl_preread on;\n        \
                 # The client's address for the site, which reads it (real_ip_header).\n        \
                 proxy_protocol on;\n        \
                 proxy_pass $ryo_jitsi_upstream;\n    \
             }}\n    \
             # coturn does not read the PROXY protocol: this hop takes the header off.\n    \
             server {{\n        \
                 listen 127.0.0.1:{TURN_BEHIND_STREAM} proxy_protocol;\n        \
                 proxy_pass 127.0.0.1:{turn_tls_port};\n    \
             }}\n\
         }}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::missing_types;

    #[test]
    fn only_the_types_mime_types_lacks_are_added() {
        // Debian 12's mime.types maps wasm but not wav.
        let debian =
            "types {\n    application/wasm                      wasm;\n    audio/mpeg mp3;\n}\n";
        assert_eq!(missing_types(Some(debian)), vec![("audio/wav", "wav")]);
        assert_eq!(missing_types(None).len(), 2);
        // A commented mapping does not count.
        assert_eq!(missing_types(Some("# audio/wav wav;\n")).len(), 2);
    }
}
