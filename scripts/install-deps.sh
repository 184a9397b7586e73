#!/usr/bin/env bash
# Installs what avsync needs to build and test, and only what is missing:
#   - Debian/Ubuntu packages: a C toolchain, pkg-config, the FFmpeg development libraries, clang
#     for bindgen (libclang and its headers), the ffmpeg tool (fixtures), espeak-ng and sox
#     (speech fixtures), chromium and a font (the HTML report test renders a report headless
#     and screenshots it), curl (to fetch Rust), PocketSphinx and its US-English model (the
#     optional `phonetic` feature, which the tests also build);
#   - a Rust toolchain with clippy and rustfmt, through rustup, when cargo is missing or older
#     than the crate's rust-version;
#   - a Python virtual environment in .venv with the pinned tools of the Python package
#     (python/requirements-dev.txt: maturin, pytest, Ray Data, pyarrow), made or updated when
#     missing or when that file changes.
# Runs apt as root, or through sudo. Safe to run again: it does nothing when all is there.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
APT=(apt-get -o DPkg::Lock::Timeout=120 -y -q)

PACKAGES=(build-essential pkg-config libavcodec-dev libavformat-dev libavutil-dev
  libswscale-dev libswresample-dev clang ffmpeg espeak-ng sox chromium fonts-dejavu-core curl
  ca-certificates libpocketsphinx-dev libsphinxbase-dev pocketsphinx-en-us)
# bindgen needs libclang and clang's own headers. Debian 12 names them after LLVM 14; elsewhere
# the unversioned development package brings the distribution's default.
if apt-cache show libclang-common-14-dev >/dev/null 2>&1; then
  PACKAGES+=(libclang1-14 libclang-common-14-dev)
else
  PACKAGES+=(libclang-dev)
fi

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo "$@"
  else
    echo "install-deps.sh: need root or sudo to install: ${MISSING[*]}" >&2
    exit 1
  fi
}

MISSING=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    MISSING+=("$package")
done
if [ ${#MISSING[@]} -gt 0 ]; then
  echo "install-deps.sh: installing ${MISSING[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive "${APT[@]}" update
  as_root env DEBIAN_FRONTEND=noninteractive "${APT[@]}" install --no-install-recommends "${MISSING[@]}"
fi

# Rust: the crate's rust-version or newer, with clippy and rustfmt.
NEED_RUST=$(sed -n 's/^rust-version *= *"\(.*\)"/\1/p' "$HERE/Cargo.toml")
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
rust_ok() {
  command -v cargo >/dev/null || return 1
  local have
  have=$(rustc --version | awk '{print $2}')
  [ "$(printf '%s\n%s\n' "$NEED_RUST" "$have" | sort -V | head -1)" = "$NEED_RUST" ]
}
if ! rust_ok; then
  if command -v rustup >/dev/null; then
    rustup update stable
    rustup default stable
  else
    echo "install-deps.sh: installing Rust (rustup, stable, minimal profile)"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs |
      sh -s -- -y --profile minimal --default-toolchain stable -c clippy -c rustfmt
    . "$HOME/.cargo/env"
  fi
fi
if command -v rustup >/dev/null; then
  rustup component list --installed | grep -q '^clippy' || rustup component add clippy
  rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
fi
rust_ok || { echo "install-deps.sh: Rust $NEED_RUST or newer is needed" >&2; exit 1; }

# LiteRT for the face models (src/features/face/litert.rs): libLiteRt.so from the pinned PyPI
# wheel ai-edge-litert, with its licence, where avsync looks for it. avsync works without it
# (the models then run on tract, about 3.5 times slower); AVSYNC_LITERT_LIB names another copy.
LITERT_VERSION=2.3.0
LITERT_WHEEL=ai_edge_litert-2.3.0-cp311-cp311-manylinux_2_27_x86_64.whl
LITERT_SHA256=1f15078a6725d2357d9de9221664c29afa0545d807559c5f7199ce5e40b96b23
LITERT_DIR=/usr/local/lib/avsync/litert
if [ "$(uname -m)" = x86_64 ] && [ ! -f "$LITERT_DIR/libLiteRt.so" ]; then
  if ! python3 -m pip --version >/dev/null 2>&1; then
    as_root env DEBIAN_FRONTEND=noninteractive "${APT[@]}" install --no-install-recommends python3-pip
  fi
  echo "install-deps.sh: installing LiteRT $LITERT_VERSION into $LITERT_DIR"
  WORK=$(mktemp -d)
  trap 'rm -rf "$WORK"' EXIT
  # the wheel's Python parts are for CPython 3.11; libLiteRt.so itself is plain C, any Python
  python3 -m pip download --quiet --no-deps --only-binary=:all: --platform manylinux_2_27_x86_64 \
    --python-version 311 -d "$WORK" "ai-edge-litert==$LITERT_VERSION"
  echo "$LITERT_SHA256  $WORK/$LITERT_WHEEL" | sha256sum -c --quiet
  python3 -m zipfile -e "$WORK/$LITERT_WHEEL" "$WORK/wheel"
  as_root install -D -m 644 "$WORK/wheel/ai_edge_litert/libLiteRt.so" "$LITERT_DIR/libLiteRt.so"
  as_root install -D -m 644 "$WORK/wheel/ai_edge_litert-$LITERT_VERSION.dist-info/licenses/LICENSE" \
    "$LITERT_DIR/LICENSE"
fi

# The Python package (python/): a virtual environment in .venv with its pinned build and test
# tools. Debian's python3 lacks venv without python3-venv, which is installed only when making
# the environment fails. Reinstalled when python/requirements-dev.txt changes (its hash is kept
# in the environment).
VENV="$HERE/.venv"
REQUIREMENTS="$HERE/python/requirements-dev.txt"
command -v python3 >/dev/null ||
  as_root env DEBIAN_FRONTEND=noninteractive "${APT[@]}" install --no-install-recommends python3
if [ ! -x "$VENV/bin/python" ]; then
  if ! python3 -m venv "$VENV" 2>/dev/null; then
    rm -rf "$VENV"
    echo "install-deps.sh: installing python3-venv"
    as_root env DEBIAN_FRONTEND=noninteractive "${APT[@]}" install --no-install-recommends python3-venv
    python3 -m venv "$VENV"
  fi
fi
WANT_STAMP=$(sha256sum "$REQUIREMENTS" | cut -c1-64)
if [ "$(cat "$VENV/.requirements.sha256" 2>/dev/null)" != "$WANT_STAMP" ]; then
  echo "install-deps.sh: installing the Python tools into .venv ($(grep -c '==' "$REQUIREMENTS") pinned packages)"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
  echo "$WANT_STAMP" > "$VENV/.requirements.sha256"
fi
