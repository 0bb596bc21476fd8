#!/usr/bin/env bash
# The asv dashboard of nnfast's last N commits of main, in one command from a fresh clone:
#
#     scripts/asv_dashboard.sh [N] [--local-js]        # N defaults to 5
#
# Creates a virtual environment with the pinned asv (asv_bench/env/, gitignored), records
# this machine, benchmarks each of the N commits once (one sample per benchmark: enough
# for a trend, and about 5 minutes per commit on 2 cores, a good part of it the first Numba
# compilation of each commit), publishes the HTML to asv_bench/html/ and says how to view
# it. Commits already benchmarked on this machine are skipped, so a rerun only adds new ones.
#
# asv's pages load jQuery, flot, bootstrap, stupidtable and md5 from CDNs. Without internet
# access (these machines reach only PyPI and Debian) pass --local-js: the pages then load
# Debian's copies (apt-get install libjs-jquery libjs-jquery-flot libjs-bootstrap
# libjs-jquery-stupidtable node-blueimp-md5), copied into html/vendor/. Debian's flot is
# 4.x, not asv's 0.8.3: the graphs draw the same; the bar-ordering plugin is left out.
set -euo pipefail
N=5
LOCAL_JS=0
for arg in "$@"; do
    case "$arg" in
        --local-js) LOCAL_JS=1 ;;
        *[!0-9]* | "") echo "usage: $0 [N] [--local-js]" >&2; exit 2 ;;
        *) N="$arg" ;;
    esac
done
ASV_VERSION="0.6.4"   # the same pin as pyproject's "bench" extra and .ci/run
cd "$(dirname "$0")/../asv_bench"

venv="env/asv-venv"
if [ ! -x "$venv/bin/asv" ]; then
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet "asv==$ASV_VERSION" virtualenv
fi
export PATH="$PWD/$venv/bin:$PATH"

asv machine --yes
git rev-list --max-count="$N" main > env/last-commits.txt
asv run --show-stderr --skip-existing-commits -a repeat=1 -a rounds=1 "HASHFILE:env/last-commits.txt" || {
    echo "some benchmarks failed (see above); publishing what was measured" >&2; }
asv publish

if [ "$LOCAL_JS" = 1 ]; then
    python3 - html <<'PY'
"""Point html/index.html at Debian's JavaScript packages instead of CDNs."""
import os, re, shutil, sys

html_dir = sys.argv[1]
js = "/usr/share/javascript/"
local = {  # end of the CDN URL -> Debian's file
    "jquery-3.3.1.min.js": js + "jquery/jquery.min.js",
    "flot/0.8.3/jquery.flot.min.js": js + "jquery-flot/jquery.flot.min.js",  # bundles time, selection, categories, axis labels
    "stupidtable.min.js": js + "jquery-stupidtable/stupidtable.min.js",
    "md5.min.js": js + "blueimp-md5/md5.min.js",
    "bootstrap.min.js": js + "bootstrap/js/bootstrap.min.js",
    "bootstrap.min.css": js + "bootstrap/css/bootstrap.min.css",
}
missing = [f for f in local.values() if not os.path.exists(f)]
if missing:
    sys.exit("--local-js: missing " + ", ".join(missing) + "\n  apt-get install libjs-jquery "
             "libjs-jquery-flot libjs-bootstrap libjs-jquery-stupidtable node-blueimp-md5")
os.makedirs(os.path.join(html_dir, "vendor"), exist_ok=True)

def replace(match):
    tag, url = match.group(0), match.group(1)
    for suffix, path in local.items():
        if url.endswith(suffix):
            name = "vendor/" + os.path.basename(path)
            shutil.copy(path, os.path.join(html_dir, name))
            tag = re.sub(r'\s(integrity|crossorigin|referrerpolicy)="[^"]*"', "", tag)  # other builds
            return tag.replace(url, name)
    return ""  # flot 0.8 plugins already in Debian's bundle; orderBars has no package

index = os.path.join(html_dir, "index.html")
page = open(index).read()
page = re.sub(r'<(?:script|link)[^>]*?(?:src|href)="(https://[^"]+)"[^>]*>(?:</script>)?', replace, page)
# flot 4 draws axis labels itself (asv's 0.8 plugin would draw them twice) and its legend
# background is an SVG rect that defaults to black.
page = page.replace('<script language="javascript" type="text/javascript" src="jquery.flot.axislabels.js"></script>', "")
page = page.replace("</head>", "<style>.legendLayer rect.background { fill: #fff; }</style>\n</head>", 1)
open(index, "w").write(page)
print("html/index.html now loads its JavaScript from html/vendor/ (Debian's packages)")
PY
fi

cat <<MSG

Dashboard written to $PWD/html. To view it:
    cd $PWD && $venv/bin/asv preview          # then open http://127.0.0.1:8080
or without asv:
    python3 -m http.server --bind 127.0.0.1 --directory $PWD/html 8000
MSG
