#!/usr/bin/env bash
# The asv dashboard of nnfast's last N commits of main, in one command from a fresh clone:
#
#     scripts/asv_dashboard.sh [N] [--local-js] [--repeats R]     # N defaults to 5, R to 7
#
# Checks every precondition first (git and main, python3 with venv, the Python of
# asv.conf.json, and with --local-js Debian's JavaScript files), so that nothing fails after
# the long part. Then creates a virtual environment with the pinned asv (asv_bench/env/,
# gitignored), records this machine, and benchmarks each commit not yet measured on this
# machine, one at a time with the elapsed time and an estimate of the time left: the whole
# suite once (one sample per benchmark: enough for a trend; a good part of each commit's
# time is the first Numba compilation), then the track_ speed-up ratios R - 1 more times,
# each in new processes. The dashboard shows the median of the R ratios per commit: one
# ratio is one process's best of 3 and moved by 2x between two identical commits; the
# spread of the R ratios is printed per commit. R = 7 because that is what brought the
# medians of three commits with the same package code within 10% of each other for 36
# of the 38 ratios on a quiet machine (R = 1: 22; see the README, "Reading the
# dashboard's noise"). Publishes the HTML to asv_bench/html/ and
# says how to view it.
#
# asv's pages load jQuery, flot, bootstrap, stupidtable and md5 from CDNs. Without internet
# access (these machines reach only PyPI and Debian) pass --local-js: the pages then load
# Debian's copies (see LOCAL_JS_PACKAGES below), copied into html/vendor/. Debian's flot is
# 4.x, not asv's 0.8.3: the graphs draw the same; the bar-ordering plugin is left out.
set -euo pipefail

usage="usage: $0 [N] [--local-js] [--repeats R]
  N            benchmark the last N commits of main (default 5; commits already measured
               on this machine are skipped)
  --local-js   make the dashboard load Debian's JavaScript packages instead of CDNs
  --repeats R  measure the track_ speed-up ratios R times per commit and show the
               median (default 7; 1 = the whole suite once, about 4 minutes per commit)"
N=5
LOCAL_JS=0
REPEATS=7
while [ $# -gt 0 ]; do
    case "$1" in
        -h | --help) echo "$usage"; exit 0 ;;
        --local-js) LOCAL_JS=1 ;;
        --repeats) [ $# -ge 2 ] || { echo "$0: --repeats needs a value R >= 1" >&2; exit 2; }
                   REPEATS="$2"; shift ;;
        --repeats=*) REPEATS="${1#--repeats=}" ;;
        "" | *[!0-9]*) echo "$0: unknown argument '$1'" >&2; echo "$usage" >&2; exit 2 ;;
        *) N="$1" ;;
    esac
    shift
done
case "$REPEATS" in
    "" | *[!0-9]* | 0) echo "$0: --repeats: expected a whole number >= 1, got '$REPEATS'" >&2; exit 2 ;;
esac
[ "$N" -ge 1 ] || { echo "$0: N: expected a whole number >= 1, got '$N'" >&2; exit 2; }
ASV_VERSION="0.6.4"   # the same pin as pyproject's "bench" extra and .ci/run
LOCAL_JS_PACKAGES="libjs-jquery libjs-jquery-flot libjs-bootstrap libjs-jquery-stupidtable node-blueimp-md5"
cd "$(dirname "$0")/../asv_bench"

# ---- Preconditions: all of them, before the first minute of work -----------------------
problems=()
command -v git >/dev/null || problems+=("git is not installed")
git rev-parse --verify --quiet main^{commit} >/dev/null \
    || problems+=("no branch 'main' in this repository (asv.conf.json benchmarks main)")
if ! python3 -c "import venv, ensurepip" 2>/dev/null; then
    problems+=("python3 cannot create virtual environments (apt-get install python3-venv)")
fi
# asv builds each commit for the Python versions of asv.conf.json's "pythons".
for version in $(python3 -c "import json, re; text = open('asv.conf.json').read(); \
text = re.sub(r'^\s*//.*$', '', text, flags=re.M); print(' '.join(json.loads(text)['pythons']))"); do
    command -v "python$version" >/dev/null \
        || problems+=("python$version (asv.conf.json \"pythons\") is not on PATH")
done
if [ "$LOCAL_JS" = 1 ]; then
    js=/usr/share/javascript
    missing=""
    for f in jquery/jquery.min.js jquery-flot/jquery.flot.min.js \
             jquery-stupidtable/stupidtable.min.js blueimp-md5/md5.min.js \
             bootstrap/js/bootstrap.min.js bootstrap/css/bootstrap.min.css; do
        [ -f "$js/$f" ] || missing+=" $js/$f"
    done
    [ -z "$missing" ] || problems+=("--local-js: missing$missing
    install them with: apt-get install $LOCAL_JS_PACKAGES")
fi
if [ ${#problems[@]} -gt 0 ]; then
    printf '%s: cannot start:\n' "$0" >&2
    printf '  %s\n' "${problems[@]}" >&2
    exit 2
fi

# ---- asv -----------------------------------------------------------------------------------
venv="env/asv-venv"
if [ ! -x "$venv/bin/asv" ]; then
    echo "creating $PWD/$venv with asv $ASV_VERSION"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet "asv==$ASV_VERSION" virtualenv
fi
export PATH="$PWD/$venv/bin:$PATH"

# asv 0.6.4 reports at every start that its optional mamba plugin cannot load (a conda
# feature nnfast does not use): drop exactly those two lines of stderr.
asv() {
    command asv "$@" 2> >(grep -v -x -e "Couldn't load asv.plugins._mamba_helpers because" \
                                    -e "No module named 'libmambapy'" >&2)
}

MACHINE="$(python3 -c 'import platform; print(platform.node())')"   # asv's default name
# --yes still prints every question with its answer: keep them in a log, say one line.
asv machine --yes --machine "$MACHINE" > env/machine.log
echo "asv machine: $MACHINE (its details: $PWD/env/machine.log)"

mapfile -t commits < <(git rev-list --max-count="$N" main)
todo=()
for c in "${commits[@]}"; do
    compgen -G "results/$MACHINE/${c:0:8}-*.json" >/dev/null || todo+=("$c")
done
echo "${#commits[@]} commits of main: $(( ${#commits[@]} - ${#todo[@]} )) already measured on" \
     "this machine, ${#todo[@]} to measure (track_ ratios $REPEATS times each)"

# Collects the track_ values of one commit's results after each run, and at the end
# writes their median into the results file, which is what asv publish shows. (asv keeps
# only the last value of a track_ benchmark: its rounds and repeats do not apply.)
track() {  # track record|median COMMIT
    python3 - "$1" "results/$MACHINE" "$2" "env/track-samples" <<'PY'
import glob, itertools, json, math, os, statistics, sys

action, folder, commit, store = sys.argv[1:]
os.makedirs(store, exist_ok=True)
samples_file = os.path.join(store, commit + ".json")
samples = json.load(open(samples_file)) if os.path.exists(samples_file) else {}
for path in glob.glob(os.path.join(folder, commit[:8] + "-*.json")):
    data = json.load(open(path))
    env = os.path.basename(path)
    for name, row in data["results"].items():
        if ".track_" not in name or not row or row[0] is None:
            continue
        values = row[0] if isinstance(row[0], list) else [row[0]]
        runs = samples.setdefault(env, {}).setdefault(name, [])
        if action == "record":
            runs.append(values)
            continue
        medians, spreads = [], []
        for i in range(len(values)):
            got = [r[i] for r in runs if r[i] is not None and not math.isnan(r[i])]
            medians.append(statistics.median(got) if got else None)
            if len(got) > 1 and min(got) > 0:
                spreads.append((max(got) / min(got) - 1, min(got), max(got), i))
        row[0] = medians
        if spreads:  # the noise of one run, for the reader of the dashboard
            worst = max(spreads)
            params = list(itertools.product(*row[1])) if row[1] else []
            label = ", ".join(params[worst[3]]) if params else ""
            print(f"    {name.split('.', 1)[1]}({label}): {len(runs)} runs spread "
                  f"{worst[1]:.3g}x to {worst[2]:.3g}x, the widest of its parameters; "
                  f"shown: the median")
    if action == "median":
        json.dump(data, open(path, "w"), separators=(",", ":"))
json.dump(samples, open(samples_file, "w"))
PY
}

started=$SECONDS
failed=0
for i in "${!todo[@]}"; do
    c="${todo[$i]}"
    elapsed=$(( SECONDS - started ))
    if [ "$i" -gt 0 ]; then
        left="about $(( elapsed * (${#todo[@]} - i) / i / 60 + 1 )) min left"
    else
        # About 4 min for the whole suite once and 1 per further track_ run, on a quiet machine.
        left="about $(( (4 + REPEATS - 1) * ${#todo[@]} )) min left (a first guess; measured from the next commit on)"
    fi
    echo
    echo "== commit $((i + 1))/${#todo[@]} ${c:0:8} $(git log -1 --format=%s "$c" | cut -c1-60)"
    echo "   $(( elapsed / 60 )) min $(( elapsed % 60 )) s elapsed, $left"
    echo "$c" > env/this-commit.txt
    rm -f "env/track-samples/$c.json"
    asv run --show-stderr --machine "$MACHINE" -a repeat=1 -a rounds=1 \
        "HASHFILE:env/this-commit.txt" || failed=1
    track record "$c"
    for ((r = 2; r <= REPEATS; r++)); do
        echo "   track_ ratios, run $r of $REPEATS"
        asv run --machine "$MACHINE" --bench "track_" "HASHFILE:env/this-commit.txt" \
            > env/track-run.log 2>&1 || { failed=1; tail -20 env/track-run.log >&2; }
        track record "$c"
    done
    [ "$REPEATS" -gt 1 ] && track median "$c"
done
[ "$failed" = 0 ] || echo "some benchmarks failed (see above); publishing what was measured" >&2
asv publish > env/publish.log 2>&1 || { cat env/publish.log >&2; exit 1; }
echo "asv publish: html/ written ($(( (SECONDS - started) / 60 )) min in all)"

if [ "$LOCAL_JS" = 1 ]; then
    python3 - html <<'PY'
"""Point html/index.html at Debian's JavaScript packages instead of CDNs."""
import os, re, shutil, sys

html_dir = sys.argv[1]
js = "/usr/share/javascript/"
local = {  # end of the CDN URL -> Debian's file (checked at the start of the script)
    "jquery-3.3.1.min.js": js + "jquery/jquery.min.js",
    "flot/0.8.3/jquery.flot.min.js": js + "jquery-flot/jquery.flot.min.js",  # bundles time, selection, categories, axis labels
    "stupidtable.min.js": js + "jquery-stupidtable/stupidtable.min.js",
    "md5.min.js": js + "blueimp-md5/md5.min.js",
    "bootstrap.min.js": js + "bootstrap/js/bootstrap.min.js",
    "bootstrap.min.css": js + "bootstrap/css/bootstrap.min.css",
}
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
