"""Content-mode lab: load dumps, features, estimators, evaluation."""
import json, os, subprocess, sys
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
D = os.environ.get('AVSYNC_DUMP', os.path.join(HERE, '../../target/content-dump'))
CORPUS = os.environ.get('AVSYNC_CORPUS', os.path.join(HERE, '../../../shared/corpus'))
RATE = 100.0
SR = 16000

def manifest():
    rows = []
    with open(f'{CORPUS}/manifest.tsv') as f:
        head = f.readline().rstrip('\n').split('\t')
        for line in f:
            rows.append(dict(zip(head, line.rstrip('\n').split('\t'))))
    return {r['id']: r for r in rows}

M = manifest()

def load(cid):
    meta = json.load(open(f'{D}/{cid}.json'))
    times = np.array(meta['frame_times_s'])
    rec = np.fromfile(f'{D}/{cid}.faces.f32', dtype='<f4').reshape(-1, 3 + 936)
    audio = np.fromfile(f'{D}/{cid}.audio.f32', dtype='<f4')
    return dict(times=times, rec=rec, audio=audio, astart=meta['audio_start_s'])

def load_audio_file(cid):
    path = f"{CORPUS}/{M[cid]['file']}"
    cache = f'{D}/{cid}.ext.f32'
    if not os.path.exists(cache):
        subprocess.run(['ffmpeg', '-v', 'error', '-y', '-i', path, '-ac', '1', '-ar', '16000',
                        '-f', 'f32le', cache], check=True)
    return np.fromfile(cache, dtype='<f4')

# ---------------------------------------------------------------- lips
def tracks(clip):
    """Per track: (frame index array, points (n,468,2), score). Plus 'largest'."""
    rec = clip['rec']
    out = {}
    for tid in np.unique(rec[:, 1]):
        sel = rec[rec[:, 1] == tid]
        out[int(tid)] = (sel[:, 0].astype(int), sel[:, 3:].reshape(-1, 468, 2))
    return out

def dist(p, a, b):
    return np.linalg.norm(p[:, a] - p[:, b], axis=1)

def poly_area(p, idx):
    x = p[:, idx, 0]; y = p[:, idx, 1]
    return 0.5 * np.abs(np.sum(x * np.roll(y, -1, 1) - np.roll(x, -1, 1) * y, axis=1))

INNER = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308] + [415, 310, 311, 312, 13, 82, 81, 80, 191]
OUTER = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291] + [409, 270, 269, 267, 0, 37, 39, 40, 185]

def lip_features(p):
    eye = dist(p, 33, 263)
    f = {
        'gap': dist(p, 13, 14) / eye,
        'outer': dist(p, 0, 17) / eye,
        'width': dist(p, 61, 291) / eye,
        'area': poly_area(p, INNER) / eye**2,
        'oarea': poly_area(p, OUTER) / eye**2,
        'jaw': dist(p, 2, 152) / eye,
        # side gaps of the inner lips
        'gapl': dist(p, 81, 178) / eye,
        'gapr': dist(p, 311, 402) / eye,
        'upper': dist(p, 0, 13) / eye,   # upper lip thickness
        'lower': dist(p, 14, 17) / eye,
    }
    return f

def on_grid(times, idx, values, start, n, max_gap=0.25):
    """Linear interpolation of per-frame values (at times[idx]) onto grid start + j/RATE."""
    t = times[idx]
    g = start + np.arange(n) / RATE
    out = np.zeros(n); mask = np.zeros(n)
    k = np.searchsorted(t, g, side='right') - 1
    ok = (k >= 0) & (k + 1 < len(t))
    kk = np.clip(k, 0, len(t) - 2)
    t0 = t[kk]; t1 = t[kk + 1]
    ok &= (t1 - t0 <= max_gap) & (t1 > t0)
    w = np.where(ok, (g - t0) / np.where(t1 > t0, t1 - t0, 1), 0)
    out = values[kk] + w * (values[kk + 1] - values[kk])
    out[~ok] = 0
    mask[ok] = 1
    return out, mask

# ---------------------------------------------------------------- audio
def frames_of(audio, win=400, hop=160):
    # frame j centred on sample j*hop
    pad = np.concatenate([np.zeros(win // 2), audio, np.zeros(win)])
    n = len(audio) // hop + 1
    idx = np.arange(n)[:, None] * hop + np.arange(win)[None, :]
    return pad[idx] * np.hanning(win)[None, :]

def mel_filters(nmel=40, nfft=512, fmin=80, fmax=7600):
    hz2mel = lambda f: 2595 * np.log10(1 + f / 700)
    mel2hz = lambda m: 700 * (10 ** (m / 2595) - 1)
    pts = mel2hz(np.linspace(hz2mel(fmin), hz2mel(fmax), nmel + 2))
    bins = np.fft.rfftfreq(nfft, 1 / SR)
    fb = np.zeros((nmel, len(bins)))
    for i in range(nmel):
        l, c, r = pts[i], pts[i + 1], pts[i + 2]
        fb[i] = np.clip(np.minimum((bins - l) / (c - l), (r - bins) / (r - c)), 0, None)
    return fb, pts[1:-1]

_FB = {}
def audio_features(audio, nmel=40):
    fr = frames_of(audio)
    spec = np.abs(np.fft.rfft(fr, 512)) ** 2
    bins = np.fft.rfftfreq(512, 1 / SR)
    band = lambda lo, hi: spec[:, (bins >= lo) & (bins < hi)].sum(1)
    def db(e):
        d = 10 * np.log10(e + 1e-12)
        return np.maximum(d, np.percentile(d, 99) - 40)
    speech = db(band(300, 3000))
    formant = db(band(1500, 3000))
    if nmel not in _FB:
        _FB[nmel] = mel_filters(nmel)
    fb, centers = _FB[nmel]
    mel = 10 * np.log10(spec @ fb.T + 1e-12)
    mel = np.maximum(mel, np.percentile(mel, 99) - 50)
    f1band = (bins >= 200) & (bins < 1000)
    s = spec[:, f1band]
    f1 = (s * bins[f1band]).sum(1) / (s.sum(1) + 1e-12)
    floor = np.percentile(speech, 10)
    voiced = (speech > floor + 12) & (speech > np.percentile(speech, 99) - 35)
    f1 = np.where(voiced, f1, np.median(f1[voiced]) if voiced.any() else 500)
    return dict(speech=speech, formant=formant, f1=f1, mel=mel, voiced=voiced, centers=centers)

# ---------------------------------------------------------------- signal prep
def mavg(x, mask, L):
    n = len(x)
    cs = np.concatenate([[0], np.cumsum(x * mask)])
    cw = np.concatenate([[0], np.cumsum(mask)])
    h = L // 2
    lo = np.clip(np.arange(n) - h, 0, n); hi = np.clip(np.arange(n) + h + 1, 0, n)
    w = cw[hi] - cw[lo]
    return np.where(w > 0, (cs[hi] - cs[lo]) / np.maximum(w, 1e-12), 0)

def prep(x, mask, smooth=5, detrend=41):
    s = mavg(x, mask, smooth) if smooth > 1 else x * mask
    t = mavg(s, mask, detrend)
    return np.where(mask > 0, s - t, 0)

def ncc(a, ma, b, mb, maxlag):
    """Masked NCC; lag k: a[t+k] vs b[t]. Returns array over k=-maxlag..maxlag."""
    n = len(a)
    out = np.full(2 * maxlag + 1, np.nan)
    for i, k in enumerate(range(-maxlag, maxlag + 1)):
        if k >= 0:
            x, mx, y, my = a[k:], ma[k:], b[:n - k], mb[:n - k]
        else:
            x, mx, y, my = a[:n + k], ma[:n + k], b[-k:], mb[-k:]
        m = mx * my
        w = m.sum()
        if w < 50:
            continue
        xm = (x * m).sum() / w; ym = (y * m).sum() / w
        xc = (x - xm) * m; yc = (y - ym) * m
        d = np.sqrt((xc ** 2).sum() * (yc ** 2).sum())
        out[i] = (xc * yc).sum() / d if d > 0 else np.nan
    return out

def refine(curve, i):
    if i < 2 or i > len(curve) - 3 or not np.all(np.isfinite(curve[i - 2:i + 3])):
        return float(i)
    x = np.arange(-2, 3); y = curve[i - 2:i + 3]
    c = np.polyfit(x, y, 2)
    if c[0] >= 0:
        return float(i)
    off = -c[1] / (2 * c[0])
    return i + float(np.clip(off, -1, 1))
