"""Rebuild models/*.onnx from the PyPI wheel mediapipe==0.10.21, verify them, check the pins.

Steps:
1. `pip download --no-deps` the pinned wheel and check its sha256;
2. extract the two .tflite models and the wheel's LICENSE;
3. convert both to ONNX with tflite_to_onnx.py;
4. run the ONNX (onnxruntime) against the TFLite reference (ai-edge-litert) on random inputs and
   on a real frame, and fail when they differ by more than MAX_ABS_DIFF;
5. compare the sha256 of every output with models/SHA256SUMS (or rewrite it with --update-pins).

Usage (from the repository root, in a venv made from tools/models/requirements.txt):
    python tools/models/build_models.py [--out models] [--frame IMAGE_OR_VIDEO] [--update-pins]

--frame takes any picture or video ffmpeg can read (its first frame is used); without it the
script uses ../shared/corpus/media/aoc-hdtf.mp4 when present and says so when it is not.
"""

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tflite_to_onnx  # noqa: E402

WHEEL_SPEC = "mediapipe==0.10.21"
# The wheel is platform specific; the models inside are the same in every build of 0.10.21.
WHEEL_PLATFORM = "manylinux_2_28_x86_64"
WHEEL_PYTHON = "311"
WHEEL_FILE = "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl"
WHEEL_SHA256 = "05dc4a9e593655a79558d05d6227d31018c2537a4bd3362b51e230cf22aecfe3"

MODELS = {
    # output name: (path inside the wheel, sha256 of that .tflite)
    "face_detection_short_range": (
        "mediapipe/modules/face_detection/face_detection_short_range.tflite",
        "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
    ),
    "face_landmark": (
        "mediapipe/modules/face_landmark/face_landmark.tflite",
        "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814",
    ),
}
LICENSE_IN_WHEEL = "mediapipe-0.10.21.dist-info/LICENSE"

# fp32 ONNX against XNNPACK's fp32 kernels: outputs reach ~160, so 1e-3 absolute is ~1e-5 relative.
MAX_ABS_DIFF = 1e-3
RANDOM_TRIALS = 4
DEFAULT_FRAME = os.path.join("..", "shared", "corpus", "media", "aoc-hdtf.mp4")


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def download_wheel(dest):
    subprocess.run(
        [
            sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
            "--platform", WHEEL_PLATFORM, "--python-version", WHEEL_PYTHON,
            "-d", dest, WHEEL_SPEC,
        ],
        check=True,
    )
    path = os.path.join(dest, WHEEL_FILE)
    got = sha256(path)
    if got != WHEEL_SHA256:
        sys.exit(f"{path}: sha256 {got}, expected {WHEEL_SHA256}")
    return path


def read_frame_rgb(path, size):
    """First frame of an image or video, squashed to size x size RGB, via the ffmpeg CLI."""
    raw = subprocess.run(
        [
            "ffmpeg", "-v", "error", "-i", path, "-frames:v", "1",
            "-vf", f"scale={size}:{size}", "-pix_fmt", "rgb24", "-f", "rawvideo", "-",
        ],
        check=True, capture_output=True,
    ).stdout
    return np.frombuffer(raw, np.uint8).reshape(size, size, 3)


def verify(tflite_path, onnx_path, frame):
    """Largest absolute difference between TFLite and ONNX outputs over all test inputs."""
    import onnxruntime as ort
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=tflite_path)
    interp.allocate_tensors()
    inp = interp.get_input_details()[0]
    _, h, w, _ = inp["shape"]
    sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])

    rng = np.random.default_rng(20250131)
    inputs = [rng.uniform(-1, 1, size=(1, h, w, 3)).astype(np.float32) for _ in range(RANDOM_TRIALS)]
    if frame is not None:
        # the two models' own input ranges: [-1, 1] for the detector, [0, 1] for landmarks
        rgb = read_frame_rgb(frame, h).astype(np.float32)[None]
        inputs.append(rgb / 127.5 - 1.0)
        inputs.append(rgb / 255.0)

    worst = 0.0
    for x in inputs:
        interp.set_tensor(inp["index"], x)
        interp.invoke()
        ref = {d["name"]: interp.get_tensor(d["index"]) for d in interp.get_output_details()}
        outs = sess.run(None, {sess.get_inputs()[0].name: x.transpose(0, 3, 1, 2)})
        for meta, got in zip(sess.get_outputs(), outs):
            want = ref[meta.name]
            if got.shape != want.shape:
                sys.exit(f"{onnx_path}: output {meta.name} shape {got.shape} != {want.shape}")
            worst = max(worst, float(np.abs(got - want).max()))
    return worst, len(inputs)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="models")
    ap.add_argument("--frame", default=None)
    ap.add_argument("--update-pins", action="store_true")
    args = ap.parse_args()

    frame = args.frame or (DEFAULT_FRAME if os.path.exists(DEFAULT_FRAME) else None)
    if frame is None:
        print(f"no real frame: {DEFAULT_FRAME} absent and no --frame; verifying on random inputs only")

    os.makedirs(args.out, exist_ok=True)
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        wheel = download_wheel(tmp)
        with zipfile.ZipFile(wheel) as z:
            z.extractall(tmp, members=[inner for inner, _ in MODELS.values()] + [LICENSE_IN_WHEEL])
        shutil.copyfile(os.path.join(tmp, LICENSE_IN_WHEEL), os.path.join(args.out, "LICENSE"))
        for name, (inner, pinned_sha) in MODELS.items():
            tfl = os.path.join(tmp, inner)
            if sha256(tfl) != pinned_sha:
                sys.exit(f"{inner}: sha256 {sha256(tfl)}, expected {pinned_sha}")
            # LiteRT runs the .tflite as shipped; tract runs the ONNX conversion
            shutil.copyfile(tfl, os.path.join(args.out, name + ".tflite"))
            onx = os.path.join(args.out, name + ".onnx")
            tflite_to_onnx.convert(tfl, onx)
            worst, n = verify(tfl, onx, frame)
            ok = worst <= MAX_ABS_DIFF
            failed |= not ok
            print(f"{name}: ONNX vs TFLite max |diff| {worst:.2e} over {n} inputs ({'ok' if ok else 'FAIL'})")

    pins_path = os.path.join(args.out, "SHA256SUMS")
    files = sorted(f for f in os.listdir(args.out) if f.endswith((".onnx", ".tflite")) or f == "LICENSE")
    lines = [f"{sha256(os.path.join(args.out, f))}  {f}\n" for f in files]
    if args.update_pins:
        with open(pins_path, "w") as f:
            f.writelines(lines)
        print(f"wrote {pins_path}")
    else:
        with open(pins_path) as f:
            pinned = f.readlines()
        if pinned != lines:
            failed = True
            print(f"checksums differ from {pins_path}:")
            sys.stdout.writelines(lines)
        else:
            print(f"all checksums match {pins_path}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
