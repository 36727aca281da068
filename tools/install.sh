#!/usr/bin/env bash
# One-command setup for dag_mmpose on a machine that has only Python 3.11 and pip.
#
#   bash tools/install.sh                # ./.venv with mmcv-lite + stand-ins (about 2 minutes)
#   bash tools/install.sh --mmcv full    # ./.venv with mmcv built with its compiled ops
#   DAG_VENV=/path/to/env bash tools/install.sh
#
# Two routes for mmcv (docs/install.md):
# - lite (default): mmcv-lite, the same Python tree without the compiled `mmcv/_ext`, plus
#   packages/dag_mmcv_ext, whose stand-ins serve `mmcv._ext` through torchvision (nms,
#   roi_align; every other op raises naming this script's --mmcv full). The pose path calls
#   no compiled op. No build: about 2 minutes on 2 cores.
# - full (--mmcv full, or DAG_MMCV=full): mmcv 2.1.0 built from source with its compiled ops
#   (~14 min on 2 cores), for models that need them (EDPose, DEKR, deformable convs). The
#   wheel is kept in $DAG_WHEEL_CACHE, so later installs for the same torch take seconds.
# Switching routes replaces one mmcv with the other.
#
# It is idempotent: every step first checks whether its result is already there and skips
# itself if so. This is the CPU route the tests prove. CUDA users: see docs/install.md.
set -euo pipefail

MMCV_ROUTE="${DAG_MMCV:-lite}"
while [ $# -gt 0 ]; do
    case "$1" in
        --mmcv) MMCV_ROUTE="${2:-}"; shift 2 || shift ;;
        --mmcv=*) MMCV_ROUTE="${1#*=}"; shift ;;
        -h | --help) sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) printf 'tools/install.sh: unknown argument %s (try --help)\n' "$1" >&2; exit 2 ;;
    esac
done
case "$MMCV_ROUTE" in
    lite | full) ;;
    *) printf "tools/install.sh: --mmcv must be 'lite' or 'full', got '%s'\n" "$MMCV_ROUTE" >&2; exit 2 ;;
esac

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${DAG_VENV:-$ROOT/.venv}"
PYTHON_BIN="${PYTHON:-python3}"
WHEEL_CACHE="${DAG_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dag_mmpose/wheels}"

# The versions this script installs, all in one place. torch/torchvision: 2.14.1 / 0.29.1 are
# the newest pair that pip on these machines may install (its configuration caps torch<=2.14.1,
# torchvision<=0.29.1, and both wheels lie on the machine's disk for Python 3.11, so they
# install without a download). They are CUDA builds and run on CPU too. For another torch,
# override both (e.g. TORCH_VERSION=2.5.1 TORCHVISION_VERSION=0.20.1): the mmcv wheel is built
# and cached per torch version. pyproject's range (torch>=2.1) is what the code itself needs.
TORCH_VERSION="${TORCH_VERSION:-2.14.1}"
TORCHVISION_VERSION="${TORCHVISION_VERSION:-0.29.1}"
MMENGINE_VERSION=0.10.7
MMCV_VERSION=2.1.0
MMDET_VERSION=3.3.0
MMPOSE_VERSION=1.3.2

STEP=""
step() { STEP="$1"; printf '\n[dag_mmpose install] step: %s\n' "$1"; }
skip() { printf '[dag_mmpose install]   already satisfied: %s\n' "$1"; }
trap 'rc=$?; if [ $rc -ne 0 ]; then printf "\n[dag_mmpose install] FAILED at step: %s (exit %s)\n" "$STEP" "$rc" >&2; fi' EXIT

step "python and virtual environment ($VENV)"
"$PYTHON_BIN" - <<'PY'
import sys
if sys.version_info[:2] < (3, 9):
    raise SystemExit(f'dag_mmpose needs Python >= 3.9, found {sys.version.split()[0]}')
PY
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON_BIN" -m venv "$VENV"
else
    skip "virtual environment"
fi
PY="$VENV/bin/python"

# pip with its failure made readable: on error, name the pip command and the packages and
# versions asked for, and repeat the lines in which pip says why (its full output stays above).
pip_run() {
    local log rc=0
    log="$(mktemp)"
    "$PY" -m pip "$1" --disable-pip-version-check "${@:2}" 2>&1 | tee "$log" || rc=$?
    if [ "$rc" -ne 0 ]; then
        {
            printf '\n[dag_mmpose install] pip %s failed for: %s\n' "$1" "${*:2}"
            printf '[dag_mmpose install] pip said:\n'
            grep -E '^(ERROR|error|note|  +The (user|conflict)|  +[A-Za-z0-9_.-]+ [0-9.]+ depends)' "$log" \
                | head -n 20 | sed 's/^/    /' || true
        } >&2
    fi
    rm -f "$log"
    return "$rc"
}
pip_install() { pip_run install "$@"; }

# Returns 0 when the python snippet runs cleanly inside the environment. It runs from /, so
# that the repository folder on sys.path cannot stand in for an installed package.
have() { (cd / && "$PY" -c "$1" >/dev/null 2>&1); }

step "numpy, torch $TORCH_VERSION, torchvision $TORCHVISION_VERSION"
if have "
import torch, torchvision, numpy
assert torch.__version__.split('+')[0] == '$TORCH_VERSION', torch.__version__
assert torchvision.__version__.split('+')[0] == '$TORCHVISION_VERSION'
assert int(numpy.__version__.split('.')[0]) >= 2
"; then
    skip "torch/torchvision"
else
    # torchvision only ships CUDA builds on the index; it pairs with the index's CUDA torch,
    # which runs on CPU as well. --no-index for torch would pick the local CPU 2.13 wheel.
    pip_install "numpy>=2,<2.5" "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION"
fi

step "build tools (setuptools<70 for mmcv's setup.py, wheel, Cython, ninja)"
# After torch: its install upgrades setuptools past the <70 that mmcv's setup.py needs.
if have "import setuptools, wheel, Cython, ninja; assert int(setuptools.__version__.split('.')[0]) < 70"; then
    skip "build tools"
else
    pip_install "setuptools<70" wheel Cython ninja
fi

step "mmengine $MMENGINE_VERSION and common runtime dependencies"
if have "import mmengine, cv2, scipy, matplotlib, json_tricks, munkres, PIL, pycocotools, shapely, terminaltables, tqdm; assert mmengine.__version__ == '$MMENGINE_VERSION'"; then
    skip "mmengine and runtime deps"
else
    pip_install "mmengine==$MMENGINE_VERSION" opencv-python scipy matplotlib json_tricks munkres \
        pillow pycocotools shapely terminaltables tqdm
fi

if [ "$MMCV_ROUTE" = full ]; then
step "mmcv $MMCV_VERSION with compiled ops (built from source once, wheel cached in $WHEEL_CACHE)"
# The compiled ops are tied to the torch they were built against: besides importing, the
# installed mmcv must be the wheel built for this torch (pip records the file it came from).
if have "
import json, importlib.metadata as md, mmcv, torch
from mmcv.ops import nms
assert mmcv.__version__ == '$MMCV_VERSION'
url = json.loads(md.distribution('mmcv').read_text('direct_url.json'))['url']
assert '/torch-' + torch.__version__.split('+')[0] + '/' in url, url
import importlib.util; assert 'dag_mmcv_ext' not in importlib.util.find_spec('mmcv._ext').origin
"; then
    skip "mmcv with ops"
else
    # the lite route's packages share mmcv's files: out first
    pip_run uninstall -y mmcv-lite dag-mmcv-ext
    mkdir -p "$WHEEL_CACHE"
    torch_tag="$("$PY" -c 'import torch; print(torch.__version__.split("+")[0])')"
    cached="$(ls "$WHEEL_CACHE"/torch-"$torch_tag"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n 1 || true)"
    if [ -z "$cached" ]; then
        build="$(mktemp -d)"
        pip_run download --no-deps --no-binary mmcv \
            "mmcv==$MMCV_VERSION" -d "$build"
        tar -xzf "$build"/mmcv-"$MMCV_VERSION".tar.gz -C "$build"
        # torch >= 2.10 headers need C++20; mmcv 2.1.0's setup.py hard-codes -std=c++17.
        sed -i 's/-std=c++17/-std=c++20/g' "$build/mmcv-$MMCV_VERSION/setup.py"
        mkdir -p "$WHEEL_CACHE/torch-$torch_tag"
        (cd "$build/mmcv-$MMCV_VERSION" && MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
            pip_run wheel --no-build-isolation --no-deps \
            -w "$WHEEL_CACHE/torch-$torch_tag" .)
        rm -rf "$build"
        cached="$(ls "$WHEEL_CACHE"/torch-"$torch_tag"/mmcv-"$MMCV_VERSION"-*.whl | head -n 1)"
    fi
    pip_install --no-deps --force-reinstall "$cached"
    have "from mmcv.ops import nms" || { echo "mmcv installed but its compiled ops do not import" >&2; exit 1; }
fi
else
step "mmcv-lite $MMCV_VERSION and the stand-ins for its compiled ops (packages/dag_mmcv_ext)"
# The installed stand-ins must be this checkout's (their files compared), and mmcv.ops must
# import through them.
if have "
import filecmp, os, importlib.metadata as md, importlib.util
import mmcv, dag_mmcv_ext
assert mmcv.__version__ == '$MMCV_VERSION' and md.version('mmcv-lite') == '$MMCV_VERSION'
for name in ('__init__.py', 'ops.py'):
    assert filecmp.cmp(os.path.join(os.path.dirname(dag_mmcv_ext.__file__), name),
                       '$ROOT/packages/dag_mmcv_ext/dag_mmcv_ext/' + name, shallow=False), name
from mmcv.ops import nms
assert importlib.util.find_spec('mmcv._ext').origin.endswith('ops.py')
"; then
    skip "mmcv-lite and stand-ins"
else
    # full mmcv shares mmcv-lite's files: out first (its cached wheel stays for --mmcv full)
    pip_run uninstall -y mmcv
    pip_install --no-deps "mmcv-lite==$MMCV_VERSION"
    pip_install --no-deps --force-reinstall "$ROOT/packages/dag_mmcv_ext"
    have "from mmcv.ops import nms" || { echo "mmcv-lite installed but mmcv.ops does not import through the stand-ins" >&2; exit 1; }
fi
fi

step "xtcocotools (built from source against the installed numpy)"
if have "from xtcocotools.coco import COCO; from xtcocotools.cocoeval import COCOeval"; then
    skip "xtcocotools"
else
    # The index's xtcocotools wheels are built against numpy 1.x and fail under numpy 2.
    pip_install --no-binary xtcocotools --no-build-isolation xtcocotools
fi

step "mmdet $MMDET_VERSION"
if have "import mmdet; assert mmdet.__version__ == '$MMDET_VERSION'"; then
    skip "mmdet"
else
    pip_install --no-deps "mmdet==$MMDET_VERSION"
fi

step "mmpose $MMPOSE_VERSION (--no-deps: its declared chumpy does not build)"
if have "import mmpose; assert mmpose.__version__ == '$MMPOSE_VERSION'"; then
    skip "mmpose"
else
    pip_install --no-deps "mmpose==$MMPOSE_VERSION"
fi

step "openmim, test tools and ONNX export (onnx, onnxscript, onnxruntime)"
if have "import mim, pytest, hypothesis, ruff, onnx, onnxscript, onnxruntime" ; then
    skip "openmim, pytest, hypothesis, ruff, onnx, onnxscript, onnxruntime"
else
    pip_install "openmim==0.3.9" pytest hypothesis ruff onnx onnxscript onnxruntime
fi

step "dag_mmpose (editable)"
# The metadata check matters: openmim's dependencies pin setuptools 60, which predates
# pyproject metadata, so a non-isolated build would register the package as "UNKNOWN".
if have "
import os, importlib.metadata as md, dag_mmpose
assert os.path.realpath(os.path.dirname(dag_mmpose.__file__)) == os.path.realpath('$ROOT/dag_mmpose')
assert md.version('dag_mmpose') == dag_mmpose.__version__
# metadata of this pyproject: mmcv is not an unconditional requirement (either route serves it)
assert not [r for r in md.requires('dag_mmpose') or [] if r.startswith('mmcv') and 'extra' not in r]
"; then
    skip "dag_mmpose"
else
    # Built in pip's isolated environment, whatever setuptools the venv holds.
    pip_install --no-deps -e "$ROOT"
fi

step "check: the stack imports together"
cd /
"$PY" - <<'PY'
import mmpose.models, mmpose.visualization, mmdet.models  # noqa: F401
from mmcv.ops import nms  # noqa: F401
import dag_mmpose
import torch, numpy, mmcv, mmengine, mmpose, mmdet
from dag_mmpose.utils.version_check import mmcv_route
print(f'[dag_mmpose install] OK: torch {torch.__version__}, numpy {numpy.__version__}, '
      f'mmengine {mmengine.__version__}, mmcv {mmcv.__version__} ({mmcv_route()}), '
      f'mmdet {mmdet.__version__}, mmpose {mmpose.__version__}, dag_mmpose {dag_mmpose.__version__}')
PY
STEP=""
echo "[dag_mmpose install] done. Use: $VENV/bin/python (or: source $VENV/bin/activate)"
