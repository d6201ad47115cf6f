#!/usr/bin/env bash
# Makes Lua 5.4 (Prosody 13's interpreter) find the Lua libraries Jitsi's token (JWT) plugin
# loads, then checks that all of them load. Run as root by provision.sh in every image and by
# tests/install-deps on the test machine.
#
# Why: jitsi-meet's resources/prosody-plugins/token/util.lib.lua and luajwtjitsi.lib.lua
# `require` basexx, cjson.safe and openssl.hmac (inspect for debug output). Debian 12 and 13
# (lua-basexx 0.3-2.1, lua-inspect 3.1.x) and Ubuntu package basexx and inspect for Lua
# 5.1-5.3 only, so on Prosody 13 `auth_token` fails to load ("module 'basexx' not found")
# and prosody offers no login. Both are pure Lua, version-independent code:
# docker-jitsi-meet installs the same releases for 5.4 with luarocks. Here the packaged file
# is linked into /usr/local/share/lua/5.4, which is on Lua 5.4's default path before
# /usr/share and is the administrator's, not dpkg's: an upgrade of the package keeps the
# link pointing at the new copy, and a package that starts shipping a 5.4 copy is shadowed
# by the same code. The C libraries (cjson, luaossl) are packaged for 5.4 already.
set -euo pipefail

lua=${LUA:-lua5.4}
dest=${LUA54_LOCAL:-/usr/local/share/lua/5.4}
pure=(basexx inspect)
needed=(basexx cjson.safe openssl.hmac inspect)

loads() { "$lua" -e "require '$1'" >/dev/null 2>&1; }

command -v "$lua" >/dev/null || { echo "lua54-libraries: $lua is not installed (Prosody 13 depends on it)" >&2; exit 1; }
for name in "${pure[@]}"; do
  loads "$name" && continue
  found=""
  for v in 5.3 5.2 5.1; do
    if [[ -f /usr/share/lua/$v/$name.lua ]]; then found=/usr/share/lua/$v/$name.lua; break; fi
  done
  if [[ -z $found ]]; then
    echo "lua54-libraries: no packaged copy of the Lua library '$name' (install lua-$name)" >&2
    exit 1
  fi
  mkdir -p "$dest"
  ln -sfn "$found" "$dest/$name.lua"
  echo "lua54-libraries: $dest/$name.lua -> $found"
done
bad=()
for name in "${needed[@]}"; do loads "$name" || bad+=("$name"); done
if ((${#bad[@]})); then
  echo "lua54-libraries: Lua 5.4 still cannot load: ${bad[*]} ($("$lua" -e "require '${bad[0]}'" 2>&1 | head -1))" >&2
  exit 1
fi
echo "lua54-libraries: Lua 5.4 loads ${needed[*]}"
