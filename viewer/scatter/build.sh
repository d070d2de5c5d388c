#!/usr/bin/env bash
# Rebuilds regl-scatterplot.min.js (regl-scatterplot with regl, pub-sub-es and its other dependencies, as one
# minified IIFE that defines `reglScatterplot`) and regl-scatterplot.LICENSE.txt from the packages pinned in
# package.json and package-lock.json. Needs node and npm with registry access; not run by the tests or make.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$here/package.json" "$work/"
if [[ -f "$here/package-lock.json" ]]; then cp "$here/package-lock.json" "$work/"; fi
cd "$work"
if [[ -f package-lock.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error
else
  npm install --no-audit --no-fund --loglevel=error
  cp package-lock.json "$here/"
fi
version="$(node -p "require('regl-scatterplot/package.json').version")"
# No target lowering (esbuild's default is esnext): regl-scatterplot builds its spatial-index worker from a
# function's source text, which must not come to depend on esbuild's helpers.
./node_modules/.bin/esbuild node_modules/regl-scatterplot/dist/regl-scatterplot.esm.js \
  --bundle --minify --format=iife --global-name=reglScatterplot --legal-comments=none \
  --banner:js="/*! regl-scatterplot $version (MIT, Fritz Lekschas) bundled with its dependencies; licenses in regl-scatterplot.LICENSE.txt */" \
  --outfile="$here/regl-scatterplot.min.js"
# Every bundled package's licence: all packages the lock file installed except esbuild itself.
node - "$here/regl-scatterplot.LICENSE.txt" <<'JS'
const fs = require('fs');
const lock = require('./package-lock.json');
let out = 'regl-scatterplot.min.js bundles the following npm packages, each under its own licence below.\n';
for (const dir of Object.keys(lock.packages).sort()) {
  if (!dir || /esbuild/.test(dir)) continue;
  const pkg = require(`./${dir}/package.json`);
  const file = fs.readdirSync(dir).find((name) => /^licen[cs]e/i.test(name));
  out += `\n=== ${pkg.name} ${pkg.version} (${pkg.license}) ===\n\n`;
  out += file ? fs.readFileSync(`${dir}/${file}`, 'utf8') : '(no licence file in the package)\n';
}
fs.writeFileSync(process.argv[2], out);
JS
ls -l "$here/regl-scatterplot.min.js" "$here/regl-scatterplot.LICENSE.txt"
