"""Face landmarks from the Python mediapipe package (0.10.21), the reference for avsync's Rust port.

Two modes, both reading the corpus (../shared/corpus by default) and never copying its frames:

  python tools/models/reference_landmarks.py json [--out testdata/face/reference_landmarks.json]
      Runs MediaPipe FaceMesh (static image mode) and FaceDetection (short range) on the RGB
      frames listed in REFERENCE_FRAMES, and FaceMesh on the same frames' luma (ffmpeg's
      format=gray) replicated to RGB, and writes the detections and the 468 landmarks in frame
      pixels. The Rust tests decode the same frames as grey and compare.

  python tools/models/reference_landmarks.py gray [--frames-per-clip 8]
      Measures what grey input costs: for frames spread over every `talk` clip, runs FaceMesh
      on the RGB frame and on its luma replicated to three channels, and prints the landmark
      differences (pixels, and relative to the eye distance 33-263) and the mouth-opening
      difference.
"""

import argparse
import csv
import json
import os
import subprocess
import sys

import numpy as np

CORPUS = os.path.join("..", "shared", "corpus")
# (clip id, frame index, most faces to find)
REFERENCE_FRAMES = [
    ("aoc-hdtf", 0, 1),
    ("aoc-hdtf", 40, 1),
    ("aoc-hdtf", 80, 1),
    ("aoc-hdtf", 120, 1),
    ("aoc-hdtf", 160, 1),
    ("aniportrait-cxk", 0, 2),
    ("latentsync-demo1", 0, 1),
]
EYE_OUTER = (33, 263)
MOUTH_INNER = (13, 14)
# faces per frame in the grey-input comparison (side-by-side clips have two)
MAX_FACES = 4
MOUTH_CORNERS = (61, 291)
LIPS = [
    61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 185, 40, 39, 37, 0, 267, 269, 270, 409,
    78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 191, 80, 81, 82, 13, 312, 311, 310, 415,
]


def probe_size(path):
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height",
         "-of", "csv=p=0", path],
        check=True, capture_output=True, text=True,
    ).stdout.strip().split(",")
    return int(out[0]), int(out[1])


def decode(path, indices, pix_fmt):
    """Frames at the given decode indices (0-based, in decode order as ffmpeg outputs them)."""
    w, h = probe_size(path)
    channels = {"rgb24": 3, "gray": 1}[pix_fmt]
    wanted = "+".join(f"eq(n\\,{i})" for i in indices)
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", path, "-an", "-vf", f"select='{wanted}'", "-fps_mode", "passthrough",
         "-pix_fmt", pix_fmt, "-f", "rawvideo", "-"],
        check=True, capture_output=True,
    ).stdout
    frames = np.frombuffer(raw, np.uint8).reshape(-1, h, w, channels)
    if len(frames) != len(indices):
        sys.exit(f"{path}: got {len(frames)} frames for indices {indices}")
    return frames


def face_mesh(max_faces):
    import mediapipe as mp

    return mp.solutions.face_mesh.FaceMesh(
        static_image_mode=True, max_num_faces=max_faces, refine_landmarks=False,
        min_detection_confidence=0.5,
    )


def landmarks_px(result, w, h):
    if not result.multi_face_landmarks:
        return []
    return [np.array([[p.x * w, p.y * h] for p in f.landmark]) for f in result.multi_face_landmarks]


def detections_px(rgb):
    import mediapipe as mp

    h, w, _ = rgb.shape
    with mp.solutions.face_detection.FaceDetection(model_selection=0, min_detection_confidence=0.5) as fd:
        res = fd.process(rgb)
    out = []
    for d in res.detections or []:
        b = d.location_data.relative_bounding_box
        out.append({
            "score": round(float(d.score[0]), 4),
            "box": [round(b.xmin * w, 2), round(b.ymin * h, 2), round(b.width * w, 2), round(b.height * h, 2)],
            "keypoints": [[round(k.x * w, 2), round(k.y * h, 2)] for k in d.location_data.relative_keypoints],
        })
    return out


def cmd_json(args):
    frames = []
    by_clip = {}
    for clip, idx, faces in REFERENCE_FRAMES:
        by_clip.setdefault(clip, []).append((idx, faces))
    for clip, items in by_clip.items():
        path = os.path.join(args.corpus, "media", clip + ".mp4")
        rgbs = decode(path, [i for i, _ in items], "rgb24")
        grays = decode(path, [i for i, _ in items], "gray")
        for (idx, faces), rgb, gray in zip(items, rgbs, grays):
            h, w, _ = rgb.shape
            with face_mesh(faces) as fm:
                marks = landmarks_px(fm.process(rgb), w, h)
                marks_gray = landmarks_px(fm.process(np.ascontiguousarray(np.repeat(gray, 3, axis=2))), w, h)
            frames.append({
                "clip": clip, "file": f"media/{clip}.mp4", "frame_index": idx, "width": w, "height": h,
                "max_faces": faces,
                "detections": detections_px(rgb),
                "faces": [[[round(float(x), 2), round(float(y), 2)] for x, y in m] for m in marks],
                "faces_gray": [[[round(float(x), 2), round(float(y), 2)] for x, y in m] for m in marks_gray],
            })
            print(f"{clip} frame {idx}: {len(marks)} face(s) in RGB, {len(marks_gray)} in grey")
    doc = {
        "generator": "tools/models/reference_landmarks.py json",
        "reference": "Python mediapipe 0.10.21 FaceMesh (static_image_mode, refine_landmarks=False) "
                     "and FaceDetection (model_selection=0) on the RGB frame ('faces', 'detections') and "
                     "FaceMesh on its luma replicated to RGB ('faces_gray'); pixels of the full frame",
        "frames": frames,
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {args.out}")


def mouth_opening(m):
    return np.linalg.norm(m[MOUTH_INNER[0]] - m[MOUTH_INNER[1]]) / np.linalg.norm(m[MOUTH_CORNERS[0]] - m[MOUTH_CORNERS[1]])


def cmd_gray(args):
    with open(os.path.join(args.corpus, "manifest.tsv")) as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t") if r["role"] == "talk"]
    all_err, lip_err, open_err, ctrl_open, missed = [], [], [], [], 0
    print("clip\tfaces\tmedian px (all)\tmedian eye-rel (all)\tmedian eye-rel (lips)\tmedian |d opening|"
          "\tcontrol: RGB moved 1 px, median |d opening|")
    for r in rows:
        path = os.path.join(args.corpus, r["file"])
        n_total = int(subprocess.run(
            ["ffprobe", "-v", "error", "-count_packets", "-select_streams", "v:0",
             "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", path],
            check=True, capture_output=True, text=True).stdout.strip())
        idx = sorted({int(i) for i in np.linspace(0, n_total - 2, args.frames_per_clip)})
        rgbs = decode(path, idx, "rgb24")
        grays = decode(path, idx, "gray")
        e_all, e_rel, e_lip, e_open, c_open = [], [], [], [], []
        with face_mesh(MAX_FACES) as fm:
            for rgb, g in zip(rgbs, grays):
                h, w, _ = rgb.shape
                ref = landmarks_px(fm.process(rgb), w, h)
                gray = landmarks_px(fm.process(np.ascontiguousarray(np.repeat(g, 3, axis=2))), w, h)
                # control: the same RGB frame moved by one pixel
                moved = [m + [1.0, 0.0] for m in landmarks_px(fm.process(np.ascontiguousarray(np.roll(rgb, 1, axis=1))), w, h)]
                for a in ref:
                    b, c = nearest(a, gray), nearest(a, moved)
                    if b is None:
                        missed += 1
                        continue
                    eye = np.linalg.norm(a[EYE_OUTER[0]] - a[EYE_OUTER[1]])
                    d = np.linalg.norm(a - b, axis=1)
                    e_all.append(np.mean(d))
                    e_rel.append(np.mean(d) / eye)
                    e_lip.append(np.mean(d[LIPS]) / eye)
                    e_open.append(abs(mouth_opening(a) - mouth_opening(b)))
                    if c is not None:
                        c_open.append(abs(mouth_opening(a) - mouth_opening(c)))
        if e_all:
            print(f"{r['id']}\t{len(e_all)}\t{np.median(e_all):.2f}\t{np.median(e_rel):.4f}\t"
                  f"{np.median(e_lip):.4f}\t{np.median(e_open):.4f}\t{np.median(c_open):.4f}")
        all_err += e_rel
        lip_err += e_lip
        open_err += e_open
        ctrl_open += c_open
    print(f"all clips: {len(all_err)} faces; eye-relative mean landmark error median {np.median(all_err):.4f} "
          f"(p90 {np.percentile(all_err, 90):.4f}); lips median {np.median(lip_err):.4f} "
          f"(p90 {np.percentile(lip_err, 90):.4f}); |d opening| median {np.median(open_err):.4f} "
          f"(p90 {np.percentile(open_err, 90):.4f}); control (RGB moved 1 px) |d opening| median "
          f"{np.median(ctrl_open):.4f} (p90 {np.percentile(ctrl_open, 90):.4f}); "
          f"faces found in RGB but not in grey: {missed}")


def nearest(a, faces):
    """The face in `faces` whose landmark centre is nearest a's, if within a's eye distance."""
    if not faces:
        return None
    eye = np.linalg.norm(a[EYE_OUTER[0]] - a[EYE_OUTER[1]])
    best = min(faces, key=lambda b: np.linalg.norm(a.mean(axis=0) - b.mean(axis=0)))
    return best if np.linalg.norm(a.mean(axis=0) - best.mean(axis=0)) < eye else None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["json", "gray"])
    ap.add_argument("--corpus", default=CORPUS)
    ap.add_argument("--out", default=os.path.join("testdata", "face", "reference_landmarks.json"))
    ap.add_argument("--frames-per-clip", type=int, default=8)
    args = ap.parse_args()
    if not os.path.exists(os.path.join(args.corpus, "manifest.tsv")):
        sys.exit(f"{args.corpus}: no corpus here")
    {"json": cmd_json, "gray": cmd_gray}[args.mode](args)


if __name__ == "__main__":
    main()
